"""Replies to reporters' texts (ADR 49): the texted phones as keyed digests with their tips,
and the replies the SMS gateway delivered (outcome only: no phone, no text).

Revision ID: i0002
Revises: i0001
"""

import sqlalchemy as sa
from alembic import op

revision = "i0002"
down_revision = "i0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_reporter_phones",
        sa.Column("phone_digest", sa.String(100), primary_key=True),
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_intake_reporter_phones_registered_at", "intake_reporter_phones", ["registered_at"]
    )
    op.create_table(
        "intake_sms_replies",
        sa.Column("message_digest", sa.String(100), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("intake_sms_replies")
    op.drop_table("intake_reporter_phones")
