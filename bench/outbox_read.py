"""The relay's CPU per event, reading intake's outbox (ADR 48): the library's mapper for every
event (the live path before ADR 48) against ``FastMapper`` with the unpublished events
skipped undecoded (the live path since), in µs of CPU an event — the least of 7 passes over
the same notifications, the two interleaved. Tips are registered as intake's writer does
(batches of 16: a number sequence event each, a third of the tips with an idempotency key)
into an embedded store; the read from the store is left out (the same either way).

    .venv/bin/python -m bench.outbox_read [--tips 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from services.intake.registering import TipSubmission
from services.registry import build_service
from shared.platform.messaging.outbox import Outbox
from shared.platform.settings import Settings, load_secrets

BATCH = 16
PASSES = 7  # the least of them: the machine's load only ever adds


def submissions(count: int) -> list[TipSubmission]:
    actor = {"id": "op", "name": "话务员甲", "role": "operator", "unit": None}
    return [
        TipSubmission(
            channel="hotline_12388",
            content=f"某街道办事处违规收取办证费用,第{i}件" * 3,
            actor=actor,
            fingerprint=f"{i:064d}",
            reporter=None if i % 2 else {"name": "李四", "phone": "13800138000"},
            idempotency_key=f"bench-{i}" if i % 3 == 0 else None,
        )
        for i in range(count)
    ]


def cpu_per_event(outbox: Outbox, notifications: list[Any]) -> float:
    start = time.process_time()
    for n in notifications:
        outbox.envelope(n)
    return (time.process_time() - start) / len(notifications) * 1e6


async def measure(tips: int, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    service = build_service("intake", settings, load_secrets(settings))
    await service.start(background=False)
    try:
        every = submissions(tips)
        for i in range(0, tips, BATCH):
            service.app.register(every[i : i + BATCH])
        notifications = service.app.recorder.select_notifications(start=1, limit=tips * 3)
        before = Outbox("intake", service.app, service.translate)
        after = Outbox(
            "intake", service.app, service.translate, published=service.published, fast=True
        )
        published = sum(1 for n in notifications if after.envelope(n) is not None)
        least = {"library mapper, every event": float("inf"), "ADR 48": float("inf")}
        for _ in range(PASSES):
            least["library mapper, every event"] = min(
                least["library mapper, every event"], cpu_per_event(before, notifications)
            )
            least["ADR 48"] = min(least["ADR 48"], cpu_per_event(after, notifications))
        print(f"{len(notifications):,} events ({published:,} published) of {tips:,} tips")
        for name, value in least.items():
            print(f"  {name}: {value:.1f} µs CPU an event")
        ratio = least["ADR 48"] / least["library mapper, every event"]
        print(f"  ratio {ratio:.2f}; fast-path fallbacks {after.fast and after.fast.fallbacks}")
    finally:
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_read", description=__doc__)
    parser.add_argument("--tips", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tz-outbox-") as tmp:
        asyncio.run(measure(args.tips, Path(tmp)))


if __name__ == "__main__":
    main()
