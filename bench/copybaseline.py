"""Baseline (C) of ``bench.rebuild``: PostgreSQL's own bulk write path for the rebuild's rows.

The rebuilt tables' rows (and the ledger's marks) are written out with ``COPY … TO`` in
binary into files (not timed); then, timed, in one transaction: the tables emptied
(``TRUNCATE``; the ledger's marks deleted) and every row ``COPY``ed back in with the tables'
indexes in place, and committed. The tables end as the rebuild left them. What the rebuild
does beyond this — reading and decoding the stores, folding events into rows — is what the
ratio to (C) measures.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from bench.baselines import Throughput
from bench.common import Deployment
from services.tracking.ledger.tables import READ_TABLES

TABLES = tuple(t.name for t in READ_TABLES)
MARKS = ("projection_streams", "projection_positions")

CHUNK = 1 << 20
LEDGER = "consumer = 'ledger'"


def copy_baseline(d: Deployment, out: Path) -> Throughput:
    """(C): rows copied back in and the seconds it took."""
    files = out / "copy-baseline"
    files.mkdir(exist_ok=True)
    with psycopg.connect(d.pg_url or "", autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{d.schema}"')
        rows = sum(_write_out(conn, table, files) for table in (*TABLES, *MARKS))
        began = time.monotonic()
        with conn.transaction():
            conn.execute(f"TRUNCATE {', '.join(TABLES)}")
            for marks in MARKS:
                conn.execute(f"DELETE FROM {marks} WHERE {LEDGER}")
            for table in (*TABLES, *MARKS):
                _read_in(conn, table, files)
        seconds = time.monotonic() - began
    for path in files.iterdir():
        path.unlink()
    files.rmdir()
    return Throughput(rows, seconds)


def _write_out(conn: psycopg.Connection, table: str, files: Path) -> int:
    where = f" WHERE {LEDGER}" if table in MARKS else ""
    count = conn.execute(f"SELECT count(*) FROM {table}{where}").fetchone()
    source = f"(SELECT * FROM {table}{where})" if where else table
    with (
        (files / table).open("wb") as file,
        conn.cursor().copy(f"COPY {source} TO STDOUT (FORMAT binary)") as copy,
    ):
        for data in copy:
            file.write(data)
    return int(count[0]) if count else 0


def _read_in(conn: psycopg.Connection, table: str, files: Path) -> None:
    with (
        (files / table).open("rb") as file,
        conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy,
    ):
        while data := file.read(CHUNK):
            copy.write(data)
