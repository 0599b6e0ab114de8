"""The read side's database: SQLAlchemy 2 async engines and Alembic migrations.

Embedded: one SQLite file (aiosqlite, WAL). PostgreSQL: asyncpg on the same database as the
event stores, in the configured schema. Each owner of tables (``shared`` for credentials,
``tracking`` for the ledger) keeps its own Alembic history and version table.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, event, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import DateTime, TypeDecorator

from shared.platform.settings import Settings, postgres_params
from shared.platform.sqlitewal import tune

# The tables shared owns: API keys (credentials) and the projections' marks.
SHARED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
START_PATIENCE_SECONDS = 60.0  # then a start fails, as it should with no database

log = structlog.get_logger(__name__)


class Base(DeclarativeBase):
    """Declarative base of every read-model table."""


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_database_url(settings: Settings) -> URL:
    if settings.database_url is None:
        return URL.create("sqlite+aiosqlite", database=str(settings.data_dir / "readmodels.sqlite"))
    pg = postgres_params(settings.database_url)
    socket = pg.host.startswith("/")
    return URL.create(
        "postgresql+asyncpg",
        username=pg.user,
        password=pg.password or None,
        host=None if socket else pg.host,
        port=None if socket else pg.port,
        database=pg.dbname,
        query={"host": pg.host} if socket else {},
    )


def create_engine(settings: Settings, *, writer: bool = False) -> AsyncEngine:
    """``writer=True`` for projections: on SQLite its transactions take the write lock at
    BEGIN, so concurrent followers wait their turn instead of failing on a stale snapshot."""
    url = read_database_url(settings)
    if url.drivername.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        path = str(url.database)

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, path)

        event.listen(engine.sync_engine, "connect", pragmas)
        if writer:
            event.listen(engine.sync_engine, "connect", _sqlite_manual_transactions)
            event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    connect_args: dict[str, Any] = {
        "server_settings": {"search_path": settings.database_schema},
        "timeout": 5,
        "command_timeout": 30,
    }
    size = settings.db_pool_size
    return create_async_engine(
        url, pool_size=size, max_overflow=size, pool_pre_ping=True, connect_args=connect_args
    )


def _sqlite_pragmas(dbapi_connection: Any, path: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    tune(dbapi_connection, path)  # the log's bound; its checkpoints (ADR 47)


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


async def reachable(engine: AsyncEngine, patience: float = START_PATIENCE_SECONDS) -> None:
    """Wait for the database to take a connection, for a while: a loaded server once took
    over the 5 s connect timeout (or had no connection slot free) as a service started, and
    the start failed. Only connecting is retried; what is done with the connection is not."""
    waited = 0.0
    while True:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return
        except (TimeoutError, OSError, OperationalError):
            if waited >= patience:
                raise
            log.warning("database_not_reachable_yet", waited=round(waited, 1))
            delay = min(5.0, 0.5 + waited / 2)
            await asyncio.sleep(delay)
            waited += delay


async def migrate(engine: AsyncEngine, script_location: Path, version_table: str) -> None:
    """Bring one owner's tables to the newest revision; replicas starting together wait in turn."""
    await reachable(engine)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key()})
        await conn.run_sync(_upgrade, script_location, version_table)


def _lock_key() -> int:
    return zlib.crc32(b"taizhang-migrations")


def _upgrade(connection: Connection, script_location: Path, version_table: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if _at_head(connection, config, script_location, version_table):
        return
    config.attributes["connection"] = connection
    config.attributes["version_table"] = version_table
    command.upgrade(config, "head")


# Each owner's scripts, read once a process: alembic's ``upgrade`` reads every revision file
# and runs ``env.py`` again on each call, ~10 ms of CPU for tracking's history even when there
# is nothing to do — which is every start but the first (and hundreds of starts in the tests).
_HEADS: dict[Path, frozenset[str]] = {}


def _at_head(
    connection: Connection, config: Config, script_location: Path, version_table: str
) -> bool:
    """Whether the version table already names every head of the owner's history (read
    under the same lock and in the same transaction as the upgrade that would follow)."""
    heads = _HEADS.get(script_location)
    if heads is None:
        heads = _HEADS[script_location] = frozenset(ScriptDirectory.from_config(config).get_heads())
    context = MigrationContext.configure(connection, opts={"version_table": version_table})
    return bool(heads) and frozenset(context.get_current_heads()) == heads


async def ensure_schema(settings: Settings) -> None:
    """Create the configured PostgreSQL schema (the event store expects it to exist)."""
    if settings.database_url is None or settings.database_schema == "public":
        return
    engine = create_engine(settings.model_copy(update={"database_schema": "public"}))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(f'CREATE SCHEMA IF NOT EXISTS "{_identifier(settings.database_schema)}"')
            )
    finally:
        await engine.dispose()


@asynccontextmanager
async def setup_lock(settings: Settings) -> AsyncIterator[None]:
    """One process at a time creates or migrates a deployment's tables: processes started
    together on a fresh schema would race on the event store's ``CREATE OR REPLACE FUNCTION``
    (not atomic) and the migrations. PostgreSQL: a session advisory lock named by the schema,
    released when the setup ends or its connection dies. SQLite: one process, no lock."""
    if settings.database_url is None:
        yield
        return
    engine = create_engine(settings.model_copy(update={"database_schema": "public"}))
    key = {"key": f"taizhang setup {settings.database_schema}"}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), key)
            await conn.commit()  # the lock is the session's; no transaction held open
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
                await conn.commit()
    finally:
        await engine.dispose()


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def run_sync(coro: Any) -> Any:
    """Run a coroutine from synchronous code (the CLI)."""
    return asyncio.run(coro)


def run_alembic_environment(context: Any) -> None:
    """The body of every ``env.py``: migrate on the connection :func:`migrate` handed over."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        version_table=context.config.attributes["version_table"],
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()
