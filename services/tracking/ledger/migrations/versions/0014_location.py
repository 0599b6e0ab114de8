"""Where the problem is, as the tip gave it (issue 20): Open311's ``GET requests`` answers
``lat``/``long`` (rounded). Rows registered before this revision get them on the next rebuild.

Revision ID: t0014
Revises: t0011
"""

import sqlalchemy as sa
from alembic import op

revision = "t0014"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger", sa.Column("lat", sa.Float))
    op.add_column("ledger", sa.Column("lon", sa.Float))


def downgrade() -> None:
    op.drop_column("ledger", "lon")
    op.drop_column("ledger", "lat")
