"""Rebuild the ledger's read tables from the three services' event stores.

The tables are emptied (with the projection's marks), then every stored event of intake,
dispatch and tracking is read in order and fed to the same projection the live service runs;
live followers resume afterwards from the marks this leaves. Run it with the tracking
service stopped: a live projection writing meanwhile would be wiped and overwritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import sqlalchemy as sa

from services.registry import build_service
from services.tracking.ledger.projection import NAME, SOURCES, ledger_projection
from services.tracking.ledger.tables import READ_TABLES
from services.tracking.service import TrackingService
from shared.platform.messaging.outbox import Outbox
from shared.platform.projection import SqlProjection, projection_positions, projection_streams
from shared.platform.readmodel import ensure_schema
from shared.platform.settings import Settings, load_secrets

Progress = Callable[[str, int, int], None]  # source, position reached, last position


async def rebuild_ledger(settings: Settings, progress: Progress) -> dict[str, int]:
    """Replay every source; returns how many events of each were projected."""
    secrets = load_secrets(settings)
    await ensure_schema(settings)
    services = {name: build_service(name, settings, secrets) for name in SOURCES}
    started = []
    try:
        for service in services.values():
            await service.start()
            started.append(service)
        tracking = services["tracking"]
        assert isinstance(tracking, TrackingService)
        await clear(tracking)
        projection = ledger_projection(tracking.writes)
        counts = {}
        statistics = Statistics(tracking)
        for name, service in services.items():
            outbox = Outbox(name, service.app, service.translate)
            counts[name] = await _replay(outbox, projection, progress, statistics)
        await statistics.analyze()  # the live service starts from the final sizes
        return counts
    finally:
        for service in reversed(started):
            await service.stop()


async def clear(tracking: TrackingService) -> None:
    async with tracking.writes() as session, session.begin():
        for table in reversed(READ_TABLES):
            await session.execute(sa.delete(table))
        for marks in (projection_streams, projection_positions):
            await session.execute(sa.delete(marks).where(marks.c.consumer == NAME))


class Statistics:
    """Keeps the planner's statistics of the tables a rebuild fills in step with them.

    Emptied tables grow faster than autovacuum analyzes them, and with stale statistics
    PostgreSQL reads the ledger whole to find a page's 500 rows by key (a sequential scan
    per page: the rebuild slowed down in proportion to what it had written). An ``ANALYZE``
    whenever the events written since the last one reach the number written before it
    costs a few of them over a whole rebuild."""

    TABLES = ("ledger", "case_units", "case_history", "projection_streams")
    FIRST = 5_000

    def __init__(self, tracking: TrackingService) -> None:
        self.tracking = tracking
        self.written = 0
        self.analyzed_at = 0

    async def wrote(self, events: int) -> None:
        self.written += events
        if self.written - self.analyzed_at >= max(self.FIRST, self.analyzed_at):
            await self.analyze()

    async def analyze(self) -> None:
        async with self.tracking.writes() as session, session.begin():
            for table in self.TABLES:  # one by one: SQLite's ANALYZE takes one name
                await session.execute(sa.text(f"ANALYZE {table}"))
        self.analyzed_at = self.written


async def _replay(
    outbox: Outbox, projection: SqlProjection, progress: Progress, statistics: Statistics
) -> int:
    """Pages of the store in order, each applied set-based in one transaction; the next page
    is read (in a thread) while the current one is written."""
    head = await asyncio.to_thread(outbox.head)
    projected = 0
    progress(outbox.source, 0, head)
    if head == 0:
        return 0
    reading = asyncio.ensure_future(asyncio.to_thread(outbox.read, 0))
    try:
        while True:
            envelopes, position = await reading
            if position < head:
                reading = asyncio.ensure_future(asyncio.to_thread(outbox.read, position))
            await projection.replay(envelopes)
            await statistics.wrote(len(envelopes))
            projected += len(envelopes)
            progress(outbox.source, position, head)
            if position >= head:
                return projected
    finally:
        reading.cancel()  # a failed page leaves no read behind
