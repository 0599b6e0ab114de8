"""Issue 25 point 3, ADR 45: what insight's projection costs the process it shares with intake
— statements, CPU of the event loop's thread and time holding the read-model file's write lock
per event — applied per envelope (a select and an insert a tip, an update a case event) against
set-based (``write_batch``), in interleaved rounds on one embedded store.

    .venv/bin/python -m bench.insight_writes            # ~1 minute
    .venv/bin/python -m bench.insight_writes --quick    # smoke run

Each round applies a fresh set of tips and their cases' triage and close through
``SqlProjection.handle_batch`` in batches of the live consumer's size, on a SQLite read
database of its own. The loop's CPU is ``time.thread_time`` of this thread (where SQLAlchemy's
async work runs; SQLite's own work is in aiosqlite's thread), so the figure does not depend
on what else the machine runs; the lock is held from ``BEGIN IMMEDIATE`` to the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import report_options
from bench.figures import Baseline, Figure, Report, say
from services.insight import projection as insight
from services.insight.tables import MIGRATIONS, tips
from shared.contracts import Envelope
from shared.contracts.dispatch import CaseNotAccepted, CaseTriaged
from shared.contracts.intake import TipRegistered
from shared.contracts.vocabulary import CaseStatus
from shared.platform.messaging.nats import FETCH_BATCH_SETS
from shared.platform.projection import SqlProjection
from shared.platform.readmodel import SHARED_MIGRATIONS, create_engine, migrate, sessionmaker
from shared.platform.settings import Settings

NS = UUID("00000000-0000-0000-0000-000000000045")
T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
ACTOR = {"id": "operator:话务员", "name": "话务员", "role": "operator"}
_numbers = itertools.count(1)


def envelopes(tips: int) -> list[Envelope]:
    """``tips`` tips registered, then each case triaged and closed (dispatch's events)."""
    found, cases = [], []
    for _ in range(tips):
        n = next(_numbers)
        case_id = uuid5(NS, str(n))
        cases.append(case_id)
        tip = TipRegistered(
            case_id=case_id,
            number=f"2026-{n:06d}",
            channel="hotline_12388",
            content=f"南湖街道第{n}社区办理居住证时被收取工本费，没有收据。",
            summary=None,
            category=None,
            external_ref=None,
            occurred_at=None,
            location={"street": "南湖街道"},
            subject={"unit": "某街道办事处", "person": None},
            named=False,
            receipt_digest=None,
            registered_at=T0,
        )
        found.append(Envelope("intake", n, case_id, 1, T0, ACTOR, tip))
    position = itertools.count(1)
    for version, make in ((1, _triaged), (2, _closed)):
        for case_id in cases:
            moved = make(case_id)
            found.append(Envelope("dispatch", next(position), case_id, version, T0, ACTOR, moved))
    return found


def _triaged(case_id: UUID) -> CaseTriaged:
    return CaseTriaged(
        case_id=case_id,
        status=CaseStatus.REGISTERED,
        track="general",
        category="arbitrary_charges",
        note=None,
    )


def _closed(case_id: UUID) -> CaseNotAccepted:
    return CaseNotAccepted(case_id=case_id, status=CaseStatus.NOT_ACCEPTED, reason="重复")


async def _registered_before(session: AsyncSession, envelope: Envelope) -> None:
    """Main's handler before ADR 45 (153c842): a select, then an insert, a tip."""
    event = envelope.event
    assert isinstance(event, TipRegistered)
    found = await session.execute(sa.select(tips.c.case_id).where(tips.c.case_id == event.case_id))
    if found.first() is None:
        await session.execute(tips.insert().values(insight._row(event)))


BEFORE = insight.insight_projection(None).handlers | {TipRegistered: _registered_before}  # type: ignore[arg-type]


class Counted:
    """Statements sent and time the write lock was held, on one engine."""

    def __init__(self) -> None:
        self.statements = 0
        self.held = 0.0
        self._since = 0.0

    def watch(self, engine: Any) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "begin", self._begin)
        event.listen(engine.sync_engine, "commit", self._end)

    def _statement(self, *args: Any) -> None:
        self.statements += 1

    def _begin(self, *args: Any) -> None:
        self._since = time.perf_counter()

    def _end(self, *args: Any) -> None:
        self.held += time.perf_counter() - self._since


async def one_round(root: Path, tips: int, set_based: bool) -> dict[str, float]:
    """Per event applied: statements (a thousand events), the loop thread's CPU and the time
    the write lock was held (µs); ``set_based=False``: main's handlers, one envelope at a time."""
    settings = Settings(data_dir=Path(tempfile.mkdtemp(dir=root)))
    engine = create_engine(settings, writer=True)
    try:
        await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
        await migrate(engine, MIGRATIONS, "alembic_version_insight")
        counted = Counted()
        counted.watch(engine)
        consumer = insight.insight_projection(sessionmaker(engine))
        if not set_based:
            consumer = SqlProjection(consumer.name, consumer.sources, consumer.sessions, BEFORE)
        batch = envelopes(tips)
        cpu = time.thread_time()
        for start in range(0, len(batch), FETCH_BATCH_SETS):
            outcomes = await consumer.handle_batch(batch[start : start + FETCH_BATCH_SETS])
            assert all(o.value == "done" for o in outcomes), outcomes
        cpu = time.thread_time() - cpu
        n = len(batch)
        return {
            "statements": 1000 * counted.statements / n,
            "cpu_us": 1e6 * cpu / n,
            "held_us": 1e6 * counted.held / n,
        }
    finally:
        await engine.dispose()
        shutil.rmtree(settings.data_dir, ignore_errors=True)


async def measure(report: Report, args: argparse.Namespace, root: Path) -> None:
    kinds = {"per envelope": False, "set-based": True}  # main's handlers; write_batch
    rounds: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    await one_round(root, args.tips, True)  # imports, caches: not counted
    for n in range(args.rounds):
        order = list(kinds) if n % 2 == 0 else list(reversed(kinds))
        for kind in order:
            rounds[kind].append(await one_round(root, args.tips, kinds[kind]))
    for kind, found in rounds.items():
        cells = ", ".join(
            f"{key} {statistics.median(r[key] for r in found):.3f}" for key in found[0]
        )
        say(f"  {kind}: per event {cells}")
    detail = f"median of {args.rounds} interleaved rounds of {args.tips} tips, triaged and closed"
    for key, name, unit in (
        ("statements", "statements a thousand events", "statements"),
        ("cpu_us", "the event loop's CPU an event", "µs"),
        ("held_us", "the read-model file's write lock held an event", "µs"),
    ):
        old = statistics.median(r[key] for r in rounds["per envelope"])
        new = statistics.median(r[key] for r in rounds["set-based"])
        base = report.baseline(Baseline(key[0].upper(), f"{name}, main's handlers", old, unit))
        report.figure(Figure(f"{name}, set-based", new, unit, base, "≤", 0.5, detail))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.insight_writes", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--tips", type=int, default=2000, help="tips a round (default 2000)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds a side (default 6)")
    report_options(parser, out="the rounds' databases")
    args = parser.parse_args(argv)
    if args.quick:
        args.tips, args.rounds = 200, 2
    load = Path("/proc/loadavg").read_text().split()[:3]
    report = Report(
        "bench.insight_writes",
        " ".join(["python -m bench.insight_writes", *argv]),
        {"load_average": load},
    )
    report.header()
    with tempfile.TemporaryDirectory(prefix="tz-bench-") as scratch:
        root = args.out or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        asyncio.run(measure(report, args, root))
    report.note(f"load average at the end: {Path('/proc/loadavg').read_text().split()[:3]}")
    return report.finish(args)


if __name__ == "__main__":
    sys.exit(main())
