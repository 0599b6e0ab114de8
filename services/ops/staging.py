"""Where a rebuild writes the ledger while the live one keeps serving (blue/green, ADR 29).

PostgreSQL: a schema of its own beside the live one (``<schema>_rebuild``), migrated like the
live one, its tables ``UNLOGGED`` and without their secondary indexes while they fill (no
write-ahead log, no index upkeep per row); the indexes are built once and the tables made
durable (``SET LOGGED``) when the replay is done. The swap, in one transaction: the marks
tables locked (live projections wait at their first statement), the last events replayed,
the live read tables dropped and the staged ones moved into the live schema (their indexes
and sequences move with them), the ledger's marks replaced.

SQLite: a file of its own (``rebuild/readmodels.sqlite``); the swap copies its rows over the
live tables in one ``BEGIN IMMEDIATE`` transaction (an embedded ledger is small). Readers
see the old ledger until either commits; a rebuild that fails drops the staging place and
leaves the live ledger as it was.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import sqlite3
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.tracking.ledger.projection import NAME
from services.tracking.ledger.tables import MIGRATIONS, READ_TABLES
from shared.platform.readmodel import SHARED_MIGRATIONS, create_engine, migrate, sessionmaker
from shared.platform.settings import Settings

MARKS = ("projection_streams", "projection_positions")
TABLES = tuple(t.name for t in READ_TABLES)
CatchUp = Callable[[], Awaitable[object]]


class RebuildRunning(Exception):
    """Another rebuild of the same ledger holds the staging place."""

    def __init__(self) -> None:
        super().__init__(
            "另一次重建正在进行,请等其完成后再试 (another rebuild of this ledger is running)"
        )


class Staging:
    """The common part: a migrated place, its writer sessions, and discarding it. One
    rebuild at a time holds the place (``claim``); a second is refused, not let to drop the
    first one's tables."""

    def __init__(self, settings: Settings) -> None:
        self.live = settings
        self.settings = self.place(settings)
        self.engine: AsyncEngine | None = None
        self.claimed = False

    def place(self, settings: Settings) -> Settings:
        raise NotImplementedError

    async def claim(self) -> None:
        """Take the place or raise :class:`RebuildRunning`."""

    async def release(self) -> None:
        """Let the next rebuild take the place."""

    async def drop(self) -> None:
        """Remove the staged tables (an earlier failed rebuild's too)."""

    async def create(self) -> async_sessionmaker[AsyncSession]:
        await self.claim()
        self.claimed = True
        await self.drop()
        await self.prepare()
        self.engine = create_engine(self.settings, writer=True)
        await migrate(self.engine, MIGRATIONS, "alembic_version_tracking")
        await migrate(self.engine, SHARED_MIGRATIONS, "alembic_version_shared")
        await self.loading()
        return sessionmaker(self.engine)

    async def prepare(self) -> None:
        """Make room for the staged tables."""

    async def loading(self) -> None:
        """Set the staged tables up for a bulk load."""

    async def complete(self) -> None:
        """Make the staged tables what the live ones are (indexes, durability, statistics)."""

    async def swap(self, catch_up: CatchUp) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    async def discard(self) -> None:
        """Drop what this rebuild staged (nothing when it never held the place)."""
        await self.close()
        if self.claimed:
            await self.drop()
            await self.release()
            self.claimed = False


def staging_for(settings: Settings) -> Staging:
    return SqliteStaging(settings) if settings.database_url is None else PgStaging(settings)


class PgStaging(Staging):
    def place(self, settings: Settings) -> Settings:
        self.schema = f"{settings.database_schema}_rebuild"[:63]
        return settings.model_copy(update={"database_schema": self.schema})

    async def _admin(self, *statements: str) -> None:
        engine = create_engine(self.live)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    async def claim(self) -> None:
        """A session-level advisory lock, held on a connection of its own until release."""
        self.guard = create_engine(self.live.model_copy(update={"db_pool_size": 1}))
        self.holder = await self.guard.connect()
        key = zlib.crc32(f"taizhang-rebuild:{self.schema}".encode())
        taken = await self.holder.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        if not taken:
            await self.release()
            raise RebuildRunning

    async def release(self) -> None:
        await self.holder.close()  # the session's advisory lock goes with it
        await self.guard.dispose()

    async def prepare(self) -> None:
        await self._admin(f'CREATE SCHEMA "{self.schema}"')

    async def loading(self) -> None:
        """Unlogged, and only the indexes behind keys (the replay looks rows up by key)."""
        assert self.engine is not None
        async with self.engine.begin() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i "
                    "WHERE i.schemaname = :s "
                    "AND i.tablename = ANY(:t) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace "
                    "WHERE n.nspname = :s AND c.conname = i.indexname) ORDER BY i.indexname"
                ),
                {"s": self.schema, "t": list(TABLES)},
            )
            self.indexes = [(table, name, definition) for table, name, definition in found]
            for _, name, _ in self.indexes:
                await conn.execute(sa.text(f'DROP INDEX "{self.schema}"."{name}"'))
            for table in (*TABLES, *MARKS):
                await conn.execute(sa.text(f"ALTER TABLE {table} SET UNLOGGED"))

    async def complete(self) -> None:
        """Table by table, a few at once on connections of their own (ADR 40): the staged
        tables share no key, and one index build or table rewrite keeps one core busy."""
        gate = asyncio.Semaphore(max(2, os.cpu_count() or 1))
        await asyncio.gather(*(self._complete(table, gate) for table in (*TABLES, *MARKS)))

    async def _complete(self, table: str, gate: asyncio.Semaphore) -> None:
        assert self.engine is not None
        async with gate:
            async with self.engine.begin() as conn:
                for on, _, definition in self.indexes:
                    if on == table:
                        await conn.execute(sa.text(definition))
                await conn.execute(sa.text(f"ALTER TABLE {table} SET LOGGED"))
            async with self.engine.begin() as conn:
                await conn.execute(sa.text(f"ANALYZE {table}"))

    async def swap(self, catch_up: CatchUp) -> None:
        engine = create_engine(self.live)
        staged, live = f'"{self.schema}"', f'"{self.live.database_schema}"'
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f"LOCK TABLE {', '.join(MARKS)} IN EXCLUSIVE MODE"))
                await catch_up()
                for table in TABLES:
                    await conn.execute(sa.text(f"DROP TABLE {live}.{table}"))
                    await conn.execute(sa.text(f"ALTER TABLE {staged}.{table} SET SCHEMA {live}"))
                for marks in MARKS:
                    await conn.execute(
                        sa.text(f"DELETE FROM {live}.{marks} WHERE consumer = :c"),  # noqa: S608
                        {"c": NAME},
                    )
                    await conn.execute(
                        sa.text(
                            f"INSERT INTO {live}.{marks} SELECT * FROM {staged}.{marks} "  # noqa: S608
                            "WHERE consumer = :c"
                        ),
                        {"c": NAME},
                    )
        finally:
            await engine.dispose()
        await self.discard()

    async def drop(self) -> None:
        await self._admin(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


class SqliteStaging(Staging):
    def place(self, settings: Settings) -> Settings:
        self.directory = settings.data_dir / "rebuild"
        return settings.model_copy(update={"data_dir": self.directory})

    @property
    def live_file(self) -> Path:
        return self.live.data_dir / "readmodels.sqlite"

    async def swap(self, catch_up: CatchUp) -> None:
        """Copied over the live tables in one write transaction, the last events replayed
        into the staged file first (the live projection waits on the write lock). Rows are
        copied through Python: a transaction of a connection with the staged file attached
        would hold that file's write lock too, and the last events could not go in."""
        conn = sqlite3.connect(
            self.live_file, timeout=30, isolation_level=None, check_same_thread=False
        )
        try:
            await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
            try:
                await catch_up()
                await self.close()
                await asyncio.to_thread(_copy_over, conn, self.directory / "readmodels.sqlite")
            except BaseException:
                await asyncio.to_thread(conn.execute, "ROLLBACK")
                raise
            await asyncio.to_thread(conn.execute, "COMMIT")
        finally:
            conn.close()
        await self.discard()

    async def claim(self) -> None:
        """An exclusive ``flock`` on a file beside the live one, held until release."""
        self.live.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = (self.live.data_dir / "rebuild.lock").open("a")
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock.close()
            raise RebuildRunning from None

    async def release(self) -> None:
        self.lock.close()  # the lock goes with it

    async def drop(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self.directory, True)


def _copy_over(conn: sqlite3.Connection, staged: Path) -> None:
    source = sqlite3.connect(staged)
    try:
        for table in reversed(TABLES):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 (our own table names)
        for table in TABLES:
            _insert(conn, source, table, "")
        for marks in MARKS:
            conn.execute(f"DELETE FROM {marks} WHERE consumer = ?", (NAME,))  # noqa: S608
            _insert(conn, source, marks, f" WHERE consumer = '{NAME}'")
    finally:
        source.close()


def _insert(conn: sqlite3.Connection, source: sqlite3.Connection, table: str, where: str) -> None:
    names = [row[1] for row in source.execute(f"PRAGMA table_info({table})")]
    columns, marks = ", ".join(names), ", ".join("?" * len(names))
    rows = source.execute(f"SELECT {columns} FROM {table}{where}")  # noqa: S608
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608
