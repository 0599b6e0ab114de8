"""The embedded store's SQLite files: how each connection is set up, and who checkpoints the
write-ahead logs (ADR 47).

SQLite's automatic checkpoint runs inside a commit, on whichever connection commits once the
log holds 1,000 pages: intake's group-commit writer, a projection's, a relay's. Under
``synchronous=FULL`` every commit of an event store also waits for its log to reach the
disk. Where a process runs a :class:`Checkpointer` (``taizhang serve`` on the embedded store),
the event stores it owns are checkpointed by its thread instead — PASSIVE, which never waits for a
reader or a writer, and, when a file has been idle, TRUNCATE without waiting — and their
connections commit without checkpointing (``wal_autocheckpoint=0``). Every connection bounds
the log file it leaves after a reset (``journal_size_limit``). Tools that open the files in
a process of their own (rebuild, verify, backup) keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import structlog
from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory

from shared.platform.settings import Settings

Synchronous = Literal["NORMAL", "FULL"]

# A log reset leaves at most this much of the file behind (SQLite truncates it to this).
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
SLOW_CHECKPOINT_SECONDS = 0.5  # logged: a checkpoint this long means a slow disk

log = structlog.get_logger(__name__)

_owned: Counter[str] = Counter()  # files running Checkpointers checkpoint (resolved): how many
_owned_lock = threading.Lock()


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


def checkpointed_elsewhere(path: str | Path) -> bool:
    """Whether a Checkpointer of this process checkpoints this file."""
    with _owned_lock:
        return _owned[_key(path)] > 0


def tune(conn: Any, path: str | Path, synchronous: Synchronous | None = None) -> None:
    """Set up one connection (a ``sqlite3`` connection or a DB-API one with ``cursor()``):
    ``synchronous`` when given (the read models' is set by their engine), the bound on the
    log file, and no automatic checkpoint when a Checkpointer owns the file."""
    cursor = conn.cursor()
    try:
        if synchronous is not None:
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        if checkpointed_elsewhere(path):
            cursor.execute("PRAGMA wal_autocheckpoint=0")
    finally:
        cursor.close()


class Checkpointer:
    """One thread that checkpoints a process's SQLite files every ``interval`` seconds.

    A pass over a file: a PASSIVE checkpoint (copies the frames no reader still needs into
    the database; waits for nobody, blocks nobody); when the file's log has not grown since
    the last pass and was copied whole, a TRUNCATE checkpoint that does not wait either (busy
    timeout 0: any reader or writer and it is simply tried again next time) empties the log
    file. Files that do not exist yet are skipped until they do.
    """

    def __init__(self, paths: Iterable[Path], interval: float) -> None:
        self.paths = [Path(p) for p in paths]
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)
        self._connections: dict[Path, sqlite3.Connection] = {}
        self._last: dict[Path, int] = {}
        self.passes = 0

    def start(self) -> None:
        """Own the files (connections opened from now on do not checkpoint), then run."""
        with _owned_lock:
            _owned.update(_key(p) for p in self.paths)
        self._thread.start()

    def stop(self) -> None:
        """A last pass, so that a stopped process leaves its logs copied into the files;
        then the files are SQLite's again (connections opened later checkpoint themselves)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        with _owned_lock:
            _owned.subtract(_key(p) for p in self.paths)
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.checkpoint_all()
        self.checkpoint_all()

    def checkpoint_all(self) -> None:
        for path in self.paths:
            try:
                self._checkpoint(path)
            except sqlite3.Error as e:  # a locked or vanished file: the next pass tries again
                log.warning("checkpoint_failed", file=path.name, error=str(e))
        self.passes += 1

    def _checkpoint(self, path: Path) -> None:
        conn = self._connections.get(path)
        if conn is None:
            if not path.exists():
                return
            conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
            self._connections[path] = conn
        began = time.monotonic()
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        took = time.monotonic() - began
        if took >= SLOW_CHECKPOINT_SECONDS:
            log.warning("checkpoint_slow", file=path.name, seconds=round(took, 2), frames=frames)
        idle = frames > 0 and frames == copied and self._last.get(path) == frames
        self._last[path] = frames
        if idle and not busy:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._last[path] = 0


class TunedSQLiteConnectionPool(SQLiteConnectionPool):
    """The library's pool; each new connection set up by :func:`tune`."""

    synchronous: Synchronous = "FULL"

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        tune(connection._sqlite_conn, self.db_name, self.synchronous)
        return connection


class TunedSQLiteFactory(SQLiteFactory):
    """The library's SQLite persistence (``PERSISTENCE_MODULE`` names this class), with
    ``SQLITE_SYNCHRONOUS`` (``NORMAL`` or ``FULL``) and :func:`tune` on every connection."""

    SQLITE_SYNCHRONOUS = "SQLITE_SYNCHRONOUS"

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        synchronous = (self.env.get(self.SQLITE_SYNCHRONOUS) or "FULL").upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise OSError(f"{self.SQLITE_SYNCHRONOUS} must be NORMAL or FULL, not {synchronous!r}")
        pool = self.datastore.pool  # built, no connection opened yet
        assert isinstance(pool, SQLiteConnectionPool)
        pool.__class__ = TunedSQLiteConnectionPool
        pool.synchronous = synchronous  # type: ignore[attr-defined]


SQLITE_FACTORY_TOPIC = f"{__name__}:{TunedSQLiteFactory.__name__}"


def embedded_checkpointer(settings: Settings, services: Iterable[str]) -> Checkpointer | None:
    """A started checkpointer for the event stores of a process serving ``services`` on the
    embedded store, or None: on PostgreSQL, or when ``sqlite_checkpoint_seconds`` is 0
    (SQLite's automatic checkpoints).

    Not ``readmodels.sqlite``: its readers (every projection, relay and page) overlap without
    a gap, so a checkpoint a second never found its log copied whole and free to start over —
    it grew to 193 MB in two minutes of load — where SQLite's own, right after the commits
    that fill 1,000 pages, keep it at ~10 MB; and no request waits for its commits (ADR 47)."""
    if not settings.embedded_store or settings.sqlite_checkpoint_seconds <= 0:
        return None
    files = [settings.data_dir / f"{name}.sqlite" for name in services]
    checkpointer = Checkpointer(files, settings.sqlite_checkpoint_seconds)
    checkpointer.start()
    return checkpointer
