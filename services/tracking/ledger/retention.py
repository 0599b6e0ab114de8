"""How long the read audit keeps its rows (issue 16, ADR 32): ``read_audit_retention_days``
after the read (0 = for ever). The tracking service sweeps every scheduler interval; the
operators' ``taizhang audit prune`` does the same at once (``services/ops/retention.py``).
Events (``case_history``) are never pruned: they are the record of what changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger.tables import read_audit
from shared.platform.periodic import Periodic

log = structlog.get_logger(__name__)


async def prune_reads(session: AsyncSession, before: datetime) -> int:
    """Delete the reads recorded before ``before``; returns how many."""
    result = await session.execute(sa.delete(read_audit).where(read_audit.c.occurred_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


class ReadRetention(Periodic):
    """The sweep: each pass deletes what fell out of the retention since the last one."""

    failure = "read_audit_retention_failed"

    def __init__(
        self,
        writes: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        days: int,
        interval_seconds: float,
    ) -> None:
        self.writes = writes
        self.now = now
        self.days = days
        super().__init__(interval_seconds)

    async def one_pass(self) -> None:
        await self.sweep()

    async def sweep(self) -> int:
        if self.days <= 0:
            return 0
        async with self.writes() as session, session.begin():
            deleted = await prune_reads(session, self.now() - timedelta(days=self.days))
        if deleted:
            log.info("read_audit_pruned", rows=deleted, retention_days=self.days)
        return deleted
