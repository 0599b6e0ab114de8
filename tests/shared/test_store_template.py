"""The store the tests start their apps on (``tests/support/template.py``) is the store a
fresh start makes, object for object; and ``migrate`` still brings a store behind head up to
it (a store at head is read, not migrated again)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from services.tracking.ledger.tables import MIGRATIONS
from shared.platform.readmodel import create_engine, ensure_schema, migrate
from shared.platform.settings import Settings
from tests.conftest import drop_schema, new_schema
from tests.support.template import StoreTemplates, build, dump_schema, is_sqlite, pg_dump_for
from tests.tracking.test_ledger_order import alembic


def objects(settings: Settings) -> dict[str, list[tuple[str, ...]]]:
    """Every store's objects (and the version tables' rows), with the schema's name left out."""
    if settings.database_url is None:
        found: dict[str, list[tuple[str, ...]]] = {}
        root = settings.data_dir
        for path in sorted(p for p in root.rglob("*") if is_sqlite(p)):
            with contextlib.closing(sqlite3.connect(path)) as conn:
                rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
                found[str(path.relative_to(root))] = sorted(tuple(map(str, r)) for r in rows)
        return found
    assert settings.database_schema is not None
    dump = dump_schema(
        pg_dump_for(settings.database_url), settings.database_url, settings.database_schema
    )
    lines = dump.replace(settings.database_schema, "SCHEMA").splitlines()
    return {"schema": [(line,) for line in lines if line and not line.startswith("--")]}


@pytest.mark.empty_store
def test_a_templated_store_holds_what_a_fresh_start_makes(
    settings: Settings, store_templates: StoreTemplates, tmp_path: Path
) -> None:
    build(settings)  # a fresh start on an empty store
    templated = settings.model_copy(update={"data_dir": tmp_path / "templated"})
    if settings.database_url is None:
        store_templates.install(templated)
        build(templated)  # a test's start on the template
        fresh, copied = objects(settings), objects(templated)
    else:
        templated = templated.model_copy(update={"database_schema": new_schema()})
        restored = settings.model_copy(update={"database_schema": new_schema()})
        try:
            store_templates.install(templated)
            build(templated)
            # The fresh schema as pg_dump restores it, as the template is: a partial index's
            # ``IN (…)`` is stored in another (equivalent) form once its text is parsed again.
            restore(settings, restored)
            fresh, copied = objects(restored), objects(templated)
        finally:
            for schema in (templated.database_schema, restored.database_schema):
                drop_schema(settings.database_url, str(schema))
    assert "readmodels.sqlite" in fresh or "schema" in fresh
    assert sum(len(v) for v in fresh.values()) > 50, fresh  # every service's tables
    assert copied == fresh


def restore(source: Settings, target: Settings) -> None:
    assert source.database_url and source.database_schema and target.database_schema
    script = dump_schema(
        pg_dump_for(source.database_url), source.database_url, source.database_schema
    )
    with psycopg.connect(source.database_url) as conn:
        conn.execute(script.replace(source.database_schema, target.database_schema).encode())


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


@pytest.mark.empty_store
async def test_a_store_behind_head_is_brought_to_head(settings: Settings) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await alembic(engine, "upgrade", "t0018")
        await migrate(engine, MIGRATIONS, "alembic_version_tracking")
        async with engine.connect() as conn:
            version = await conn.scalar(sa.text("SELECT version_num FROM alembic_version_tracking"))
            tallies = await conn.run_sync(lambda c: sa.inspect(c).has_table("ledger_tallies"))
        assert (version, tallies) == (head(), True)
        await migrate(engine, MIGRATIONS, "alembic_version_tracking")  # at head: left as it is
    finally:
        await engine.dispose()
