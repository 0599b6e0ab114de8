"""What the monthly circular reads, by index (ADR 33): the overdue cases in the order of the
deadline they missed (it lists the longest overdue and counts all of them), and the published
typical cases.

- ``ix_ledger_unsigned_deadline``: cases dispatched and not signed for, by their sign-for
  deadline (the one the ledger shows for them);
- ``ix_ledger_handle_deadline``: cases in handling, by their handling deadline.

- ``ix_ledger_typical``: the cases the office published as 典型案例/标杆案例 (a few a month),
  which the circular's section 典型案例通报 reads instead of the whole ledger;
- ``ix_ledger_notable``: by registration, the cases with a second pass, escalated or with an
  accountability record — the month's 二次办理与问责 section, instead of the month's cases.

A page of the longest overdue walks each index in order and stops; on PostgreSQL each index
also carries (``INCLUDE``) the columns the overdue clause and the circular's period read, so
the count of every overdue case reads the two indexes alone, not the table.

Revision ID: t0018
Revises: t0017
"""

import sqlalchemy as sa
from alembic import op

revision = "t0018"
down_revision = "t0017"
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


PUBLISHED = "typical_case IS NOT NULL"  # tables.PUBLISHED
NOTABLE = "(pass_no > 1 OR escalated OR CAST(accountability AS TEXT) != '[]')"  # tables.NOTABLE


def upgrade() -> None:
    for name, column, where in (
        ("ix_ledger_typical", "number", PUBLISHED),
        ("ix_ledger_notable", "registered_at", NOTABLE),
    ):
        rows = sa.text(where)
        op.create_index(name, "ledger", [column], postgresql_where=rows, sqlite_where=rows)
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
    op.drop_index("ix_ledger_typical", table_name="ledger")
    op.drop_index("ix_ledger_notable", table_name="ledger")
    for name, *_ in INDEXES:
        op.drop_index(name, table_name="ledger")
