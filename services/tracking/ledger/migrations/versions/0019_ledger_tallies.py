"""The KPIs' counters per registration day (ADR 33): statistics for a period read its days,
not its cases.

- ``ledger.evaluations_by_kind`` and ``ledger.overruled_by_unit``: what the KPIs split by
  evaluator and by unit, per case, filled from the audit trail (``case_history``) for the
  cases already there (none: what the KPIs read as none); the projection keeps them from now
  on (``rows.apply``);
- ``ledger_tallies``: the counters, counted from the ledger as it stands
  (``tallies.recount``); the projection keeps them in the transaction of the ledger rows;
- ``ix_ledger_in_handling``: the cases in handling by registration, with (PostgreSQL) the
  columns of the deadlines the KPIs count as missed at the moment they are read.

The recount reads the ledger through today's table definitions (``tallies.READ``): a later
migration that changes one of those columns must come after this one's recount (it does,
being later) and must not rename or drop them without recounting.

Revision ID: t0019
Revises: t0018
"""

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.tracking.ledger import tallies
from services.tracking.ledger.tables import TALLY_COUNTS

revision = "t0019"
down_revision = "t0018"
branch_labels = None
depends_on = None

IN_HANDLING = "dispatch_status IN ('dispatched', 'in_progress')"  # tables.IN_HANDLING
SATISFIED = ("satisfied", "basically_satisfied")
HANDLING_COLUMNS = [
    "lead_unit",
    "channel",
    "category",
    "status",
    "dispatch_status",
    "signed_at",
    "sign_deadline",
    "handle_deadline",
    "result_submitted_at",
]


def upgrade() -> None:
    op.add_column("ledger", sa.Column("evaluations_by_kind", sa.JSON(none_as_null=True)))
    op.add_column("ledger", sa.Column("overruled_by_unit", sa.JSON(none_as_null=True)))
    _backfill(op.get_bind())
    op.create_table(
        "ledger_tallies",
        sa.Column("dim", sa.String(16), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        *(sa.Column(n, sa.BigInteger, nullable=False, server_default="0") for n in TALLY_COUNTS),
    )
    rows = sa.text(IN_HANDLING)
    op.create_index(
        "ix_ledger_in_handling",
        "ledger",
        ["registered_at"],
        postgresql_where=rows,
        sqlite_where=rows,
        postgresql_include=HANDLING_COLUMNS,
    )
    tallies.recount(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Each case's evaluations by kind and overruled returns by unit, from its history."""
    history = sa.table(
        "case_history",
        sa.column("id"),
        sa.column("case_id", sa.Uuid),
        sa.column("type"),
        sa.column("data", sa.JSON),
    )
    found = conn.execute(
        sa.select(history.c.case_id, history.c.type, history.c.data)
        .where(history.c.type.in_(["EvaluationRecorded", "ReturnOverruled"]))
        .order_by(history.c.id)
    )
    by_kind: dict[Any, dict[str, list[int]]] = defaultdict(dict)
    overruled: dict[Any, dict[str, int]] = defaultdict(dict)
    for case_id, kind, data in found:
        if kind == "EvaluationRecorded":
            who = "complainant" if data.get("evaluator_kind") == "complainant" else "third_party"
            satisfied, total = by_kind[case_id].get(who, [0, 0])
            by_kind[case_id][who] = [satisfied + (data.get("rating") in SATISFIED), total + 1]
        else:
            unit = data.get("unit")
            overruled[case_id][unit] = overruled[case_id].get(unit, 0) + 1
    ledger = sa.table(
        "ledger",
        sa.column("case_id", sa.Uuid),
        sa.column("evaluations_by_kind", sa.JSON),
        sa.column("overruled_by_unit", sa.JSON),
    )
    for case_id in {*by_kind, *overruled}:
        conn.execute(
            ledger.update()
            .where(ledger.c.case_id == case_id)
            .values(
                evaluations_by_kind=by_kind.get(case_id, {}),
                overruled_by_unit=overruled.get(case_id, {}),
            )
        )


def downgrade() -> None:
    op.drop_index("ix_ledger_in_handling", table_name="ledger")
    op.drop_table("ledger_tallies")
    op.drop_column("ledger", "overruled_by_unit")
    op.drop_column("ledger", "evaluations_by_kind")
