"""The ledger's pages walk an index in the ledger's own order instead of sorting every match
(migration t0003; docs/BENCHMARKS.md, the order-index experiment), and its total stops
counting at the count limit (ADR 13)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.main import MIGRATIONS
from services.tracking.queries import ORDER, LedgerFilter, capped_count, ledger_query
from services.tracking.tables import ledger
from shared.auth import Principal, Role
from shared.readmodel import create_engine, ensure_schema, migrate
from shared.settings import Settings


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await migrate(engine, MIGRATIONS, "alembic_version_tracking")
        yield engine
    finally:
        await engine.dispose()


async def plan(engine: AsyncEngine, statement: sa.Select[Any]) -> str:
    sql = str(statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            found = await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
            return "\n".join(str(row[3]) for row in found)
        # an empty table: tell the planner that reading it whole is no option
        await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return "\n".join(str(row[0]) for row in await conn.execute(sa.text(f"EXPLAIN {sql}")))


async def test_a_ledger_page_reads_the_order_index_without_sorting(engine: AsyncEngine) -> None:
    text = await plan(engine, sa.select(ledger.c.case_id).order_by(*ORDER).limit(20))
    assert "ix_ledger_order" in text, text
    assert "TEMP B-TREE" not in text and "Sort" not in text, text


async def test_the_ledger_count_stops_one_row_past_the_limit(engine: AsyncEngine) -> None:
    office = Principal(id="office:test", name="test", role=Role.OFFICE, unit=None)
    query = ledger_query(office, LedgerFilter(status="in_progress"), datetime.now(UTC), "any")
    count = capped_count(query, 1000)
    sql = str(count.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    assert "LIMIT 1001" in sql, sql
    if engine.dialect.name == "postgresql":  # the aggregate reads through a Limit node
        text = await plan(engine, count)
        assert text.index("Aggregate") < text.index("Limit") < text.index("Scan"), text
