"""The insight service's table: every tip it has seen, as it scores and counts them.

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
        "insight_tips",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("street", sa.String(100), nullable=True),
        sa.Column("subject_unit", sa.String(200), nullable=True),
        sa.Column("subject_person", sa.String(100), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("closed", sa.Boolean, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("insight_tips")
