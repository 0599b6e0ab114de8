"""The read audit (issue 16, ADR 26): who viewed a case or its history, searched or exported
the ledger — with the filters asked, a free-text term only keyed.

Revision ID: t0009
Revises: t0008
"""

import sqlalchemy as sa
from alembic import op

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "read_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor_id", sa.String(200)),
        sa.Column("actor_name", sa.String(200)),
        sa.Column("actor_role", sa.String(32)),
        sa.Column("actor_unit", sa.String(64)),
        sa.Column("case_id", sa.Uuid),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    for column in ("occurred_at", "type", "actor_id", "case_id"):
        op.create_index(f"ix_read_audit_{column}", "read_audit", [column])


def downgrade() -> None:
    op.drop_table("read_audit")
