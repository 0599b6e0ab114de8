"""A rebuild's bulk replay split over worker processes (issue 24, ADR 29).

Each worker reads every store and applies the envelopes of its share of the cases, into the
same staging tables, with its own interpreter and its own PostgreSQL connection: one
pipeline's Python is the bottleneck of a replay, and a machine's other cores were idle.

The share is the case an event's ledger row belongs to (``rows.case_of``), hashed: every
event of a case — on intake's, dispatch's and tracking's streams alike — goes to one worker,
so each row and each stream's marks have one writer and a stream's versions stay in order.
A merge spans two cases but not two rows: ``Merged`` folds into the merged case's row and
``RepeatReportLinked`` into the other's, from each one's own stream, and no fold of the
ledger reads another case's row — so partitioning by row is partitioning by the case a
merge folds into. Events about no case (units, calendar years, the catalogue) go to worker 0.

Workers are started with ``spawn`` (no copied event loop or pools) and report their progress
over a queue; the parent sums it. A worker that fails makes the rebuild fail (and its staging
be dropped). SQLite has one writer at a time: there a rebuild keeps one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queues
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Any

from services.tracking.ledger import rows
from shared.contracts import Envelope
from shared.platform.settings import Settings

Progress = Callable[[str, int, int], None]
POLL = 0.2  # seconds between looks at the workers' reports


def worker_count(settings: Settings, asked: int | None) -> int:
    if settings.database_url is None:
        return 1
    return max(1, asked if asked is not None else os.cpu_count() or 1)


def share(envelope: Envelope, workers: int) -> int:
    """Which worker applies this envelope."""
    case = rows.case_of(envelope.event)
    return 0 if case is None else case.int % workers


async def replay_in_workers(
    live: Settings, staged: Settings, workers: int, heads: dict[str, int], progress: Progress
) -> dict[str, int]:
    """The bulk replay up to ``heads`` by ``workers`` processes; events projected per source."""
    context = multiprocessing.get_context("spawn")
    reports: Any = context.Queue()
    processes = [
        context.Process(target=_work, args=(live, staged, k, workers, heads, reports), daemon=True)
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        return await _watch(processes, reports, workers, heads, progress)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(10)


async def _watch(
    processes: list[SpawnProcess],
    reports: Any,
    workers: int,
    heads: dict[str, int],
    progress: Progress,
) -> dict[str, int]:
    reached: dict[tuple[int, str], int] = {}
    counts: dict[str, int] = dict.fromkeys(heads, 0)
    done = 0
    while done < workers:
        try:
            kind, k, source, value = await asyncio.to_thread(reports.get, True, POLL)
        except queues.Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                raise RuntimeError("a rebuild worker failed (see its log)") from None
            continue
        if kind == "failed":
            raise RuntimeError(f"rebuild worker {k} failed: {value}")
        if kind == "done":
            done += 1
            continue
        if kind == "count":
            counts[source] += value
            continue
        reached[(k, source)] = value
        slowest = min(reached.get((w, source), 0) for w in range(workers))
        progress(source, slowest, heads[source])
    return counts


def _work(
    live: Settings, staged: Settings, k: int, workers: int, heads: dict[str, int], reports: Any
) -> None:
    try:
        asyncio.run(_replay_share(live, staged, k, workers, heads, reports))
    except BaseException as e:
        reports.put(("failed", k, "", repr(e)))
        raise
    reports.put(("done", k, "", 0))


async def _replay_share(
    live: Settings, staged: Settings, k: int, workers: int, heads: dict[str, int], reports: Any
) -> None:
    from services.ops.rebuild import Statistics, open_sources, replay_source
    from services.tracking.ledger.projection import ledger_projection
    from shared.platform.readmodel import create_engine, sessionmaker

    live, staged = (s.model_copy(update={"db_pool_size": 1}) for s in (live, staged))
    engine = create_engine(staged, writer=True)  # one connection each: workers add up
    try:
        sessions = sessionmaker(engine)
        projection = ledger_projection(sessions)
        statistics = Statistics(sessions, share=workers)
        async with open_sources(live) as outboxes:
            for outbox in outboxes:

                def report(source: str, position: int, head: int) -> None:
                    reports.put(("reached", k, source, position))

                counted = await replay_source(
                    outbox,
                    projection,
                    report,
                    statistics,
                    after=0,
                    head=heads[outbox.source],
                    keep=lambda e: share(e, workers) == k,
                )
                reports.put(("count", k, outbox.source, counted))
    finally:
        await engine.dispose()
