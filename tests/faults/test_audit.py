"""An export's audit row survives the tracking process that served it (ADR 26, third
addendum): a real ``taizhang serve tracking`` is killed with SIGKILL the moment it answered an
export — the ledger's xlsx on one replica, a report on the other — and the read audit still
holds a row for each. The
looks' rows, batched for a quarter second, may go with the process; the exports' may not."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa

from services.tracking.ledger.tables import read_audit
from shared.platform.readmodel import create_engine
from tests.faults.harness import FaultyDeployment

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.nats]

EXPORTS = {
    "LedgerExported": ("/api/v1/ledger.xlsx", {"status": "registered"}),
    "ReportExported": ("/api/v1/reports/monthly/2026-11", {"format": "xlsx"}),
}


def test_an_export_answered_just_before_a_kill_9_keeps_its_audit_row(
    system: FaultyDeployment,
) -> None:
    replicas = system.replicas("tracking")
    for tracking, (kind, (path, params)) in zip(replicas, EXPORTS.items(), strict=True):
        reader = f"导出审计-{uuid.uuid4().hex[:8]}"
        headers = system.d.auth("office", name=reader)
        answer = httpx.get(f"{tracking.url}{path}", params=params, headers=headers, timeout=60)
        system.kill_and_restart(tracking)  # at once: a batch not yet written dies with it
        assert answer.status_code == 200, answer.text[:300]
        assert audited(system, reader) == [kind]


def audited(system: FaultyDeployment, reader: str) -> list[str]:
    """The read audit's rows of one reader, from the table."""

    async def read() -> list[str]:
        engine = create_engine(system.d.settings.model_copy(update={"db_pool_size": 1}))
        try:
            async with engine.connect() as conn:
                found = await conn.execute(
                    sa.select(read_audit.c.type).where(read_audit.c.actor_name == reader)
                )
                return [str(t) for t in found.scalars()]
        finally:
            await engine.dispose()

    return asyncio.run(read())
