"""``taizhang audit prune``: the read audit's retention applied at once, beside a deployment
(the tracking service sweeps the same way every scheduler interval; ADR 32)."""

from __future__ import annotations

from datetime import timedelta

from services.tracking.ledger.retention import prune_reads
from shared.platform.clock import clock_for
from shared.platform.readmodel import create_engine, sessionmaker
from shared.platform.settings import Settings


async def prune_read_audit(settings: Settings, days: int) -> int:
    """Delete the reads older than ``days`` by the deployment's clock; returns how many."""
    if days <= 0:
        return 0
    engine = create_engine(settings, writer=True)
    try:
        before = clock_for(settings).now() - timedelta(days=days)
        async with sessionmaker(engine)() as session, session.begin():
            return await prune_reads(session, before)
    finally:
        await engine.dispose()
