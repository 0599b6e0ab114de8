"""Tracking, in two wings that never import each other: ``followup`` (the write side: feedback,
evaluation, second pass, accountability, close-out) and ``ledger`` (the read model of all
three services: ledger, audit trail, reports, public portal, Open311 status). ``service.py``
joins them."""
