"""The CPU of building one named tip (``RegisteringMixin._new_tip``: seals, digests, events;
``anonymous`` as argument: an anonymous one), in µs — the least of 7 repeats of 1,000 —, in
whichever checkout ``PYTHONPATH`` names, for comparing two checkouts in interleaved rounds
(ADR 44 added a receipt code to named tips):

    cp bench/new_tip.py /tmp/new_tip.py  # an older checkout has no copy of it
    for i in 1 2 3 4 5; do for d in /work/main "$PWD"; do
      (cd /tmp && PYTHONPATH=$d "$OLDPWD"/.venv/bin/python new_tip.py [anonymous]); done; done
"""

from __future__ import annotations

import os
import sys
import time
import uuid

from services.intake.registering import RegisteringMixin, TipSubmission
from shared.platform.protection import Fingerprinter, Sealer

ROUNDS = 1000
REPEATS = 7  # the least of them: the machine's load only ever adds


def main() -> None:
    anonymous = "anonymous" in sys.argv[1:]
    registering = RegisteringMixin()
    registering.receipt_secret = os.urandom(32)
    registering.fingerprints = Fingerprinter({"k1": b"x" * 32})
    sealer = Sealer({"k1": os.urandom(32)})
    submission = TipSubmission(
        channel="hotline_12388",
        content="某街道办事处违规收取办证费用" * 5,
        actor={"id": "op", "name": "话务员甲", "role": "operator", "unit": None},
        fingerprint="0" * 64,
        reporter=None if anonymous else {"name": "李四", "phone": "13800138000"},
    )
    for _ in range(ROUNDS // 10):  # warm
        registering._new_tip(submission, "2026-000001", uuid.uuid4(), sealer)
    least = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(ROUNDS):
            registering._new_tip(submission, "2026-000001", uuid.uuid4(), sealer)
        least = min(least, time.process_time() - start)
    kind = "an anonymous" if anonymous else "a named"
    print(f"{least / ROUNDS * 1e6:.1f} µs CPU {kind} tip ({os.environ.get('PYTHONPATH')})")


if __name__ == "__main__":
    main()
