"""The public portal's reads of the ledger: published results and receipt look-ups, redacted
to what may be shown to anyone."""
