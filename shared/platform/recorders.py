"""Event recorders of our own: the library's, with a save in one round trip (ADR 30).

The library's PostgreSQL recorder spends three round trips on a save — the pool's pre-ping,
a sync after its ``LOCK``/``NOTIFY``/``INSERT`` and the ``COMMIT`` — and turns every event
into a composite value for one ``unnest`` parameter (psycopg builds those in Python, a fifth
of intake's writer). :class:`OneTripPostgresProcessRecorder` sends ``BEGIN``, the same lock,
notify and insert (four plain arrays instead of one composite array), the tracking row, any
``also`` statements and ``COMMIT`` in one pipeline and syncs once. Insert order, commit order
and notification ids are the library's: the table lock is taken before the insert and held
to the commit, exactly as before.

``also`` (a ``save()`` keyword): ``(sql, params)`` pairs run in the same transaction before
the events are inserted, so rows that the events refer to (intake's case keys) commit or roll
back with them. The SQLite recorder takes the same keyword.

Both pass the library's own recorder test cases (``tests/shared/test_recorders.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
    Tracking,
)
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder
from eventsourcing.utils import retry
from psycopg import Connection, Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from shared.platform.sqlitewal import SQLITE_FACTORY_TOPIC

Statement = tuple[str | SQL | Composed, Sequence[Any]]

__all__ = [
    "OneTripPostgresProcessRecorder",
    "SQLiteProcessRecorderWithAlso",
    "Statement",
    "with_also",
]


def with_also(env: dict[str, str]) -> dict[str, str]:
    """An application's environment with our recorder for its store (one that takes
    ``also``), and no pre-ping on PostgreSQL: a save is then one round trip. A connection
    broken meanwhile fails its first statement; the recorder's retry (the library's, on
    ``OperationalError``) takes another, and the pool drops the broken one."""
    module = env.get("PERSISTENCE_MODULE", "")
    if module == "eventsourcing.postgres":
        recorder = OneTripPostgresProcessRecorder
        env = env | {"POSTGRES_PRE_PING": "n"}
    elif module in ("eventsourcing.sqlite", SQLITE_FACTORY_TOPIC):
        recorder = SQLiteProcessRecorderWithAlso  # type: ignore[assignment]
    else:
        raise ValueError(f"no recorder taking 'also' statements for {module!r}")
    return env | {"PROCESS_RECORDER_TOPIC": f"{__name__}:{recorder.__name__}"}


class OneTripPostgresProcessRecorder(PostgresProcessRecorder):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore,
            events_table_name=events_table_name,
            tracking_table_name=tracking_table_name,
        )
        id_type = self.datastore.originator_id_type  # "uuid" or "text": both are SQL types
        self.insert_arrays_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            id_type=SQL(id_type),
        )
        self.notify_statement = SQL("NOTIFY {0}").format(Identifier(self.channel_name))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:  # the library's other path, unchanged
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn:
            try:
                inserted = self._one_trip(conn, stored_events, kwargs)
            except BaseException:
                _rolled_back(conn)
                raise
        if inserted is None:
            return None
        ids = [row["notification_id"] for row in inserted.fetchall()]
        if len(ids) != len(stored_events):
            msg = (
                f"Couldn't get all notification IDs (got {len(ids)}, expected {len(stored_events)})"
            )
            raise ProgrammingError(msg)
        return ids

    def _one_trip(
        self, conn: Connection[DictRow], stored_events: Sequence[StoredEvent], kwargs: Any
    ) -> Cursor[DictRow] | None:
        """Everything of one save in one pipeline; the cursor that holds the new ids."""
        tracking: Tracking | None = kwargs.get("tracking")
        also: Sequence[Statement] = kwargs.get("also") or ()
        inserted = None
        with conn.pipeline():
            conn.execute("BEGIN")
            if tracking is not None:
                self._insert_tracking(conn.cursor(), tracking=tracking)
            for sql, params in also:
                conn.execute(sql, params)
            if stored_events:
                for lock_statement in self.lock_table_statements:
                    conn.execute(lock_statement, prepare=True)
                conn.execute(self.notify_statement, prepare=True)
                inserted = conn.cursor()
                inserted.execute(
                    self.insert_arrays_statement, _columns(stored_events), prepare=True
                )
            conn.execute("COMMIT")
        return inserted


def _columns(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


def _rolled_back(conn: Connection[DictRow]) -> None:
    """A failed pipeline leaves its explicit transaction open (aborted): end it here, so the
    pool gets the connection back idle. A broken connection is the pool's to discard."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        conn.execute("ROLLBACK")
    except Exception:  # the original error is the one to raise
        conn.close()


class SQLiteProcessRecorderWithAlso(SQLiteProcessRecorder):
    """The library's SQLite recorder, taking ``also`` statements into the save's transaction."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        for sql, params in kwargs.get("also") or ():
            c.execute(str(sql), params)
        return super()._insert_events(c, stored_events, **kwargs)
