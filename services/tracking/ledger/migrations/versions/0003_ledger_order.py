"""An index in the ledger's own order, so a page walks it and stops after 20 rows.

The ledger lists cases newest first: ``registered_at DESC NULLS LAST, number DESC,
case_id`` (services/tracking/ledger/queries.py ``ORDER``). The index on ``registered_at`` alone
cannot serve that (a backward scan gives NULLS FIRST), so every page sorted all matching
rows: 0.9 s for a frequent filter at 1,000,000 cases, 0.2 ms with this index
(docs/BENCHMARKS.md, the ``--order-index`` experiment).

SQLite sorts NULL first ascending, i.e. last descending, and takes no NULLS clause in an
index: there ``registered_at DESC`` is that order.

Revision ID: t0003
Revises: t0002
"""

from alembic import op
from sqlalchemy import text

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None

NAME = "ix_ledger_order"


def upgrade() -> None:
    nulls = "" if op.get_bind().dialect.name == "sqlite" else " NULLS LAST"
    op.create_index(
        NAME,
        "ledger",
        [text(f"registered_at DESC{nulls}"), text("number DESC"), text("case_id")],
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="ledger")
