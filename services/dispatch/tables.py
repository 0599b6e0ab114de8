"""Dispatch's own read tables, fed by its own events (``schedule.py``): the cases on the
office's desk, and the deadlines the reminder scheduler watches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

dispatch_cases = sa.Table(
    "dispatch_cases",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("pass_no", sa.Integer, nullable=False),
    sa.Column("track", sa.String(32), nullable=True),
    sa.Column("lead_unit", sa.String(32), nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

dispatch_deadlines = sa.Table(
    "dispatch_deadlines",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("unit", sa.String(32), nullable=False),
    sa.Column("start", UtcDateTime, nullable=False),
    sa.Column("deadline", UtcDateTime, nullable=False),
    sa.Column("provisional", sa.Boolean, nullable=False),
    # The case's status lets this deadline run (sign-for until signed, handling until a result).
    sa.Column("running", sa.Boolean, nullable=False),
    sa.Column("approaching_announced", sa.Boolean, nullable=False),
    sa.Column("missed_announced", sa.Boolean, nullable=False),
)
