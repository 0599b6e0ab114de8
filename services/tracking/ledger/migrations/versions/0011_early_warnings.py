"""The 苗头预警 insight raised (issue 25, ADR 32), kept for the monthly circular.

Revision ID: t0011
Revises: t0009
"""

import sqlalchemy as sa
from alembic import op

revision = "t0011"
down_revision = "t0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_warnings",
        sa.Column("warning_id", sa.Uuid, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("category_label", sa.String(200), nullable=False),
        sa.Column("places", sa.String(500), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("case_numbers", sa.JSON, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_early_warnings_day", "early_warnings", ["day"])


def downgrade() -> None:
    op.drop_table("early_warnings")
