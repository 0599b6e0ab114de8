"""Fault injection (issue 11): the services broken on purpose under a steady load, and the
ledger checked afterwards with ``taizhang verify``. Bounded by default; ``TAIZHANG_SOAK=1``
for the long form."""
