"""``intake_reporter_notices``: one row per case and step a consenting reporter is told of —
written (with the projection's mark) before the text is sent, then the delivery log. It holds
no phone and no name: the phone is unsealed from the tip at the moment of sending."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shared.platform.readmodel import UtcDateTime

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

metadata = sa.MetaData()

notices = sa.Table(
    "intake_reporter_notices",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),  # steps.notice_id(case, step, pass): stable
    sa.Column("case_id", sa.Uuid, nullable=False, index=True),
    sa.Column("number", sa.String(20), nullable=False),
    sa.Column("step", sa.String(16), nullable=False),
    sa.Column("pass_no", sa.Integer, nullable=False),
    sa.Column("text", sa.String(200), nullable=False),  # as sent: number, step, where to look
    sa.Column("created_at", UtcDateTime, nullable=False),
    # pending → sent | failed (after the last attempt, or at once when no retry can help)
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.String(64), nullable=True),
    sa.Index("ix_intake_reporter_notices_due", "status", "next_attempt_at"),
)
