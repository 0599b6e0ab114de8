"""Per-case data keys for the sealed parts of a tip (reporter identity, receipt code).

Events are immutable, so identity cannot be deleted from them; it can be made unreadable.
Each case's seals use its own random key; that key is stored here, wrapped by the master
reporter key, in a mutable table in intake's database. Destroying the key after the
retention period (crypto-shredding) leaves the case and its history intact and its
reporter unknowable. Rotating the master key only re-wraps these rows.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from shared.platform.protection import Sealer
from shared.platform.recorders import Statement
from shared.platform.settings import Settings, postgres_params
from shared.platform.sqlitewal import tune

TABLE = "intake_case_keys"


class CaseKeyDestroyed(Exception):
    """The case's key was destroyed after its retention period: the seal cannot be opened."""


class KeyVault:
    def __init__(self, settings: Settings, master: Sealer) -> None:
        self._master = master
        self._pool: ConnectionPool[Any] | None = None
        self._synchronous = settings.sqlite_intake_synchronous
        if settings.database_url is None:
            self._sqlite_path = str(settings.data_dir / "intake.sqlite")
            self._table = TABLE
            self._mark = "?"
        else:
            pg = postgres_params(settings.database_url)
            self._pool = ConnectionPool(
                kwargs={
                    "host": pg.host,
                    "port": pg.port,
                    "dbname": pg.dbname,
                    "user": pg.user,
                    "password": pg.password or None,
                    "row_factory": dict_row,
                    "connect_timeout": 5,
                },
                min_size=1,
                max_size=2,
                open=True,
                check=ConnectionPool.check_connection,  # survive a database restart
                timeout=5,
            )
            self._table = f'"{settings.database_schema}"."{TABLE}"'
            self._mark = "%s"
        self._run(
            f"CREATE TABLE IF NOT EXISTS {self._table} "
            "(case_id TEXT PRIMARY KEY, wrapped TEXT, created_at TEXT NOT NULL)"
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def provide(self, case_ids: Iterable[UUID], created_at: datetime) -> dict[UUID, Sealer]:
        """The sealers of new cases, creating their keys before any event refers to them.

        A key already stored for an id (another replica registering the same reference at
        the same moment, or an attempt that failed after this step) is reused, never
        replaced: a seal made with it must stay openable.
        """
        ids = list(case_ids)
        if not ids:
            return {}
        keys = {case_id: secrets.token_bytes(32) for case_id in ids}
        rows = [(str(i), self._wrap(key, i), _utc(created_at)) for i, key in keys.items()]
        # One statement for the batch; RETURNING names the keys that are ours to use.
        inserted = self._query(
            f"INSERT INTO {self._table} (case_id, wrapped, created_at) "
            f"VALUES {', '.join([f'({self._marks(3)})'] * len(rows))} "
            "ON CONFLICT (case_id) DO NOTHING RETURNING case_id",
            tuple(value for row in rows for value in row),
        )
        sealers = {UUID(r["case_id"]): Sealer({"case": keys[UUID(r["case_id"])]}) for r in inserted}
        kept = [i for i in ids if i not in sealers]
        if kept:  # rare: stored before (a retried batch, another replica)
            stored = self._query(
                f"SELECT case_id, wrapped FROM {self._table} "
                f"WHERE case_id IN ({self._marks(len(kept))})",
                tuple(str(i) for i in kept),
            )
            sealers |= {
                UUID(r["case_id"]): self._sealer(r["wrapped"], UUID(r["case_id"])) for r in stored
            }
        return sealers

    def new_keys(
        self, case_ids: Sequence[UUID], created_at: datetime
    ) -> tuple[dict[UUID, Sealer], Statement]:
        """New keys for new cases, and the statement that stores them — for the transaction
        that saves the cases' events (the recorder's ``also``), so keys and events commit
        together. A key stored before for one of the ids makes that statement fail, and the
        save with it: then :meth:`provide`, which reuses it."""
        keys = {case_id: secrets.token_bytes(32) for case_id in case_ids}
        rows = [(str(i), self._wrap(key, i), _utc(created_at)) for i, key in keys.items()]
        sql = (
            f"INSERT INTO {self._table} (case_id, wrapped, created_at) "
            f"VALUES {', '.join([f'({self._marks(3)})'] * len(rows))}"
        )
        sealers = {case_id: Sealer({"case": key}) for case_id, key in keys.items()}
        return sealers, (sql, tuple(value for row in rows for value in row))

    def sealer(self, case_id: UUID) -> Sealer:
        """The sealer of one case; raises CaseKeyDestroyed once its key is gone."""
        rows = self._query(
            f"SELECT wrapped FROM {self._table} WHERE case_id = {self._mark}", (str(case_id),)
        )
        return self._sealer(rows[0]["wrapped"] if rows else None, case_id)

    def destroy(self, case_id: UUID) -> int:
        return self._run(
            f"UPDATE {self._table} SET wrapped = NULL "
            f"WHERE case_id = {self._mark} AND wrapped IS NOT NULL",
            [(str(case_id),)],
        )

    def destroy_registered_before(self, cutoff: datetime) -> int:
        """Crypto-shred every case registered before ``cutoff``; returns how many."""
        return self._run(
            f"UPDATE {self._table} SET wrapped = NULL "
            f"WHERE created_at < {self._mark} AND wrapped IS NOT NULL",
            [(_utc(cutoff),)],
        )

    def rewrap(self) -> int:
        """Re-wrap every live key under the current master key (after prepending a new one)."""
        rows = self._query(f"SELECT case_id, wrapped FROM {self._table} WHERE wrapped IS NOT NULL")
        updated = [
            (
                json.dumps(self._master.reseal(json.loads(r["wrapped"]), UUID(r["case_id"]))),
                r["case_id"],
            )
            for r in rows
        ]
        return self._run(
            f"UPDATE {self._table} SET wrapped = {self._mark} WHERE case_id = {self._mark}", updated
        )

    def _rewrapped(self, wrapped: str, case_id: UUID) -> str:
        return json.dumps(self._master.reseal(json.loads(wrapped), case_id))

    def _wrap(self, key: bytes, case_id: UUID) -> str:
        return json.dumps(self._master.seal(base64.b64encode(key).decode(), case_id))

    def _sealer(self, wrapped: str | None, case_id: UUID) -> Sealer:
        if wrapped is None:
            raise CaseKeyDestroyed(str(case_id))
        key = base64.b64decode(self._master.open(json.loads(wrapped), case_id))
        return Sealer({"case": key})

    # --- SQL (the table name and placeholders are ours; every value is a bound parameter) ---

    def _marks(self, count: int) -> str:
        return ", ".join([self._mark] * count)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        if self._pool is not None:
            with self._pool.connection() as conn:
                yield conn
            return
        with closing(sqlite3.connect(self._sqlite_path, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            tune(conn, self._sqlite_path, self._synchronous)
            with conn:
                yield conn

    def _run(self, sql: str, rows: list[tuple[Any, ...]] | None = None) -> int:
        """Execute a statement (once per row) in one transaction; returns rows changed."""
        with self._connection() as conn:
            cursor = conn.cursor()
            changed = 0
            for row in rows if rows is not None else [()]:
                cursor.execute(sql, row)
                changed += max(cursor.rowcount, 0)
            return changed

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one statement, committed (also an INSERT … RETURNING)."""
        with self._connection() as conn:
            cursor = conn.cursor()
            cursor.execute(sql, params)
            return list(cursor.fetchall())


def _utc(moment: datetime) -> str:
    """Moments are kept as text and compared as text: always in UTC, so that a clock in
    another zone (a test's, a demo's) orders them right."""
    return moment.astimezone(UTC).isoformat()
