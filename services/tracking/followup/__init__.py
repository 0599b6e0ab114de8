"""Tracking's write side (跟踪问效): a case's follow-up after its result is accepted — feedback,
evaluation, second pass, accountability, close-out. An eventsourcing Application of its own;
it reads nothing of the ledger."""
