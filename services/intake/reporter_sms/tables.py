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

# The phones intake has texted, each as a keyed digest (ADR 49: never the number, never an
# unkeyed digest of it), with the tip it was texted about — so that a reply 「TD」 finds the
# tips whose consent it withdraws. Written before a text goes; removed when the reporter
# withdraws and when the tip's identity key is shredded (by ``registered_at``).
phones = sa.Table(
    "intake_reporter_phones",
    metadata,
    sa.Column("phone_digest", sa.String(100), primary_key=True),  # fp1:<kid>:<HMAC>
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("registered_at", UtcDateTime, nullable=False, index=True),
)

# One row per reply the SMS gateway delivered (its retries find it: one outcome per message),
# by a keyed digest of the gateway's message id; no phone, no text.
replies = sa.Table(
    "intake_sms_replies",
    metadata,
    sa.Column("message_digest", sa.String(100), primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False),  # the gateway's time
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    # withdrawn (consent withdrawn on a tip or more), unmatched (an opt-out from a phone
    # with nothing to withdraw), ignored (not an opt-out: counted, never kept)
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("tips", sa.Integer, nullable=False),  # how many tips it withdrew consent on
)
