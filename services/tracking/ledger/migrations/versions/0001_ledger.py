"""The tracking read tables: the ledger (台账), its units, the audit trail, the directory's
unit names and the loaded calendar years.

Revision ID: t0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        # registration (intake)
        sa.Column("number", sa.String(20), index=True),
        sa.Column("channel", sa.String(40), index=True),
        sa.Column("tip_category", sa.String(64)),
        sa.Column("summary", sa.String(200)),
        sa.Column("content", sa.Text),
        sa.Column("search_text", sa.Text),
        sa.Column("district", sa.String(64)),
        sa.Column("subject", sa.JSON),
        sa.Column("named", sa.Boolean),
        sa.Column("receipt_digest", sa.String(64), index=True),
        sa.Column("registered_at", Moment, index=True),
        sa.Column("registered_by", sa.String(200), index=True),
        # handling (dispatch)
        sa.Column("track", sa.String(32), index=True),
        sa.Column("triaged_category", sa.String(64)),
        sa.Column("category", sa.String(64)),
        sa.Column("lead_unit", sa.String(64), index=True),
        sa.Column("co_units", sa.JSON),
        sa.Column("dispatched_at", Moment),
        sa.Column("sign_deadline", Moment),
        sa.Column("sign_deadline_provisional", sa.Boolean),
        sa.Column("handle_deadline", Moment),
        sa.Column("handle_deadline_provisional", sa.Boolean),
        sa.Column("signed_at", Moment),
        sa.Column("signed_on_time", sa.Boolean),
        sa.Column("extensions_requested", sa.Integer, nullable=False),
        sa.Column("extensions_granted", sa.Integer, nullable=False),
        sa.Column("returns", sa.Integer, nullable=False),
        sa.Column("returns_by_unit", sa.JSON),
        sa.Column("dispatches_by_unit", sa.JSON),
        sa.Column("result_submitted_at", Moment),
        sa.Column("result_on_time", sa.Boolean),
        sa.Column("result_findings", sa.Text),
        sa.Column("result_rectification", sa.Text),
        sa.Column("result_accepted_at", Moment),
        sa.Column("repeats", sa.Integer, nullable=False),
        sa.Column("merged_into", sa.String(20)),
        sa.Column("not_accepted_reason", sa.Text),
        sa.Column("flagged_for_accountability", sa.Boolean, nullable=False),
        sa.Column("reminders", sa.Integer, nullable=False),
        sa.Column("supervision_notices", sa.Integer, nullable=False),
        # after the result (tracking)
        sa.Column("required_feedback", sa.JSON),
        sa.Column("delivered_feedback", sa.JSON),
        sa.Column("feedback", sa.JSON),
        sa.Column("published_at", Moment, index=True),
        sa.Column("evaluations_total", sa.Integer, nullable=False),
        sa.Column("evaluations_satisfied", sa.Integer, nullable=False),
        sa.Column("latest_evaluation", sa.JSON),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("accountability", sa.JSON),
        sa.Column("closed_out_at", Moment),
        # each producer's view of the status (ADR 5) and the status shown
        sa.Column("dispatch_status", sa.String(32)),
        sa.Column("dispatch_pass", sa.Integer),
        sa.Column("tracking_status", sa.String(32)),
        sa.Column("tracking_pass", sa.Integer),
        sa.Column("status", sa.String(32), nullable=False, index=True),
        sa.Column("pass_no", sa.Integer, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )

    op.create_table(
        "case_units",
        sa.Column("case_id", sa.Uuid, primary_key=True),
        sa.Column("unit", sa.String(64), primary_key=True, index=True),
        sa.Column("lead", sa.Boolean, nullable=False),  # the current lead unit
        sa.Column("co", sa.Boolean, nullable=False),  # a current co-unit
        sa.Column("dispatches", sa.Integer, nullable=False),  # times dispatched to it as lead
        sa.Column("returns", sa.Integer, nullable=False),  # times it returned the case
    )

    op.create_table(
        "case_history",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid, index=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("stream_id", sa.Uuid, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("occurred_at", Moment, nullable=False, index=True),
        sa.Column("type", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("actor_id", sa.String(200), index=True),
        sa.Column("actor_name", sa.String(200)),
        sa.Column("actor_role", sa.String(32)),
        sa.Column("actor_unit", sa.String(64)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("source", "position", name="uq_case_history_message"),
    )

    op.create_table(
        "units",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parent", sa.String(64)),
        sa.Column("active", sa.Boolean, nullable=False),
    )

    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holidays", sa.JSON, nullable=False),
        sa.Column("workdays", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("calendar_years", "units", "case_history", "case_units", "ledger"):
        op.drop_table(table)
