"""The unit's responsible person (单位负责人, issue 22 point 5): the Excel ledger prints it beside
the lead unit. Rows already there keep none (no event before this release named one); the
next registration or change of a unit fills it.

Revision ID: t0015
Revises: t0014
"""

import sqlalchemy as sa
from alembic import op

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("units", sa.Column("responsible_person", sa.JSON(none_as_null=True)))


def downgrade() -> None:
    op.drop_column("units", "responsible_person")
