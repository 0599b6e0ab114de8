"""Indexes that answer the ledger's frequent combined filters, so a capped count reads
about its matches instead of 1,001 ÷ selectivity rows (ADR 15; docs/BENCHMARKS.md, "Why
the filtered query still misses").

- ``case_units.status``: the case's shown status beside each of its units, written by the
  ledger projection with the units; ``ix_case_units_unit_status`` then finds a unit's cases
  in a status by one index (no index spans ``ledger`` and ``case_units``). Existing rows
  take ``ledger.status``. The index holds only the units that lead or assist a case (what
  ``queries.in_unit`` asks for) and ends with ``case_id``, so a count can read the index
  alone, without the table.
- ``ix_ledger_status_channel`` and ``ix_ledger_track_status``, for ``status`` with
  ``channel`` and ``track`` with ``status``.

Each new index starts with the column of a single-column index it replaces (a B-tree on
``(a, b)`` answers ``a = …`` as well; units are looked up by code only in ``in_unit``,
which always asks for current units), so the tables keep as many indexes to write as before.

Revision ID: t0004
Revises: t0003
"""

import sqlalchemy as sa
from alembic import op

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None

CURRENT_UNITS = "lead OR co"  # queries.in_unit
# (table, new index, its columns, its rows, the single-column index it replaces)
INDEXES = [
    ("ledger", "ix_ledger_status_channel", ["status", "channel"], None, "ix_ledger_status"),
    ("ledger", "ix_ledger_track_status", ["track", "status"], None, "ix_ledger_track"),
    (
        "case_units",
        "ix_case_units_unit_status",
        ["unit", "status", "case_id"],
        CURRENT_UNITS,
        "ix_case_units_unit",
    ),
]
# A correlated subquery: UPDATE … FROM is not in every SQLite, this is in both databases.
BACKFILL = (
    "UPDATE case_units SET status = "
    "(SELECT ledger.status FROM ledger WHERE ledger.case_id = case_units.case_id)"
)


def upgrade() -> None:
    op.add_column("case_units", sa.Column("status", sa.String(32), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("case_units") as batch:  # SQLite copies the table to alter it
        batch.alter_column("status", existing_type=sa.String(32), nullable=False)
    for table, name, columns, where, replaced in INDEXES:
        rows = None if where is None else sa.text(where)
        op.create_index(name, table, columns, postgresql_where=rows, sqlite_where=rows)
        op.drop_index(replaced, table_name=table)


def downgrade() -> None:
    for table, name, columns, _, replaced in INDEXES:
        op.create_index(replaced, table, columns[:1])
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("case_units") as batch:
        batch.drop_column("status")
