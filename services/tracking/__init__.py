"""Tracking: the ledger, feedback, evaluation, second pass, close-out, audit, reports."""
