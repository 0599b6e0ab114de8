"""Migration t0015 gives the units mirror the responsible person (单位负责人, issue 22 point 5):
units already mirrored keep their rows with none, and the step goes back down cleanly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.ledger.tables import MIGRATIONS, units
from shared.platform.readmodel import create_engine, ensure_schema
from shared.platform.settings import Settings


async def alembic(engine: AsyncEngine, action: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        config.attributes["version_table"] = "alembic_version_tracking"
        getattr(command, action)(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def unit_columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        found = await conn.run_sync(lambda c: sa.inspect(c).get_columns("units"))
        return {str(c["name"]) for c in found}


@pytest.mark.empty_store  # migrates from empty, revision by revision
async def test_units_mirrored_before_t0015_keep_their_rows_without_a_responsible_person(
    settings: Settings,
) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await alembic(engine, "upgrade", "t0014")
        assert "responsible_person" not in await unit_columns(engine)
        async with engine.begin() as conn:  # a unit as t0014 mirrored it
            await conn.execute(
                sa.text(
                    "INSERT INTO units (code, name, kind, parent, active) "
                    "VALUES ('WC-JYQ', '武昌区教育局', 'department', NULL, true)"
                )
            )

        await alembic(engine, "upgrade", "head")
        head = {"name": "张某", "position": "局长"}
        async with engine.begin() as conn:
            found = await conn.execute(sa.select(units.c.code, units.c.responsible_person))
            assert list(map(tuple, found)) == [("WC-JYQ", None)]
            await conn.execute(units.update().values(responsible_person=head))
            stored = await conn.execute(sa.select(units.c.responsible_person))
            assert stored.scalar_one() == head

        await alembic(engine, "downgrade", "t0014")
        assert "responsible_person" not in await unit_columns(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM units"))).scalar() == 1
    finally:
        await engine.dispose()
