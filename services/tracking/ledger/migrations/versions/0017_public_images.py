"""The images the office approved for the public portal (issue 21 point 4): shown with a
case's published result, ``[{n, digest, media_type}]``. Approvals are new events, so no row
needs a rebuild.

Revision ID: t0017
Revises: t0016
"""

import sqlalchemy as sa
from alembic import op

revision = "t0017"
down_revision = "t0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger", sa.Column("public_images", sa.JSON(none_as_null=True)))


def downgrade() -> None:
    op.drop_column("ledger", "public_images")
