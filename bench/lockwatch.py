"""Where an embedded process waits on SQLite's write locks, and which threads spend its CPU:
a diagnostic wrapper around the command line, for ``bench.insight_cost --watch``.

    python -m bench.lockwatch STATS.json serve intake dispatch … --port N

Every ``sqlite3`` connection the process opens (the event stores through ``eventsourcing``,
the read models through aiosqlite, the key vault) gets a busy handler of its own that does
what SQLite's default one does (sleep 1, 2, 5 … 100 ms until the 30 s timeout) and counts:
how many transactions found the write lock held and how long they slept for it, and how long
each transaction held the lock — per database file and per the tables it wrote (so the
writers sharing a file are told apart). Beside it, the CPU of every thread of the process
(``/proc/self/task``), named. The figures are counts and sums, written to ``STATS.json``
twice a second; the bench reads them before and after a round. The product is unchanged:
nothing here is imported by it.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import sqlite3
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

DELAYS_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)  # sqliteDefaultBusyCallback's
TIMEOUT_MS = 30_000
BOOKKEEPING = {"projection_streams", "projection_positions"}
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+IMMEDIATE)", re.I)
END = re.compile(r"^\s*(COMMIT|END|ROLLBACK)\b", re.I)
TABLE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)
HZ = os.sysconf("SC_CLK_TCK")
DUMP_SECONDS = 0.1

_lib = ctypes.CDLL("libsqlite3.so.0")  # the library _sqlite3 is linked against
_BUSY = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
_lib.sqlite3_busy_handler.argtypes = [ctypes.c_void_p, _BUSY, ctypes.c_void_p]
_lib.sqlite3_busy_handler.restype = ctypes.c_int

_guard = threading.Lock()
_watches: dict[int, Watch] = {}
# (file, tables written) -> [transactions, of them contended, ms slept for the lock, ms held]
_locks: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
_thread_files: dict[int, set[str]] = defaultdict(set)


class Watch:
    """One connection's transaction in progress: what it slept for the lock, what it wrote."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.slept_ms = 0.0
        self.contended = False
        self.since: float | None = None  # when the write lock was taken
        self.tables: set[str] = set()

    def wrote(self, sql: str) -> None:
        if self.since is None:
            self.since = time.perf_counter()
        table = TABLE.match(sql)
        if table:
            self.tables.add(table.group(1).lower())

    def ended(self) -> None:
        if self.since is None and not self.contended:
            return
        held = 1000 * (time.perf_counter() - self.since) if self.since is not None else 0.0
        own = self.tables - BOOKKEEPING
        label = "+".join(sorted(own or self.tables)) or "(lock only)"
        with _guard:
            row = _locks[(self.file, label)]
            row[0] += 1
            row[1] += 1 if self.contended else 0
            row[2] += self.slept_ms
            row[3] += held
        self.slept_ms, self.contended, self.since, self.tables = 0.0, False, None, set()


@_BUSY
def _busy(key: int | None, count: int) -> int:
    watch = _watches.get(key or 0)
    prior = (
        sum(DELAYS_MS[:count])
        if count < len(DELAYS_MS)
        else (sum(DELAYS_MS) + DELAYS_MS[-1] * (count - len(DELAYS_MS)))
    )
    delay = DELAYS_MS[min(count, len(DELAYS_MS) - 1)]
    delay = min(delay, TIMEOUT_MS - prior)
    if delay <= 0:
        return 0
    if watch is not None:
        watch.contended = True
        watch.slept_ms += delay
    time.sleep(delay / 1000)
    return 1


def _install(conn: sqlite3.Connection, key: int) -> None:
    db = ctypes.c_void_p.from_address(id(conn) + 2 * ctypes.sizeof(ctypes.c_void_p)).value
    _lib.sqlite3_busy_handler(db, _busy, key)


class WatchedCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> Any:
        conn = self.connection
        assert isinstance(conn, WatchedConnection)
        result = super().execute(sql, *args)
        conn.after(sql)
        return result

    def executemany(self, sql: str, *args: Any) -> Any:
        conn = self.connection
        assert isinstance(conn, WatchedConnection)
        result = super().executemany(sql, *args)
        conn.after(sql)
        return result


class WatchedConnection(sqlite3.Connection):
    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = str(database)
        self.watch = Watch(Path(name).name if name != ":memory:" else name)
        self.key = id(self)
        _watches[self.key] = self.watch
        _install(self, self.key)
        _thread_files[threading.get_native_id()].add(self.watch.file)

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or WatchedCursor)

    def execute(self, sql: str, *args: Any) -> Any:
        return self.cursor().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self.cursor().executemany(sql, *args)

    def after(self, sql: str) -> None:
        if sql.lstrip()[:6].upper() == "PRAGMA" and "busy_timeout" in sql.lower():
            _install(self, self.key)  # the pragma replaced our handler with SQLite's
        if WRITE.match(sql):
            self.watch.wrote(sql)
        if END.match(sql) or not self.in_transaction:
            self.watch.ended()

    def commit(self) -> None:
        super().commit()
        self.watch.ended()

    def rollback(self) -> None:
        super().rollback()
        self.watch.ended()

    def close(self) -> None:
        _watches.pop(self.key, None)
        super().close()


def labels() -> dict[str, str]:
    """Each live thread's name (aiosqlite's by the files it serves), by native id."""
    named: dict[str, str] = {}
    for thread in threading.enumerate():
        files = sorted(_thread_files.get(thread.native_id or 0, ()))
        name = re.sub(r"-\d+", "", thread.name)
        named[str(thread.native_id)] = f"{name} [{'+'.join(files)}]" if files else name
    return named


def snapshot() -> dict[str, Any]:
    with _guard:
        locks = {f"{f} {label}": list(row) for (f, label), row in _locks.items()}
    return {"at": time.time(), "locks": locks, "labels": labels()}


def _dump_forever(path: Path) -> None:
    while True:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot()))
        temporary.replace(path)
        time.sleep(DUMP_SECONDS)


def observe(pid: int, path: Path) -> dict[str, Any]:
    """The process's lock figures as of now (a dump written after this call) and the CPU
    seconds of each of its threads, read from ``/proc`` at once, summed by label."""
    asked = time.time()
    dump: dict[str, Any] = {"locks": {}, "labels": {}}
    threads: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        threads[task.name] += (int(fields[11]) + int(fields[12])) / HZ
    deadline = asked + 5
    while time.time() < deadline:
        try:
            dump = json.loads(path.read_text())
        except (OSError, ValueError):
            dump = {"at": 0}
        if dump.get("at", 0) > asked:
            break
        time.sleep(DUMP_SECONDS / 4)
    named: dict[str, float] = defaultdict(float)
    for tid, cpu in threads.items():
        named[dump.get("labels", {}).get(tid, "(other threads)")] += cpu
    return {"locks": dump.get("locks", {}), "threads": dict(named)}


def main() -> None:
    stats, rest = Path(sys.argv[1]), sys.argv[2:]
    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.setdefault("factory", WatchedConnection)
        return original(*args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]
    threading.Thread(target=_dump_forever, args=(stats,), name="lockwatch", daemon=True).start()
    sys.argv = ["taizhang", *rest]
    from services.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
