"""The notify service's tables: the directory of persons, the cases it names, the messages.

Revision ID: n0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "n0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_persons",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True, index=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("robot_url", sa.String(500), nullable=True),
        sa.Column("email_enabled", sa.Boolean, nullable=False),
        sa.Column("robot_enabled", sa.Boolean, nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notify_cases",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("lead_unit", sa.String(32), nullable=True),
        sa.Column("co_units", sa.JSON, nullable=False),
    )
    op.create_table(
        "notify_messages",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=True, index=True),
        sa.Column("case_number", sa.String(20), nullable=True),
        sa.Column("person_id", sa.String(128), nullable=False, index=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(64), nullable=True),
    )
    op.create_index("ix_notify_messages_due", "notify_messages", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("notify_messages")
    op.drop_table("notify_cases")
    op.drop_table("notify_persons")
