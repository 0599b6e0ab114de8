"""How long one warning sweep's read holds the event loop it shares with intake (ADR 45).

    .venv/bin/python -m bench.insight_sweep_stall [TIPS] [--no-gc | --freeze]   # ~1 min at 20,000

In-process on a SQLite read database of its own: TIPS tips registered and triaged through
insight's projection, then three passes of ``queries.warnings`` (the sweep's read and rule)
while a task ticks every millisecond on the same loop. Printed per pass: the longest gap
between ticks (the loop held), the loop thread's CPU, the process's CPU and the wall time.
``--no-gc`` turns the cyclic garbage collector off, to show what of the stall is its full
collections rather than the sweep's own work; ``--freeze`` calls ``gc.freeze()`` once the
store is filled (what a process would do once started), so that a full collection walks only
what was allocated since.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.insight_writes import envelopes
from services.insight import queries
from services.insight.projection import insight_projection
from services.insight.tables import MIGRATIONS
from shared.platform.messaging.nats import FETCH_BATCH_SETS
from shared.platform.readmodel import SHARED_MIGRATIONS, create_engine, migrate, sessionmaker
from shared.platform.settings import Settings


def load_average() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


async def ticking(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def main(tips: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tz-bench-") as root:
        engine = create_engine(Settings(data_dir=Path(root)), writer=True)
        try:
            await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
            await migrate(engine, MIGRATIONS, "alembic_version_insight")
            projection = insight_projection(sessionmaker(engine))
            batch = envelopes(tips)[: 2 * tips]  # registered and triaged, still open
            for start in range(0, len(batch), FETCH_BATCH_SETS):
                await projection.handle_batch(batch[start : start + FETCH_BATCH_SETS])
            if FREEZE:
                gc.freeze()  # what is there now (imports, the store) is left out of collections
            for _ in range(3):
                await one_pass(sessionmaker(engine), tips)
        finally:
            await engine.dispose()


async def one_pass(sessions: object, tips: int) -> None:
    gaps: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(gaps, stop))
    await asyncio.sleep(0.01)
    loop_cpu, cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
    async with sessions() as session:  # type: ignore[operator]
        raised, _ = await queries.warnings(
            session, date(2026, 11, 3), date(2026, 11, 17), "Asia/Shanghai"
        )
    loop_cpu, cpu = time.thread_time() - loop_cpu, time.process_time() - cpu
    wall = time.perf_counter() - wall
    stop.set()
    await ticker
    print(
        f"{tips:,} tips: the loop held at most {1000 * max(gaps):.0f} ms; loop thread CPU "
        f"{1000 * loop_cpu:.0f} ms, process CPU {1000 * cpu:.0f} ms, wall {1000 * wall:.0f} ms, "
        f"{len(raised)} warning(s); load {load_average()}"
    )


FREEZE = "--freeze" in sys.argv

if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--no-gc" in sys.argv:
        gc.disable()
    asyncio.run(main(int(arguments[0]) if arguments else 20_000))
