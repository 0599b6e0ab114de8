"""Tracking's read side: the ledger (台账), one row per case folded from the integration events
of all three services, with its history, queries, presentation, Open311 status, reports
(``reports/``) and the public portal's reads (``public/``). It writes no events."""
