"""问责程序 opened by a unit's assessment (issues 18/19, 004: 连续两年考核列小组末位): one row
per unit and year, beside the cases' procedures on the ledger rows. Empty on upgrade: the
procedures of triggers recorded before are opened by ``taizhang accountability backfill``.

Revision ID: t0016
Revises: t0015
"""

import sqlalchemy as sa
from alembic import op

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_procedures",
        sa.Column("procedure_id", sa.Uuid, primary_key=True),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("assessment_group", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decisions", sa.JSON, nullable=False),
        sa.Column("no_accountability", sa.JSON(none_as_null=True)),
    )
    op.create_index("ix_unit_procedures_unit", "unit_procedures", ["unit"])


def downgrade() -> None:
    op.drop_table("unit_procedures")
