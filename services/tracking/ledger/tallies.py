"""Counters of the KPIs per registration day, kept by the ledger projection (ADR 33).

A case counts in one row per dimension — ``all``, ``unit`` (its lead unit, and every unit it
was dispatched to for the returns), ``channel``, ``category`` and ``status`` — of the UTC day
it was registered, and, while it runs a deadline, in the ``due`` row of the UTC day it falls
overdue (the circular counts every overdue case from these): what
:mod:`services.tracking.ledger.reports.kpis` would count for it, except the figures that
depend on the moment they are read (past a deadline now). When a batch moves a case, its old
contribution is taken off and its new one added (:func:`delta`), in the transaction that
writes the ledger rows, so the counters always equal a count from scratch (:func:`recount`):
statistics for a period read the period's days (a few rows each) instead of its cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.tracking.ledger.presentation import HANDLING
from services.tracking.ledger.tables import TALLY_COUNTS, ledger, ledger_tallies
from shared.contracts.vocabulary import CaseStatus, Rating

Key = tuple[str, date, str]  # (dimension, registration day, group)
Counts = dict[str, int]
SATISFIED = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})
GROUPED = ("all", "channel", "category")  # a group from the ledger row itself
# the columns a contribution reads (a recount reads no more)
READ = (
    "registered_at",
    "dispatch_status",
    "sign_deadline",
    "handle_deadline",
    "status",
    "lead_unit",
    "channel",
    "category",
    "signed_at",
    "signed_on_time",
    "result_submitted_at",
    "result_on_time",
    "evaluations_total",
    "evaluations_satisfied",
    "evaluations_by_kind",
    "pass_no",
    "extensions_granted",
    "closed_out_at",
    "co_units",
    "dispatches_by_unit",
    "returns_by_unit",
    "overruled_by_unit",
)


def contribution(row: Mapping[str, Any]) -> dict[Key, Counts]:
    """What one ledger row adds to the counters (nothing before it is registered)."""
    at = row.get("registered_at")
    if at is None:
        return {}
    day = at.astimezone(UTC).date()
    out: dict[Key, Counts] = defaultdict(dict)

    def add(dim: str, key: str, counts: Mapping[str, int]) -> None:
        into = out[(dim, day, key)]
        for name, n in counts.items():
            if n:
                into[name] = into.get(name, 0) + n

    add("status", row["status"], {"cases": 1})
    due = due_at(row)
    if due is not None:  # keyed by the day it falls overdue, not by registration
        out[("due", due.astimezone(UTC).date(), "")]["cases"] = 1
    groups = {
        "all": "all",
        "channel": row.get("channel") or "",
        "category": row.get("category") or "",
    }
    lead = row.get("lead_unit")
    led = {**groups, "unit": lead} if lead else groups
    if row["status"] == CaseStatus.MERGED:
        for dim, key in led.items():
            add(dim, key, {"merged": 1})
        return _nonzero(out)
    for dim, key in led.items():
        add(dim, key, _measures(row))
    dispatches = row.get("dispatches_by_unit") or {}
    returns = row.get("returns_by_unit") or {}
    overruled = row.get("overruled_by_unit") or {}
    units = {*(row.get("co_units") or []), *dispatches, *returns, *([lead] if lead else [])}
    for unit in units:  # the case's rows in case_units (projection.case_unit_entries)
        add("unit", unit, {"unit_rows": 1, "dispatches": dispatches.get(unit, 0)})
        add("unit", unit, {"returns": returns.get(unit, 0)})
    for unit, n in overruled.items():
        add("unit", unit, {"overruled_returns": n})
    whole = {
        "unit_rows": len(units),
        "dispatches": sum(dispatches.values()),
        "returns": sum(returns.values()),
        "overruled_returns": sum(overruled.values()),
    }
    for dim in GROUPED:
        add(dim, groups[dim], whole)
    return _nonzero(out)


def due_at(row: Mapping[str, Any]) -> datetime | None:
    """The moment the case falls overdue (``queries.overdue_clause``): the earlier of its
    sign-for deadline while it waits unsigned and its handling deadline while in handling."""
    status = row.get("dispatch_status")
    found = []
    if status == CaseStatus.DISPATCHED and row.get("signed_at") is None:
        found.append(row.get("sign_deadline"))
    if status in HANDLING:
        found.append(row.get("handle_deadline"))
    deadlines = [d for d in found if d is not None]
    return min(deadlines) if deadlines else None


def _measures(row: Mapping[str, Any]) -> Counts:
    by_kind = row.get("evaluations_by_kind") or {}
    complainant = by_kind.get("complainant") or (0, 0)
    third_party = by_kind.get("third_party") or (0, 0)
    evaluations = row.get("evaluations_total") or 0
    return {
        "cases": 1,
        "signed": int(row.get("signed_at") is not None),
        "signed_on_time": int(row.get("signed_on_time") is True),
        "completed": int(row.get("result_submitted_at") is not None),
        "completed_on_time": int(row.get("result_on_time") is True),
        "evaluations": evaluations,
        "satisfied": row.get("evaluations_satisfied") or 0,
        "evaluated_cases": int(evaluations > 0),
        "second_pass": int((row.get("pass_no") or 1) > 1),
        "extensions": row.get("extensions_granted") or 0,
        "closed_out": int(row.get("closed_out_at") is not None),
        "complainant_satisfied": complainant[0],
        "complainant_evaluations": complainant[1],
        "third_party_satisfied": third_party[0],
        "third_party_evaluations": third_party[1],
    }


def _nonzero(found: Mapping[Key, Counts]) -> dict[Key, Counts]:
    return {k: v for k, v in found.items() if v}


def delta(
    changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
) -> dict[Key, Counts]:
    """The counters' change for rows moved from ``before`` (None: new) to ``after``."""
    total: dict[Key, Counts] = defaultdict(dict)
    for before, after in changes:
        for sign, row in ((-1, before), (1, after)):
            if row is None:
                continue
            for key, counts in contribution(row).items():
                into = total[key]
                for name, n in counts.items():
                    into[name] = into.get(name, 0) + sign * n
    return {k: c for k, c in total.items() if any(c.values())}


def totals(found: Iterable[Mapping[str, Any]]) -> dict[Key, Counts]:
    """The counters of these ledger rows, from scratch."""
    total: dict[Key, Counts] = defaultdict(dict)
    for row in found:
        for key, counts in contribution(row).items():
            into = total[key]
            for name, n in counts.items():
                into[name] = into.get(name, 0) + n
    return total


def upsert(dialect: str, change: Mapping[Key, Counts]) -> tuple[Any, list[dict[str, Any]]]:
    """(statement, parameters) adding ``change`` to the counters, in key order (two batches
    touching the same days take their row locks in the same order)."""
    values = [
        {"dim": dim, "day": day, "key": key} | {n: counts.get(n, 0) for n in TALLY_COUNTS}
        for (dim, day, key), counts in sorted(change.items())
    ]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ledger_tallies)
    statement = statement.on_conflict_do_update(
        index_elements=["dim", "day", "key"],
        set_={n: ledger_tallies.c[n] + statement.excluded[n] for n in TALLY_COUNTS},
    )
    return statement, values


async def add(session: AsyncSession | AsyncConnection, change: Mapping[Key, Counts]) -> None:
    """Add ``change`` to the counters, in one statement."""
    if change:
        dialect = (session.get_bind() if isinstance(session, AsyncSession) else session).dialect
        await session.execute(*upsert(dialect.name, change))


def recount(conn: Connection, chunk: int = 20_000) -> int:
    """The counters from scratch, from the ledger as it stands (a migration, a generated
    ledger): the table emptied and filled again. Returns the rows written."""
    conn.execute(ledger_tallies.delete())
    total: dict[Key, Counts] = defaultdict(dict)
    read = sa.select(*(ledger.c[name] for name in READ))
    found = conn.execute(read, execution_options={"stream_results": True, "yield_per": chunk})
    for part in found.mappings().partitions():
        for key, counts in totals(dict(row) for row in part).items():
            into = total[key]
            for name, n in counts.items():
                into[name] = into.get(name, 0) + n
    ordered = sorted(total.items())
    for start in range(0, len(ordered), chunk):
        conn.execute(*upsert(conn.dialect.name, dict(ordered[start : start + chunk])))
    return len(ordered)
