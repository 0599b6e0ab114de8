"""The case's accountability procedure on its ledger row (issue 18, ADR 19): stage, round,
triggers, report-back due and done — for the 问责清单's trigger filter and its checks.

Revision ID: t0007
Revises: t0004
"""

import sqlalchemy as sa
from alembic import op

revision = "t0007"
down_revision = "t0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger", sa.Column("accountability_procedure", sa.JSON(none_as_null=True)))
    op.add_column("ledger", sa.Column("typical_case", sa.JSON(none_as_null=True)))


def downgrade() -> None:
    op.drop_column("ledger", "typical_case")
    op.drop_column("ledger", "accountability_procedure")
