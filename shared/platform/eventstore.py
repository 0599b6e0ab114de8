"""The write side's persistence: how each service's eventsourcing Application is configured.

Embedded: one SQLite file per service (the library keeps one ``stored_events`` table per file).
PostgreSQL: one database, tables prefixed with the application's name (``intake_events`` …).
Tracking is multi-row, so replicas that consume messages out of order never refuse one
that a faster replica's higher position would otherwise shadow.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    ProcessRecorder,
    Recording,
    Tracking,
    Transcoding,
)
from eventsourcing.postgres import PostgresAggregateRecorder

from shared.platform.settings import Settings, postgres_params
from shared.platform.sqlitewal import SQLITE_FACTORY_TOPIC

SCHEMA_LOCK_KEY = zlib.crc32(b"taizhang-event-store-ddl")


class DateAsISO(Transcoding):
    """The library's JSON transcoder knows datetime but not date."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def application_env(settings: Settings, service: str) -> dict[str, str]:
    """The eventsourcing environment for one service's Application."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
            "SQLITE_DBNAME": str(settings.data_dir / f"{service}.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
            # Intake's commits answer registrations (its group commit); the others keep
            # SQLite's FULL: NORMAL there let the consumers outrun the read models' lock
            # (ADR 47).
            "SQLITE_SYNCHRONOUS": settings.sqlite_intake_synchronous
            if service == "intake"
            else "FULL",
            "SINGLE_ROW_TRACKING": "n",
        }
    pg = postgres_params(settings.database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg.dbname,
        "POSTGRES_HOST": pg.host,
        "POSTGRES_PORT": str(pg.port),
        "POSTGRES_USER": pg.user,
        "POSTGRES_PASSWORD": pg.password,
        "POSTGRES_SCHEMA": settings.database_schema,
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_pool_size),
        # The library ends a transaction left idle 5 s: on a loaded machine that ended a
        # service's start (CI, twice). 60 s still ends one left open by a stuck process.
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "10000",
        "SINGLE_ROW_TRACKING": "n",
    }


@contextmanager
def _schema_creation_lock(env: dict[str, str]) -> Iterator[None]:
    """Serialize table creation across processes: the library's PostgreSQL DDL (tables, and a
    function and type shared by every application in a schema) is not safe to run twice at
    the same moment, which is what several services starting together do."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    with psycopg.connect(
        host=env["POSTGRES_HOST"],
        port=int(env["POSTGRES_PORT"]),
        dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


class ServiceApplication(Application[UUID]):
    """Base for the three services' Applications.

    Its recorder is a process recorder, so a reaction to another service's event is saved
    together with the tracking record of that event (:meth:`save_tracked`): a redelivered
    message then finds its tracking record and changes nothing.
    """

    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        with _schema_creation_lock(env or {}):
            super().__init__(env)
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()

    def add_save_listener(self, listener: Callable[[], None]) -> None:
        """Called (in the saving thread) after every save: wakes this process's followers."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if recordings:
            for listener in list(self._listeners):
                listener()

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's ``save()``, without its runtime-Protocol ``isinstance`` checks on
        every object (Python 3.11 recomputes a Protocol's members on each check: up to 15 %
        of intake's writer) when all of them are plain aggregates, as ours are. Same steps,
        same order (eventsourcing 9.5)."""
        if not all(obj is None or isinstance(obj, Aggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        _collect(processing_event, objs)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept
        return recordings

    def save_tracked(
        self, tracking: Tracking, *aggregates: MutableOrImmutableAggregate[UUID] | None
    ) -> bool:
        """Save the aggregates' new events and the tracking record in one transaction.

        Returns False, having changed nothing, when that message was processed already.
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent(tracking)
        if all(obj is None or isinstance(obj, Aggregate) for obj in aggregates):
            _collect(processing_event, aggregates)
        else:
            processing_event.collect_events(*aggregates)
        try:
            recordings = self._record(processing_event)
        except IntegrityError:
            if self.is_tracked(tracking):
                return False
            raise  # a concurrent write to the same aggregate: the caller retries
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return True

    def is_tracked(self, tracking: Tracking) -> bool:
        """Whether exactly this message was processed (not merely a later one)."""
        recorder: Any = self.process_recorder
        if hasattr(recorder, "tracking_table_name"):  # PostgreSQL
            table = f'"{recorder.datastore.schema or "public"}"."{recorder.tracking_table_name}"'
            # Identifiers come from our configuration, values are bound parameters.
            sql = f"SELECT 1 FROM {table} WHERE application_name = %s AND notification_id = %s"  # noqa: S608
        else:  # SQLite keeps one "tracking" table per file
            sql = "SELECT 1 FROM tracking WHERE application_name = ? AND notification_id = ?"
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, (tracking.application_name, tracking.notification_id))
            return cursor.fetchone() is not None

    def existing(self, aggregate_ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates have events: one query however many ids (a batch's
        idempotency look-ups), instead of one ``repository.get`` each."""
        ids = list(set(aggregate_ids))
        if not ids:
            return set()
        recorder: Any = self.recorder
        table = recorder.events_table_name
        # Identifiers come from our configuration, values are bound parameters.
        if isinstance(recorder, PostgresAggregateRecorder):
            sql = (
                f'SELECT DISTINCT originator_id FROM "{recorder.datastore.schema}"."{table}" '  # noqa: S608
                "WHERE originator_id = ANY(%s)"
            )
            params: tuple[Any, ...] = (ids,)
        else:  # SQLite keeps ids as hex text
            marks = ", ".join("?" * len(ids))
            sql = f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks})"  # noqa: S608
            params = tuple(i.hex for i in ids)
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder


def _collect(processing_event: ProcessingEvent[UUID], aggregates: Sequence[Any]) -> None:
    for aggregate in aggregates:
        if aggregate is not None:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
