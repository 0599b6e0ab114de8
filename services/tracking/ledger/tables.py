"""The tracking service's read tables (SQLAlchemy 2); Alembic migrations create them.

``ledger``        one row per case (台账), built by ``services.tracking.ledger.rows``
``case_units``    the units a case is or was dispatched to (scope, unit filter, return rate),
                  each with the case's shown status (the unit-and-status filter)
``case_persons``  the parts of the name of the person each case complains about (ADR 43)
``case_history``  every integration event, for the audit trail and time travel
``units``         the directory's unit names (and each unit's responsible person)
``calendar_years`` years of the official calendar loaded by the office
``ledger_tallies`` what the KPIs count, per registration day and group (ADR 33)
``early_warnings`` the 苗头预警 insight raised, for the monthly circular (ADR 32)
``unit_procedures`` the 问责程序 a unit's assessment opened (004), one row per unit and year:
                  its stage and decisions, as the 问责清单 shows them beside the cases'
``read_audit``    who read protected data: case views, histories, searches, exports (ADR 26);
                  not derived from events, so a rebuild keeps it (not in ``READ_TABLES``)
On SQLite, ``ledger_fts`` (FTS5, trigram) mirrors ``ledger.search_text`` by triggers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # Alembic: these tables' history

metadata = sa.MetaData()


class Moment(sa.TypeDecorator[datetime]):
    """A timezone-aware moment on both databases: SQLite keeps no offset, so it is stored in
    UTC and read back as UTC (PostgreSQL's timestamptz does this itself)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a moment must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


# A Python None is SQL NULL, not JSON 'null': the projection writes whole rows, None included.
Json = sa.JSON(none_as_null=True)
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only

# the rows of the two deadline indexes (t0018); queries.overdue_clause reads them
UNSIGNED = "dispatch_status = 'dispatched' AND signed_at IS NULL"
IN_HANDLING = "dispatch_status IN ('dispatched', 'in_progress')"
PUBLISHED = "typical_case IS NOT NULL"
NOTABLE = "(pass_no > 1 OR escalated OR CAST(accountability AS TEXT) != '[]')"

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    # registration (intake)
    sa.Column("number", sa.String(20), index=True),
    sa.Column("channel", sa.String(40), index=True),
    sa.Column("tip_category", sa.String(64)),
    sa.Column("summary", sa.String(200)),
    sa.Column("content", sa.Text),
    sa.Column("search_text", sa.Text),
    sa.Column("district", sa.String(64)),
    sa.Column("lat", sa.Float),  # where the problem is, as the tip gave it (Open311 shows it)
    sa.Column("lon", sa.Float),
    sa.Column("subject", Json),
    sa.Column("named", sa.Boolean),
    sa.Column("receipt_digest", sa.String(64), index=True),
    sa.Column("registered_at", Moment(), index=True),
    sa.Column("registered_by", sa.String(200), index=True),
    # handling (dispatch)
    sa.Column("track", sa.String(32)),  # ix_ledger_track_status
    sa.Column("triaged_category", sa.String(64)),
    sa.Column("category", sa.String(64)),
    sa.Column("lead_unit", sa.String(64), index=True),
    sa.Column("co_units", Json),
    sa.Column("dispatched_at", Moment()),
    sa.Column("sign_deadline", Moment()),
    sa.Column("sign_deadline_provisional", sa.Boolean),
    sa.Column("handle_deadline", Moment()),
    sa.Column("handle_deadline_provisional", sa.Boolean),
    sa.Column("signed_at", Moment()),
    sa.Column("signed_on_time", sa.Boolean),
    sa.Column("extensions_requested", sa.Integer, nullable=False),
    sa.Column("extensions_granted", sa.Integer, nullable=False),
    sa.Column("returns", sa.Integer, nullable=False),
    sa.Column("returns_by_unit", Json),
    sa.Column("dispatches_by_unit", Json),
    sa.Column("result_submitted_at", Moment()),
    sa.Column("result_on_time", sa.Boolean),
    sa.Column("result_findings", sa.Text),
    sa.Column("result_rectification", sa.Text),
    sa.Column("result_accepted_at", Moment()),
    sa.Column("repeats", sa.Integer, nullable=False),
    sa.Column("merged_into", sa.String(20)),
    sa.Column("not_accepted_reason", sa.Text),
    sa.Column("flagged_for_accountability", sa.Boolean, nullable=False),
    sa.Column("reminders", sa.Integer, nullable=False),
    sa.Column("supervision_notices", sa.Integer, nullable=False),
    # after the result (tracking)
    sa.Column("required_feedback", Json),
    sa.Column("delivered_feedback", Json),
    sa.Column("feedback", Json),
    sa.Column("published_at", Moment(), index=True),
    sa.Column("evaluations_total", sa.Integer, nullable=False),
    sa.Column("evaluations_satisfied", sa.Integer, nullable=False),
    sa.Column("latest_evaluation", Json),
    # per case, what the KPIs split (t0019): {"complainant"|"third_party": [satisfied, total]}
    # and {unit: returns the office overruled}
    sa.Column("evaluations_by_kind", Json),
    sa.Column("overruled_by_unit", Json),
    sa.Column("escalated", sa.Boolean, nullable=False),
    sa.Column("accountability", Json),
    sa.Column("accountability_procedure", Json),  # its stage, triggers, report back (ADR 19)
    sa.Column("typical_case", Json),  # 典型案例/标杆案例 as published, redacted (ADR 19)
    # Images the office approved for the portal ({n, digest, media_type}; shown once published)
    sa.Column("public_images", Json),
    sa.Column("closed_out_at", Moment()),
    # each producer's view of the status (ADR 5) and the status shown
    sa.Column("dispatch_status", sa.String(32)),
    sa.Column("dispatch_pass", sa.Integer),
    sa.Column("tracking_status", sa.String(32)),
    sa.Column("tracking_pass", sa.Integer),
    sa.Column("status", sa.String(32), nullable=False),  # ix_ledger_status_channel
    sa.Column("pass_no", sa.Integer, nullable=False),
    sa.Column("updated_at", Moment(), nullable=False),
    # the frequent pairs of filters, so a capped count reads its matches only (migration t0004)
    sa.Index("ix_ledger_status_channel", "status", "channel"),
    sa.Index("ix_ledger_track_status", "track", "status"),
    # the overdue cases in the order of the deadline they missed, counted from the indexes
    # alone on PostgreSQL (t0018, ADR 33): unsigned ones by the sign-for deadline, the rest
    # of the cases in handling by the handling deadline
    sa.Index(
        "ix_ledger_unsigned_deadline",
        "sign_deadline",
        "number",
        postgresql_where=sa.text(UNSIGNED),
        sqlite_where=sa.text(UNSIGNED),
        postgresql_include=["handle_deadline", "registered_at"],
    ),
    # the cases published as typical, and the notable ones by registration, for the
    # circular (t0018, ADR 33)
    sa.Index(
        "ix_ledger_typical",
        "number",
        postgresql_where=sa.text(PUBLISHED),
        sqlite_where=sa.text(PUBLISHED),
    ),
    sa.Index(
        "ix_ledger_notable",
        "registered_at",
        postgresql_where=sa.text(NOTABLE),
        sqlite_where=sa.text(NOTABLE),
    ),
    # the cases in handling by registration: the deadlines missed by now (t0019, ADR 33)
    sa.Index(
        "ix_ledger_in_handling",
        "registered_at",
        postgresql_where=sa.text(IN_HANDLING),
        sqlite_where=sa.text(IN_HANDLING),
        postgresql_include=[
            "lead_unit",
            "channel",
            "category",
            "status",
            "dispatch_status",
            "signed_at",
            "sign_deadline",
            "handle_deadline",
            "result_submitted_at",
        ],
    ),
    sa.Index(
        "ix_ledger_handle_deadline",
        "handle_deadline",
        "number",
        postgresql_where=sa.text(IN_HANDLING),
        sqlite_where=sa.text(IN_HANDLING),
        postgresql_include=["dispatch_status", "signed_at", "sign_deadline", "registered_at"],
    ),
)

case_units = sa.Table(
    "case_units",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("unit", sa.String(64), primary_key=True),
    sa.Column("lead", sa.Boolean, nullable=False),  # the current lead unit
    sa.Column("co", sa.Boolean, nullable=False),  # a current co-unit
    sa.Column("dispatches", sa.Integer, nullable=False),  # times dispatched to it as lead
    sa.Column("returns", sa.Integer, nullable=False),  # times it returned the case
    sa.Column("status", sa.String(32), nullable=False),  # the case's shown status (ledger.status)
    # a unit's cases in a status from one index, read alone by a count (t0004): no index
    # spans ledger and case_units; only current units, as queries.in_unit asks
    sa.Index(
        "ix_case_units_unit_status",
        "unit",
        "status",
        "case_id",
        postgresql_where=sa.text("lead OR co"),
        sqlite_where=sa.text("lead OR co"),
    ),
)

# The people complained about (被反映人, ADR 43; services.tracking.ledger.persons): every
# part of a case's normalised ``subject.person`` up to four characters, with the case's place
# in the ledger's order; ``ix_case_persons_part`` (part, then that order: migration t0020)
# answers the ledger's ``person`` filter a page at a time. Written with the ledger row.
case_persons = sa.Table(
    "case_persons",
    metadata,
    sa.Column("case_id", sa.Uuid, primary_key=True),
    sa.Column("part", sa.String(4), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),  # the whole normalised name, for long terms
    sa.Column("registered_at", Moment()),
    sa.Column("number", sa.String(20)),
)

case_history = sa.Table(
    "case_history",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Uuid, index=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("stream_id", sa.Uuid, nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("occurred_at", Moment(), nullable=False, index=True),
    sa.Column("type", sa.String(64), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("actor_id", sa.String(200), index=True),
    sa.Column("actor_name", sa.String(200)),
    sa.Column("actor_role", sa.String(32)),
    sa.Column("actor_unit", sa.String(64)),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("source", "position", name="uq_case_history_message"),
)

units = sa.Table(
    "units",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("parent", sa.String(64)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("responsible_person", Json),  # 单位负责人 {name, position}
)

calendar_years = sa.Table(
    "calendar_years",
    metadata,
    sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("holidays", sa.JSON, nullable=False),
    sa.Column("workdays", sa.JSON, nullable=False),
)

read_audit = sa.Table(
    "read_audit",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("occurred_at", Moment(), nullable=False, index=True),
    sa.Column("type", sa.String(64), nullable=False, index=True),
    sa.Column("actor_id", sa.String(200), index=True),
    sa.Column("actor_name", sa.String(200)),
    sa.Column("actor_role", sa.String(32)),
    sa.Column("actor_unit", sa.String(64)),
    sa.Column("case_id", sa.Uuid, index=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    # what was asked: the route's filters, a free-text term only keyed (never in clear)
    sa.Column("data", sa.JSON, nullable=False),
)

# The office's changes to the category catalogue (ADR 25), in the order intake made them; the
# seed is static data (shared.contracts.catalogue) and is not stored here.
category_changes = sa.Table(
    "category_changes",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("change", sa.String(16), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("parent", sa.String(64)),
)

# 苗头预警 insight raised (ADR 32), for the monthly circular; one row per warning.
early_warnings = sa.Table(
    "early_warnings",
    metadata,
    sa.Column("warning_id", sa.Uuid, primary_key=True),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("category_label", sa.String(200), nullable=False),
    sa.Column("places", sa.String(500), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("case_numbers", sa.JSON, nullable=False),
    sa.Column("raised_at", Moment(), nullable=False),
)

# 问责程序 opened by a unit's assessment (004: 连续两年考核列小组末位), not by a case; keyed by
# the procedure (the envelopes' stream id). ``decisions`` as the ledger's ``accountability``.
unit_procedures = sa.Table(
    "unit_procedures",
    metadata,
    sa.Column("procedure_id", sa.Uuid, primary_key=True),
    sa.Column("unit", sa.String(64), nullable=False, index=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("assessment_group", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("opened_at", Moment(), nullable=False),
    sa.Column("decided_at", Moment()),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("no_accountability", Json),
)

# What the KPIs count, per registration day (UTC) — and, in the ``due`` rows, the cases per
# day they fall overdue — kept by the ledger projection in the transaction of the ledger rows
# (t0019, ADR 33, services.tracking.ledger.tallies): a period's statistics add up a few rows
# per day instead of reading each case of the period.
TALLY_COUNTS = (
    "cases",
    "merged",
    "signed",
    "signed_on_time",
    "completed",
    "completed_on_time",
    "evaluations",
    "satisfied",
    "evaluated_cases",
    "second_pass",
    "extensions",
    "closed_out",
    "dispatches",
    "returns",
    "overruled_returns",
    "unit_rows",
    "complainant_evaluations",
    "complainant_satisfied",
    "third_party_evaluations",
    "third_party_satisfied",
)
ledger_tallies = sa.Table(
    "ledger_tallies",
    metadata,
    sa.Column("dim", sa.String(16), primary_key=True),  # all|unit|channel|category|status|due
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),  # "" for none
    *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in TALLY_COUNTS),
)

# Rebuilt from events by services.ops.rebuild; read_audit is not (it records reads, no event).
READ_TABLES = (
    ledger,
    case_units,
    case_persons,
    case_history,
    units,
    calendar_years,
    category_changes,
    unit_procedures,
    ledger_tallies,
)
