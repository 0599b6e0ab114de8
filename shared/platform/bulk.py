"""Many rows into a read table at once: ``COPY`` on PostgreSQL, an executemany elsewhere.

A rebuild's page (and a live batch under a backlog) inserts hundreds of rows per table; as an
executemany each row's parameters go through SQLAlchemy's processing and its own Bind/Execute
(~0.1 ms a row here, the largest share of a rebuild's statements, ADR 29). asyncpg's binary
``COPY`` (``copy_records_to_table``) in the same transaction takes a tenth of that. Values are
what the table's columns take in Python, except that JSON columns are serialised here (what
SQLAlchemy's ``JSON`` type does on an executemany) and moments must be timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

COPY_FROM = 50  # rows: below this an executemany costs no more than a COPY's set-up


async def insert_rows(
    session: AsyncSession, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """``rows`` (dicts of the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    if len(rows) < COPY_FROM or session.get_bind().dialect.name != "postgresql":
        await session.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    encoders = [_encoder(table.c[name]) for name in columns]
    records = [
        tuple(encode(row[name]) for name, encode in zip(columns, encoders, strict=True))
        for row in rows
    ]
    await copy_records(session, table, columns, records)


async def copy_records(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], records: list[tuple[Any, ...]]
) -> None:
    """Records already as ``COPY`` takes them (JSON as text) into ``table``, PostgreSQL only:
    for a caller that builds them straight from its data (a rebuild's audit rows)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=list(columns)
    )


def _encoder(column: sa.Column[Any]) -> Any:
    if isinstance(column.type, sa.JSON):
        return _json
    return _same


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _same(value: Any) -> Any:
    return value
