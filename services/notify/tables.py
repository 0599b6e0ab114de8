"""The notify service's tables — all outside the event store, so that a person's contacts can
be corrected and erased (ADR 21):

- ``notify_persons``: the directory of persons (liaison officers, office staff, supervisors)
  with their contacts and their notification settings; ``id`` is the person's account
  subject (a token's ``sub``), so an inbox is the signed-in person's own;
- ``notify_cases``: what notifications say about a case (its number, its units);
- ``notify_messages``: one row per notification, person and channel — the outbox the
  deliverer sends from, the inbox (channel ``inbox``) and the delivery log in one.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shared.platform.readmodel import UtcDateTime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


metadata = sa.MetaData()

persons = sa.Table(
    "notify_persons",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("unit", sa.String(32), nullable=True, index=True),
    sa.Column("email", sa.String(200), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("robot_url", sa.String(500), nullable=True),
    sa.Column("email_enabled", sa.Boolean, nullable=False),
    sa.Column("robot_enabled", sa.Boolean, nullable=False),
    # 短信: off until the person turns it on (migration n0002)
    sa.Column("sms_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("quiet_start", sa.String(5), nullable=True),  # "22:00", local time
    sa.Column("quiet_end", sa.String(5), nullable=True),
    sa.Column("digest", sa.Boolean, nullable=False),  # e-mail, robot, SMS once a day
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

cases = sa.Table(
    "notify_cases",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("lead_unit", sa.String(32), nullable=True),
    sa.Column("co_units", sa.JSON, nullable=False),
)

messages = sa.Table(
    "notify_messages",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # domain.message_id(event, person, channel)
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("case_id", sa.Uuid, nullable=True, index=True),
    sa.Column("case_number", sa.String(20), nullable=True),
    sa.Column("person_id", sa.String(128), nullable=False, index=True),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # pending → sent | failed (after the last attempt); an inbox message is sent when written
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Column("read_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.String(64), nullable=True),
    sa.Index("ix_notify_messages_due", "status", "next_attempt_at"),
)
