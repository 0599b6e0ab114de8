"""The ledger's pages walk an index in the ledger's own order instead of sorting every match
(migration t0003; docs/BENCHMARKS.md, the order-index experiment), its total stops
counting at the count limit (ADR 13), a combined filter's count finds its matches in
one index (migration t0004, ADR 15), and the person filter reads its term's cases from the
parts of the names, in the ledger's order (t0020, ADR 43)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import ledgerdata
from services.tracking.ledger import rows
from services.tracking.ledger.queries import (
    ORDER,
    LedgerFilter,
    capped_count,
    counted_query,
    ledger_query,
    order_of,
)
from services.tracking.ledger.tables import MIGRATIONS, case_units, ledger
from shared.platform.readmodel import create_engine, ensure_schema, migrate
from shared.platform.settings import Settings
from shared.web.auth import Principal, Role
from tests.conftest import drop_schema, new_schema, store_settings
from tests.support.pinned import NOW

OFFICE = Principal(id="office:test", name="test", role=Role.OFFICE, unit=None)


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
    query = ledger_query(OFFICE, LedgerFilter(status="in_progress"), NOW, "any")
    count = capped_count(query, 1000)
    sql = str(count.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    assert "LIMIT 1001" in sql, sql
    if engine.dialect.name == "postgresql":  # the aggregate reads through a Limit node
        text = await plan(engine, count)
        assert text.index("Aggregate") < text.index("Limit") < text.index("Scan"), text


async def alembic(engine: AsyncEngine, action: str, revision: str) -> None:
    """Tracking's migrations up or down to ``revision`` (``migrate`` goes to the head)."""

    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = "alembic_version_tracking"
        getattr(command, action)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def indexes(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda c: sa.inspect(c).get_indexes(table))
        return {str(i["name"]) for i in found}


@pytest.mark.empty_store  # migrates from empty, revision by revision
async def test_the_migration_fills_the_status_of_existing_case_units(settings: Settings) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await alembic(engine, "upgrade", "t0003")
        signed, closed = uuid.uuid4(), uuid.uuid4()
        now = NOW
        cases = {signed: "in_progress", closed: "closed_out", uuid.uuid4(): "registered"}
        units = [(signed, "WC-JYQ", True, False), (signed, "WC-CZJ", False, True)]
        units.append((closed, "WC-JYQ", True, False))
        async with engine.begin() as conn:
            await conn.execute(
                ledger.insert(),
                [{**rows.new_row(c), "status": s, "updated_at": now} for c, s in cases.items()],
            )
            await conn.execute(  # the columns of t0003's case_units, no status yet
                sa.text(
                    "INSERT INTO case_units (case_id, unit, lead, co, dispatches, returns) "
                    "VALUES (:case_id, :unit, :lead, :co, 1, 0)"
                ).bindparams(sa.bindparam("case_id", type_=sa.Uuid)),
                [dict(zip(("case_id", "unit", "lead", "co"), u, strict=True)) for u in units],
            )

        await alembic(engine, "upgrade", "head")
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.select(case_units.c.case_id, case_units.c.unit, case_units.c.status)
            )
            assert sorted(map(tuple, found)) == sorted(
                (c, unit, cases[c]) for c, unit, _, _ in units
            )
        assert await indexes(engine, "case_units") == {"ix_case_units_unit_status"}
        assert {"ix_ledger_status_channel", "ix_ledger_track_status"} <= await indexes(
            engine, "ledger"
        )
        assert not {"ix_ledger_status", "ix_ledger_track"} & await indexes(engine, "ledger")

        await alembic(engine, "downgrade", "t0003")
        assert await indexes(engine, "case_units") == {"ix_case_units_unit"}
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("case_units"))
            assert "status" not in {c["name"] for c in columns}
            assert (await conn.execute(sa.text("SELECT count(*) FROM case_units"))).scalar() == 3
    finally:
        await engine.dispose()


# (who, filter, the index its count must look the whole filter up in)
LIAISON = Principal(id="unit_liaison:scj", name="scj", role=Role.UNIT_LIAISON, unit="scj")
COMBINED = [
    (OFFICE, LedgerFilter(status="dispatched", unit="scj"), "ix_case_units_unit_status"),
    (LIAISON, LedgerFilter(status="dispatched"), "ix_case_units_unit_status"),
    (
        OFFICE,
        LedgerFilter(status="closed_out", channel="hotline_12388"),
        "ix_ledger_status_channel",
    ),
    (
        OFFICE,
        LedgerFilter(track="supervised", status="awaiting_feedback"),
        "ix_ledger_track_status",
    ),
]


@pytest.fixture(scope="module")
def generated(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The bench's generated ledger of 20,000 cases, COPYed once for the four filters (each
    filled its own: 10–15 s apiece)."""
    schema = new_schema()
    settings = store_settings(tmp_path_factory.mktemp("generated") / "data", pg_url, schema)

    async def build() -> None:
        await ensure_schema(settings)
        engine = create_engine(settings, writer=True)
        try:
            await migrate(engine, MIGRATIONS, "alembic_version_tracking")
        finally:
            await engine.dispose()
        await ledgerdata.fill(pg_url, schema, 20_000)

    asyncio.run(build())
    yield settings
    drop_schema(pg_url, schema)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("who", "f", "index"), COMBINED, ids=["unit", "liaison", "channel", "track"]
)
async def test_a_combined_filters_count_looks_up_both_columns_in_one_index(
    generated: Settings, who: Principal, f: LedgerFilter, index: str
) -> None:
    """On the bench's generated ledger (8 % of cases dispatched, one unit of 24, 12
    channels), the count reads the whole filter from one index, instead of reading every
    case of one column's value to test the other (ADR 15)."""
    engine = create_engine(generated, writer=True)
    try:
        await _explain_count(engine, who, f, index)
    finally:
        await engine.dispose()


async def _explain_count(engine: AsyncEngine, who: Principal, f: LedgerFilter, index: str) -> None:
    count = capped_count(ledger_query(who, f, NOW, "postgresql"), 1000)
    sql = str(count.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        text = "\n".join(str(r[0]) for r in await conn.execute(sa.text(f"EXPLAIN {sql}")))
    # one index, both columns in its condition: read alone where the generated ledger's
    # pages are all visible, else through a bitmap (a shared server's open transactions can
    # keep VACUUM from marking them — seen in CI)
    both = (
        rf"(Index Only Scan using|Bitmap Index Scan on) {index} .*\n\s*"
        r"Index Cond: \(\(.*\) AND \(.*\)\)"
    )
    assert re.search(both, text), text
    if index == "ix_case_units_unit_status":  # the ledger is probed by its key alone
        assert "Index Only Scan using ledger_pkey" in text, text


# the person filter alone and with others: a surname (a part of one character), a whole
# name, and a liaison's scope — whose unit's cases the planner may intersect with the term's
# (both from their indexes) and sort, the few that are left
PERSONS = [
    (OFFICE, LedgerFilter(person="张"), True),
    (OFFICE, LedgerFilter(person="王某", status="closed_out"), True),
    (LIAISON, LedgerFilter(person="张"), False),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("who", "f", "in_order"), PERSONS, ids=["surname", "status", "liaison"])
async def test_the_person_filter_reads_its_cases_from_the_parts_index_in_the_ledgers_order(
    generated: Settings, who: Principal, f: LedgerFilter, in_order: bool
) -> None:
    """On the bench's generated ledger (40 % of cases name a person), the count and the page
    look the term up in ``ix_case_persons_part``: no scan of the ledger or its ``subject``
    JSON, the page in the index's order (no sort) probing the ledger by key; the count of the
    term alone, for the office, reads the index alone (no ledger row)."""
    engine = create_engine(generated, writer=True)
    try:
        count = capped_count(counted_query(who, f, NOW, "postgresql"), 1000)
        paged = ledger_query(who, f, NOW, "postgresql", paged=True)
        page = paged.order_by(*order_of(f)).limit(20)
        alone = who == OFFICE and f == LedgerFilter(person=f.person)
        for statement, probes in ((count, not alone), (page, True)):
            sql = str(statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
            async with engine.connect() as conn:
                text = "\n".join(str(r[0]) for r in await conn.execute(sa.text(f"EXPLAIN {sql}")))
            # the index read alone where the generated pages are all visible, else through a
            # bitmap (an open transaction elsewhere on the server keeps VACUUM from marking
            # them, as for the combined filters above)
            looked_up = r"(Index (Only )?Scan using|Bitmap Index Scan on) ix_case_persons_part"
            assert re.search(looked_up + r".*\n\s*Index Cond: \(\(?part\)?(::text)? = ", text), text
            assert bool(re.search(r"Scan using ledger_pkey", text)) == probes, text
            assert "Seq Scan" not in text, text
            assert "Sort" not in text or not in_order, text
    finally:
        await engine.dispose()
