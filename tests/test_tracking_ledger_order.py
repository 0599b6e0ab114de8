"""The ledger's pages walk an index in the ledger's own order instead of sorting every match
(migration t0003; docs/BENCHMARKS.md, the order-index experiment)."""

from __future__ import annotations

import sqlalchemy as sa

from services.tracking.main import MIGRATIONS
from services.tracking.queries import ORDER
from services.tracking.tables import ledger
from shared.readmodel import create_engine, ensure_schema, migrate
from shared.settings import Settings


async def test_a_ledger_page_reads_the_order_index_without_sorting(settings: Settings) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await migrate(engine, MIGRATIONS, "alembic_version_tracking")
        page = sa.select(ledger.c.case_id).order_by(*ORDER).limit(20)
        sql = str(page.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
        async with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                plan = [
                    str(row[3]) for row in await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
                ]
            else:  # an empty table: tell the planner that reading it whole is no option
                await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plan = [str(row[0]) for row in await conn.execute(sa.text(f"EXPLAIN {sql}"))]
        text = "\n".join(plan)
        assert "ix_ledger_order" in text, text
        assert "TEMP B-TREE" not in text and "Sort" not in text, text
    finally:
        await engine.dispose()
