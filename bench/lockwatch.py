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
import gc
import json
import os
import re
import sqlite3
import sys
import threading
import time
from collections import defaultdict, deque
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
# int (*)(void*, sqlite3*, const char* zDb, int nFrame): SQLite's automatic checkpoint is
# itself a WAL hook (sqlite3WalDefaultHook); ours does the same PASSIVE checkpoint, timed.
_WAL_HOOK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
)
_lib.sqlite3_wal_hook.argtypes = [ctypes.c_void_p, _WAL_HOOK, ctypes.c_void_p]
_lib.sqlite3_wal_hook.restype = ctypes.c_void_p
_lib.sqlite3_wal_checkpoint_v2.argtypes = [
    ctypes.c_void_p,
    ctypes.c_char_p,
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_int),
    ctypes.POINTER(ctypes.c_int),
]
_lib.sqlite3_wal_checkpoint_v2.restype = ctypes.c_int
AUTOCHECKPOINT = re.compile(r"^\s*PRAGMA\s+(?:\w+\.)?wal_autocheckpoint\s*=\s*(-?\d+)", re.I)
CHECKPOINT = re.compile(r"^\s*PRAGMA\s+(?:\w+\.)?wal_checkpoint", re.I)
SLOW_MS = 50.0  # a pause at least this long is listed on its own, with when and where

_guard = threading.RLock()  # re-entered by a collection that starts inside pause()
_watches: dict[int, Watch] = {}
# (file, tables written) -> [transactions, of them contended, ms slept for the lock, ms held]
_locks: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
_thread_files: dict[int, set[str]] = defaultdict(set)
# Pauses, by kind and where: [count, ms in all, longest ms, count ≥ SLOW_MS]
_pauses: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
_slow: list[list[Any]] = []  # [unix time, kind, where, ms, detail] of each pause ≥ SLOW_MS
_hooks: dict[int, Any] = {}  # ctypes callbacks must outlive their connections' use of them


def pause(kind: str, where: str, ms: float, detail: str = "", at: float | None = None) -> None:
    with _guard:
        row = _pauses[f"{kind} {where}"]
        row[0] += 1
        row[1] += ms
        row[2] = max(row[2], ms)
        if ms >= SLOW_MS:
            row[3] += 1
            _slow.append([round(at or time.time(), 3), kind, where, round(ms, 1), detail])
            del _slow[:-2000]


def _thread_label() -> str:
    return re.sub(r"[-_]\d+", "", threading.current_thread().name)


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


def _handle(conn: sqlite3.Connection) -> int | None:
    return ctypes.c_void_p.from_address(id(conn) + 2 * ctypes.sizeof(ctypes.c_void_p)).value


def _install(conn: sqlite3.Connection, key: int) -> None:
    _lib.sqlite3_busy_handler(_handle(conn), _busy, key)


def _install_wal_hook(conn: WatchedConnection, frames: int) -> None:
    """Our WAL hook in place of SQLite's automatic checkpoint, doing what it does — a
    PASSIVE checkpoint on the committing connection once the log holds ``frames`` pages —
    timed, with the thread that paid for it. ``frames`` ≤ 0: no automatic checkpoint."""
    file = conn.watch.file

    @_WAL_HOOK
    def hook(_arg: Any, db: int, name: bytes, pages: int) -> int:
        if frames <= 0 or pages < frames:
            return 0
        log, done = ctypes.c_int(0), ctypes.c_int(0)
        began = time.perf_counter()
        rc = _lib.sqlite3_wal_checkpoint_v2(db, name, 0, ctypes.byref(log), ctypes.byref(done))
        ms = 1000 * (time.perf_counter() - began)
        pause(
            "checkpoint", f"{file} on {_thread_label()}", ms, f"rc {rc}, {done.value}/{log.value}"
        )
        return 0

    _hooks[conn.key] = hook
    _lib.sqlite3_wal_hook(_handle(conn), hook, None)


class WatchedCursor(sqlite3.Cursor):
    def execute(self, sql: str, *args: Any) -> Any:
        conn = self.connection
        assert isinstance(conn, WatchedConnection)
        ending = END.match(sql) is not None
        began = time.perf_counter()
        result = super().execute(sql, *args)
        if ending:
            conn.timed_commit(began)
        elif CHECKPOINT.match(sql):  # one asked for (the product's checkpointer, ADR 47)
            ms = 1000 * (time.perf_counter() - began)
            pause("checkpoint", f"{conn.watch.file} on {_thread_label()}", ms, sql)
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
        self.waits = kwargs.get("timeout", args[0] if args else 5.0) != 0
        if self.waits:  # a connection opened not to wait (timeout 0) keeps no handler
            _install(self, self.key)
        _install_wal_hook(self, 1000)  # SQLite's default wal_autocheckpoint
        _thread_files[threading.get_native_id()].add(self.watch.file)

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or WatchedCursor)

    def execute(self, sql: str, *args: Any) -> Any:
        return self.cursor().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self.cursor().executemany(sql, *args)

    def timed_commit(self, began: float) -> None:
        pause(
            "commit",
            f"{self.watch.file} on {_thread_label()}",
            1000 * (time.perf_counter() - began),
        )

    def after(self, sql: str) -> None:
        if sql.lstrip()[:6].upper() == "PRAGMA" and "busy_timeout" in sql.lower() and self.waits:
            _install(self, self.key)  # the pragma replaced our handler with SQLite's
        frames = AUTOCHECKPOINT.match(sql)
        if frames:  # the pragma replaced our hook with SQLite's own
            _install_wal_hook(self, int(frames.group(1)))
        if WRITE.match(sql):
            self.watch.wrote(sql)
        if END.match(sql) or not self.in_transaction:
            self.watch.ended()

    def commit(self) -> None:
        began = time.perf_counter()
        super().commit()
        self.timed_commit(began)
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
    while _collections:
        where, ms, detail, at = _collections.popleft()
        pause("gc", where, ms, detail, at)
    with _guard:
        locks = {f"{f} {label}": list(row) for (f, label), row in list(_locks.items())}
        pauses = {key: list(row) for key, row in list(_pauses.items())}
        slow = list(_slow)
    return {
        "at": time.time(),
        "locks": locks,
        "labels": labels(),
        "pauses": pauses,
        "slow": slow,
    }


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
    return {
        "at": asked,
        "locks": dump.get("locks", {}),
        "threads": dict(named),
        "pauses": dump.get("pauses", {}),
        "slow": dump.get("slow", []),
    }


_gc_began = threading.local()
# A collection can start anywhere, inside pause() too: its times wait here (deque.append
# takes no lock) and are counted by the next snapshot.
_collections: deque[tuple[str, float, str, float]] = deque()


def _timed_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_began.at = time.perf_counter()
        return
    began = getattr(_gc_began, "at", None)
    if began is not None:
        where = f"generation {info['generation']} on {_thread_label()}"
        ms = 1000 * (time.perf_counter() - began)
        _collections.append((where, ms, f"{info['collected']} collected", time.time()))


def _where(frame: Any, depth: int = 4) -> str:
    """Where a thread is: its innermost frame, then the project's frames around it."""
    here: list[str] = []
    while frame is not None and len(here) < depth:
        name = frame.f_code.co_filename
        if not here or "/services/" in name or "/shared/" in name:
            here.append(f"{Path(name).name}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(here)


def _watch_loop(loop: Any, main_thread: int) -> None:
    """Every 20 ms, how long the event loop takes to run a callback handed to it; a tick
    not run within 100 ms has the loop's thread's stack taken (what held the loop)."""
    while not loop.is_closed():
        ran = threading.Event()
        began = time.perf_counter()
        try:
            loop.call_soon_threadsafe(ran.set)
        except RuntimeError:
            return
        stack = ""
        if not ran.wait(0.1):
            frame = sys._current_frames().get(main_thread)
            stack = _where(frame) if frame is not None else ""
            ran.wait(30)
        pause("loop", "event loop", 1000 * (time.perf_counter() - began), stack)
        time.sleep(0.02)


def _watched_serving() -> None:
    import uvicorn.server

    from services.intake.groupcommit import GroupCommitter

    serve = uvicorn.server.Server.serve

    async def watched_serve(self: Any, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        main_thread = threading.get_ident()
        threading.Thread(
            target=_watch_loop, args=(loop, main_thread), name="loopwatch", daemon=True
        ).start()
        return await serve(self, *args, **kwargs)

    uvicorn.server.Server.serve = watched_serve  # type: ignore[method-assign]
    process = GroupCommitter._process

    def timed_process(self: Any, pending: Any) -> None:
        began = time.perf_counter()
        process(self, pending)
        pause(
            "batch",
            _thread_label(),
            1000 * (time.perf_counter() - began),
            f"{len(pending)} requests",
        )

    GroupCommitter._process = timed_process  # type: ignore[method-assign]


def _count_heap(path: Path, every: float) -> None:
    """Every ``every`` seconds, the objects the collector tracks outside the frozen heap
    and the types that grew most since the last count (a diagnostic: a count holds the GIL
    for tens of milliseconds)."""
    last: dict[str, int] = {}
    while True:
        time.sleep(every)
        counts: dict[str, int] = defaultdict(int)
        for obj in gc.get_objects():
            counts[type(obj).__qualname__] += 1
        grown = sorted(counts.items(), key=lambda i: last.get(i[0], 0) - i[1])[:12]
        line = {
            "at": round(time.time(), 1),
            "tracked": sum(counts.values()),
            "frozen": gc.get_freeze_count(),
            "grown": {k: v - last.get(k, 0) for k, v in grown},
        }
        with path.open("a") as out:
            out.write(json.dumps(line) + "\n")
        last = counts


def main() -> None:
    stats, rest = Path(sys.argv[1]), sys.argv[2:]
    gc.callbacks.append(_timed_gc)
    every = float(os.environ.get("LOCKWATCH_HEAP_SECONDS", "0"))
    if every > 0:
        heap = stats.with_suffix(".heap.jsonl")
        threading.Thread(target=_count_heap, args=(heap, every), daemon=True).start()
    _watched_serving()
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
