"""Dispatch's desk (cases by status) and the deadline schedule the reminders run on.

Revision ID: d0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "d0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_cases",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("pass_no", sa.Integer, nullable=False),
        sa.Column("track", sa.String(32), nullable=True),
        sa.Column("lead_unit", sa.String(32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dispatch_deadlines",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provisional", sa.Boolean, nullable=False),
        sa.Column("running", sa.Boolean, nullable=False),
        sa.Column("approaching_announced", sa.Boolean, nullable=False),
        sa.Column("missed_announced", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispatch_deadlines")
    op.drop_table("dispatch_cases")
