"""Our recorders (shared/platform/recorders.py) pass the eventsourcing library's own recorder
test cases — the same cases the library runs against its PostgreSQL and SQLite recorders —
and keep an ``also`` statement in the save's transaction: committed with its events, rolled
back with them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
)

from shared.platform.recorders import OneTripPostgresProcessRecorder, SQLiteProcessRecorderWithAlso
from shared.platform.settings import postgres_params

pytestmark = pytest.mark.postgres


class _OnPostgres:
    """A fresh schema per test; the recorder of ours on it."""

    datastore: PostgresDatastore

    @pytest.fixture(autouse=True)
    def _schema(self, pg_url: str, pg_schema: str) -> Iterator[None]:
        self.datastore = _pg_datastore(pg_url, pg_schema)
        try:
            yield
        finally:
            self.datastore.close()

    def create_recorder(self) -> OneTripPostgresProcessRecorder:
        return _pg_recorder(self.datastore)


def _pg_datastore(pg_url: str, schema: str) -> PostgresDatastore:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    pg = postgres_params(pg_url)
    return PostgresDatastore(
        pg.dbname,
        pg.host,
        str(pg.port),
        pg.user,
        pg.password,
        schema=schema,
        pool_size=4,
        max_overflow=10,
        lock_timeout=10,
    )


def _pg_recorder(datastore: PostgresDatastore) -> OneTripPostgresProcessRecorder:
    recorder = OneTripPostgresProcessRecorder(
        datastore, events_table_name="stored_events", tracking_table_name="tracking"
    )
    recorder.create_table()
    return recorder


class TestOneTripAsApplicationRecorder(_OnPostgres, ApplicationRecorderTestCase):
    pass


class TestOneTripAsProcessRecorder(_OnPostgres, ProcessRecorderTestCase):
    pass


class TestOneTripNotificationIdsDoNotInterleave(
    _OnPostgres, NonInterleavingNotificationIDsBaseCase
):
    pass


class _OnSQLite:
    datastore: SQLiteDatastore

    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path) -> Iterator[None]:
        self.datastore = SQLiteDatastore(str(tmp_path / "events.sqlite"), lock_timeout=30)
        before = set(threading.enumerate())
        try:
            yield
        finally:
            # The library's concurrency case stops its reader threads without joining them:
            # closing the connections under a reader still in a query crashed the process.
            for thread in set(threading.enumerate()) - before:
                thread.join(timeout=10)
            self.datastore.close()

    def create_recorder(self) -> SQLiteProcessRecorderWithAlso:
        return _sqlite_recorder(self.datastore)


def _sqlite_recorder(datastore: SQLiteDatastore) -> SQLiteProcessRecorderWithAlso:
    recorder = SQLiteProcessRecorderWithAlso(datastore)
    recorder.create_table()
    return recorder


class TestSQLiteWithAlsoAsApplicationRecorder(_OnSQLite, ApplicationRecorderTestCase):
    pass


class TestSQLiteWithAlsoAsProcessRecorder(_OnSQLite, ProcessRecorderTestCase):
    pass


def _events(originator: uuid.UUID, *versions: int) -> list[StoredEvent]:
    return [StoredEvent(originator, v, "topic", b"{}") for v in versions]


class TestAlsoStatements:
    """``also`` rows commit with the save's events and roll back with them."""

    @pytest.fixture(params=["sqlite", "postgres"])
    def store(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        datastore: Any
        if request.param == "sqlite":
            datastore = SQLiteDatastore(str(tmp_path / "events.sqlite"), lock_timeout=30)
            recorder: Any = _sqlite_recorder(datastore)
            mark, table = "?", "keys"
        else:
            schema = request.getfixturevalue("pg_schema")
            datastore = _pg_datastore(request.getfixturevalue("pg_url"), schema)
            recorder = _pg_recorder(datastore)
            mark, table = "%s", f'"{schema}".keys'
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"CREATE TABLE {table} (k TEXT PRIMARY KEY)")
        yield recorder, mark, table
        datastore.close()

    def keys(self, recorder: Any, table: str) -> list[str]:
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT k FROM {table} ORDER BY k")
            return [row["k"] for row in cursor.fetchall()]

    def test_an_also_row_commits_with_the_events(self, store: Any) -> None:
        recorder, mark, table = store
        originator = uuid.uuid4()
        ids = recorder.insert_events(
            _events(originator, 1, 2), also=[(f"INSERT INTO {table} VALUES ({mark})", ("a",))]
        )
        assert len(ids) == 2
        assert [e.originator_version for e in recorder.select_events(originator)] == [1, 2]
        assert self.keys(recorder, table) == ["a"]

    def test_an_also_row_rolls_back_when_the_events_conflict(self, store: Any) -> None:
        recorder, mark, table = store
        originator = uuid.uuid4()
        recorder.insert_events(_events(originator, 1))
        with pytest.raises(IntegrityError):
            recorder.insert_events(
                _events(originator, 1), also=[(f"INSERT INTO {table} VALUES ({mark})", ("b",))]
            )
        assert self.keys(recorder, table) == []
        # The connection went back to the pool usable: the next save commits.
        recorder.insert_events(
            _events(originator, 2), also=[(f"INSERT INTO {table} VALUES ({mark})", ("c",))]
        )
        assert self.keys(recorder, table) == ["c"]

    def test_a_failing_also_statement_saves_no_event(self, store: Any) -> None:
        recorder, mark, table = store
        originator = uuid.uuid4()
        recorder.insert_events([], also=[(f"INSERT INTO {table} VALUES ({mark})", ("d",))])
        with pytest.raises(IntegrityError):
            recorder.insert_events(
                _events(originator, 1), also=[(f"INSERT INTO {table} VALUES ({mark})", ("d",))]
            )
        assert recorder.select_events(originator) == []
