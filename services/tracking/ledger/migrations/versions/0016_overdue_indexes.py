"""The overdue cases in the order of the deadline they missed (ADR 33): the monthly circular
lists the longest overdue and counts all of them, at any size of the ledger.

- ``ix_ledger_unsigned_deadline``: cases dispatched and not signed for, by their sign-for
  deadline (the one the ledger shows for them);
- ``ix_ledger_handle_deadline``: cases in handling, by their handling deadline.

A page of the longest overdue walks each index in order and stops; on PostgreSQL each index
also carries (``INCLUDE``) the columns the overdue clause and the circular's period read, so
the count of every overdue case reads the two indexes alone, not the table.

Revision ID: t0016
Revises: t0015
"""

import sqlalchemy as sa
from alembic import op

revision = "t0016"
down_revision = "t0015"
branch_labels = None
depends_on = None

UNSIGNED = "dispatch_status = 'dispatched' AND signed_at IS NULL"  # tables.UNSIGNED
IN_HANDLING = "dispatch_status IN ('dispatched', 'in_progress')"  # tables.IN_HANDLING
INDEXES = [
    (
        "ix_ledger_unsigned_deadline",
        ["sign_deadline", "number"],
        UNSIGNED,
        ["handle_deadline", "registered_at"],
    ),
    (
        "ix_ledger_handle_deadline",
        ["handle_deadline", "number"],
        IN_HANDLING,
        ["dispatch_status", "signed_at", "sign_deadline", "registered_at"],
    ),
]


def upgrade() -> None:
    for name, columns, where, include in INDEXES:
        rows = sa.text(where)
        op.create_index(
            name,
            "ledger",
            columns,
            postgresql_where=rows,
            sqlite_where=rows,
            postgresql_include=include,
        )


def downgrade() -> None:
    for name, *_ in INDEXES:
        op.drop_index(name, table_name="ledger")
