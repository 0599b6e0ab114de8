"""Rebuild the ledger's read tables from the three services' event stores, beside the live ones.

Every stored event of intake, dispatch and tracking is read in order and fed to the same
projection the live service runs, into staging tables (:mod:`services.ops.staging`: unlogged
and without secondary indexes on PostgreSQL while they fill), by worker processes that each
take a share of the cases (:mod:`services.ops.workers`); then the events stored
meanwhile are replayed, and the staged tables are swapped in with the last of them in one
transaction (ADR 29). The live service keeps serving — and its projection keeps applying —
the old ledger until the swap; a rebuild that fails leaves it as it was. Live followers
resume afterwards from the marks the rebuild leaves (what they applied to the old ledger
meanwhile is in the new one, so it reads as duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ops.staging import Staging, staging_for
from services.ops.workers import Workers, worker_count
from services.registry import Service, build_service, registered
from services.tracking.ledger.projection import SOURCES, ledger_projection
from services.tracking.ledger.replay import BulkLedger
from shared.contracts import Envelope
from shared.platform.messaging.outbox import Outbox
from shared.platform.readmodel import ensure_schema
from shared.platform.settings import Settings, load_secrets

Progress = Callable[[str, int, int], None]  # source, position reached, last position
PAGE = 500  # stored events a read


async def rebuild_ledger(
    settings: Settings, progress: Progress, workers: int | None = None
) -> dict[str, int]:
    """Replay every source into staging and swap it in; returns how many events of each
    were projected (the catch-up's included). ``workers``: processes for the bulk replay
    (default: one per core on PostgreSQL; always one on SQLite)."""
    staging = staging_for(settings)
    count = worker_count(settings, workers)
    for name in SOURCES:  # imported once, here: a forked worker has them (ADR 41)
        registered(name)
    # forked first, before anything is opened here (ADR 40)
    pool = Workers(staging.live, staging.settings, count) if count > 1 else None
    try:
        await ensure_schema(settings)
        try:
            async with open_sources(settings) as outboxes:  # the live tables migrated first
                return await _into(staging, outboxes, progress, pool)
        except BaseException:
            await staging.discard()  # the live ledger is left as it was
            raise
    finally:
        if pool is not None:
            pool.stop()


@contextlib.asynccontextmanager
async def open_sources(settings: Settings) -> AsyncIterator[list[Outbox]]:
    """The three services' stores, read as their outboxes (small pools: a rebuild reads
    each store from one thread, beside a running deployment's own connections)."""
    settings = settings.model_copy(update={"db_pool_size": min(settings.db_pool_size, 2)})
    secrets = load_secrets(settings)
    services = {name: build_service(name, settings, secrets) for name in SOURCES}
    started: list[Service] = []
    try:
        for service in services.values():
            await service.start(background=False)  # no reminders or notices from a tool
            started.append(service)
        yield [
            Outbox(name, s.app, s.translate, published=s.published, fast=True)
            for name, s in services.items()
        ]
    finally:
        for service in reversed(started):
            await service.stop()


async def _into(
    staging: Staging, outboxes: list[Outbox], progress: Progress, pool: Workers | None
) -> dict[str, int]:
    sessions = await staging.create()
    projection = ledger_projection(sessions)
    statistics = Statistics(sessions)
    heads = {o.source: await asyncio.to_thread(o.head) for o in outboxes}
    for source, head in heads.items():  # every store's size first: an ETA covers them all
        progress(source, 0, head)
    if pool is not None:
        counts = await pool.replay(heads, progress)
    else:
        bulk = BulkLedger(sessions, flushed=statistics.wrote)
        with collector_paused():
            counts = {
                o.source: await replay_source(o, bulk, progress, after=0, head=heads[o.source])
                for o in outboxes
            }
            await bulk.finish()

    async def catch_up() -> None:
        """With the live projection's own transactions: a few pages at most."""
        for outbox in outboxes:
            after = await projection.last_position(outbox.source)
            counts[outbox.source] += await replay_source(
                outbox, projection, progress, after=after, statistics=statistics
            )

    await staging.complete()  # indexes, durable tables, statistics
    await catch_up()  # what was stored meanwhile
    await staging.swap(catch_up)  # and the last of it, with the live projection waiting
    return counts


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a bulk replay (ADR 41).

    A chunk of 20,000 cases' folded rows is hundreds of thousands of live containers, and
    every collection of the older generations walked them all again: 30 % of a replay's
    Python CPU went to collections that found nothing (a replay makes next to no cycles).
    The objects alive before it (modules, the services) are frozen out of the collector's
    sight; :meth:`BulkLedger.flush` collects once a chunk, after dropping it."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


class Statistics:
    """Keeps the planner's statistics of the tables a rebuild fills in step with them.

    Emptied tables grow faster than autovacuum analyzes them, and with stale statistics
    PostgreSQL reads the ledger whole to find a page's 500 rows by key (a sequential scan
    per page: the rebuild slowed down in proportion to what it had written). An ``ANALYZE``
    whenever the events written since the last one reach the number written before it
    costs a few of them over a whole rebuild."""

    TABLES = (
        "ledger",
        "case_units",
        "case_persons",
        "case_history",
        "ledger_tallies",
        "projection_streams",
    )
    FIRST = 5_000

    def __init__(self, sessions: async_sessionmaker[AsyncSession], share: int = 1) -> None:
        self.sessions = sessions
        self.share = share  # one of ``share`` workers filling the same tables
        self.written = 0
        self.analyzed_at = 0

    async def wrote(self, events: int) -> None:
        self.written += events * self.share  # about what all the workers wrote
        if self.written - self.analyzed_at >= max(self.FIRST, self.analyzed_at):
            await self.analyze()

    async def analyze(self) -> None:
        async with self.sessions() as session, session.begin():
            for table in self.TABLES:  # one by one: SQLite's ANALYZE takes one name
                await session.execute(sa.text(f"ANALYZE {table}"))
        self.analyzed_at = self.written


class Replayer(Protocol):
    async def replay(self, envelopes: Sequence[Envelope]) -> None: ...


Read = Callable[[int], tuple[list[Envelope], int]]  # after → envelopes, last position looked at


async def replay_source(
    outbox: Outbox,
    into: Replayer,
    progress: Progress,
    *,
    after: int,
    head: int | None = None,
    keep: Callable[[Envelope], bool] | None = None,
    read: Read | None = None,
    statistics: Statistics | None = None,
) -> int:
    """Pages of the store in order, from ``after`` to ``head`` (default: the store's last
    event), each handed to ``into`` (the live projection's set-based transaction, or a bulk
    replay's memory); the next page is read (in a thread) while the current one is applied.
    ``keep``: the envelopes this process applies (a worker's share); ``read``: how a page is
    read (default: the whole store's, ``outbox.read``)."""
    head = await asyncio.to_thread(outbox.head) if head is None else head
    read = functools.partial(outbox.read, limit=PAGE) if read is None else read
    projected = 0
    progress(outbox.source, after, head)
    if head <= after:
        return 0
    reading = asyncio.ensure_future(asyncio.to_thread(read, after))
    try:
        while True:
            envelopes, position = await reading
            if position < head:
                reading = asyncio.ensure_future(asyncio.to_thread(read, position))
            if keep is not None:
                envelopes = [e for e in envelopes if keep(e)]
            await into.replay(envelopes)
            if statistics is not None:
                await statistics.wrote(len(envelopes))
            projected += len(envelopes)
            progress(outbox.source, position, head)
            if position >= head:
                return projected
    finally:
        reading.cancel()  # a failed page leaves no read behind
