"""Dispatch's own read tables, fed by its own events (``schedule.py``): the cases on the
office's desk, and the deadlines the reminder scheduler watches."""

from __future__ import annotations

import sqlalchemy as sa

from shared.platform.readmodel import UtcDateTime

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
