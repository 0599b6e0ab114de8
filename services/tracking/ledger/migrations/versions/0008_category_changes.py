"""The office's changes to the category catalogue (issue 22, ADR 25): the seed is static data
shipped with the code; the ledger keeps only the changes, to name categories and filter by them.

Revision ID: t0008
Revises: t0007
"""

import sqlalchemy as sa
from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_changes",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("parent", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("category_changes")
