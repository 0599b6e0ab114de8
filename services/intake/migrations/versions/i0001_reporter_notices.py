"""Intake's first read-side table: the SMS notices to reporters who agreed to them (ADR 37),
one row per case and step — the record kept before a text is sent, and the delivery log.

Revision ID: i0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "i0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_reporter_notices",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("case_id", sa.Uuid, nullable=False, index=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("pass_no", sa.Integer, nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_intake_reporter_notices_due", "intake_reporter_notices", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("intake_reporter_notices")
