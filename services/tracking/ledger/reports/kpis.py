"""Unit and channel KPIs (SPEC §4), aggregated in SQL over the ledger — defined so that a unit
cannot dispute them: a missed deadline counts whether or not the unit ever acted.

The population is the cases registered in the period (all cases without one) that the caller
may see, **without merged duplicates** (counted apart as ``merged``: the original carries the
problem). Per group:

===============================  ==============================  ============================
KPI                              numerator                       denominator
===============================  ==============================  ============================
on_time_sign_rate                signed on time                  signed + still unsigned past
                                                                 the sign-for deadline
on_time_completion_rate          results submitted on time       results submitted + cases
                                 (deadline incl. extensions)     now past the handling
                                                                 deadline without a result
satisfaction_rate                satisfied + basically           evaluations (every kind)
                                 satisfied
complainant_satisfaction_rate    the same, by complainants       complainants' evaluations
third_party_satisfaction_rate    the same, by third parties      third parties' evaluations
                                 (人大代表, 政协委员, 行评代表)
return_rate                      returns the office upheld       dispatches (to the unit)
                                 (returns − overruled returns)
second_pass_rate                 cases that went to a second     cases evaluated
                                 pass
===============================  ==============================  ============================

``overdue`` counts the cases overdue now, ``extensions`` the granted extensions,
``overruled_returns`` the returns the office overruled (back to the same unit: not a justified
return, so not in ``return_rate``). A rate is null when its denominator is zero, and always
within [0, 1] otherwise. :func:`by_status` counts the same population per status.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.tracking.ledger import unit_procedures
from services.tracking.ledger.presentation import HANDLING
from services.tracking.ledger.queries import overdue_clause, visible_to
from services.tracking.ledger.rows import SATISFIED
from services.tracking.ledger.tables import (
    IN_HANDLING,
    TALLY_COUNTS,
    case_history,
    case_units,
    ledger,
    ledger_tallies,
    units,
)
from shared.contracts.vocabulary import CaseStatus, EvaluatorKind
from shared.web.auth import Principal, Role
from shared.web.authz import STAFF

L = ledger.c


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _late_without_result(now: datetime) -> ColumnElement[bool]:
    return sa.and_(
        L.dispatch_status.in_(HANDLING), L.handle_deadline < now, L.result_submitted_at.is_(None)
    )


def _unsigned_past_deadline(now: datetime) -> ColumnElement[bool]:
    return sa.and_(
        L.dispatch_status == CaseStatus.DISPATCHED.value,
        L.signed_at.is_(None),
        L.sign_deadline < now,
    )


def _measures(now: datetime) -> list[Any]:
    late_without_result = _late_without_result(now)
    unsigned_past_deadline = _unsigned_past_deadline(now)
    return [
        sa.func.count().label("cases"),
        _count(L.signed_at.is_not(None)).label("signed"),
        _count(L.signed_on_time.is_(True)).label("signed_on_time"),
        _count(unsigned_past_deadline).label("unsigned_past_deadline"),
        _count(L.result_submitted_at.is_not(None)).label("completed"),
        _count(L.result_on_time.is_(True)).label("completed_on_time"),
        _count(late_without_result).label("late_without_result"),
        sa.func.coalesce(sa.func.sum(L.evaluations_total), 0).label("evaluations"),
        sa.func.coalesce(sa.func.sum(L.evaluations_satisfied), 0).label("satisfied"),
        _count(L.evaluations_total > 0).label("evaluated_cases"),
        _count(L.pass_no > 1).label("second_pass"),
        _count(overdue_clause(now)).label("overdue"),
        sa.func.coalesce(sa.func.sum(L.extensions_granted), 0).label("extensions"),
        _count(L.closed_out_at.is_not(None)).label("closed_out"),
    ]


_NAMES = [
    "cases",
    "signed",
    "signed_on_time",
    "unsigned_past_deadline",
    "completed",
    "completed_on_time",
    "late_without_result",
    "evaluations",
    "satisfied",
    "evaluated_cases",
    "second_pass",
    "overdue",
    "extensions",
    "closed_out",
]


def _population(
    principal: Principal, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    where = [visible_to(principal)]
    if start is not None:
        where.append(L.registered_at >= start)
    if end is not None:
        where.append(L.registered_at < end)
    return where


async def kpis(
    session: AsyncSession,
    principal: Principal,
    by: str,
    now: datetime,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """KPIs grouped ``by`` "unit" (the lead unit), "channel", "category" or "all" (one total).

    A unit that returned cases it no longer leads still gets a row: returns are its own.

    For staff and a bounded period, the whole UTC days inside it are read from the counters
    the projection keeps (:mod:`services.tracking.ledger.tallies`, ADR 33) plus the deadlines
    missed by now, from the period's cases in handling; the hours before the first and after
    the last whole day (the office's midnight is not UTC's) are counted from their cases.
    Otherwise every figure is counted from the cases (:func:`_counted`)."""
    days = _whole_days(start, end) if principal.role in STAFF else None
    if days is None:
        return _finished(await _counted(session, principal, by, now, start, end), by, principal)
    first, last = days
    assert start is not None
    assert end is not None
    raw = await _tallied(session, by, first, last)
    first_at, last_at = _midnight(first), _midnight(last)
    _merge(raw, await _deadlines(session, by, now, first_at, last_at))
    for edge_start, edge_end in ((start, first_at), (last_at, end)):
        if edge_start < edge_end:
            _merge(raw, await _counted(session, principal, by, now, edge_start, edge_end))
    return _finished(raw, by, principal)


Raw = dict[Any, dict[str, int]]


def _whole_days(start: datetime | None, end: datetime | None) -> tuple[date, date] | None:
    """[first, last) of the UTC days wholly inside [start, end), or None for none."""
    if start is None or end is None:
        return None
    first = start.astimezone(UTC).date()
    if _midnight(first) < start:
        first += timedelta(days=1)
    last = end.astimezone(UTC).date()
    return (first, last) if first < last else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _merge(into: Raw, more: Raw) -> None:
    for key, counts in more.items():
        found = into.setdefault(key, {})
        for name, n in counts.items():
            found[name] = found.get(name, 0) + n


def _group_key(by: str) -> ColumnElement[Any]:
    return {
        "unit": L.lead_unit,
        "channel": L.channel,
        "category": L.category,
        "all": sa.literal("all"),
    }[by]


async def _tallied(session: AsyncSession, by: str, first: date, last: date) -> Raw:
    """The counters of the days [first, last), summed per group."""
    t = ledger_tallies.c
    found = await session.execute(
        sa.select(t.key, *(sa.func.sum(t[n]).label(n) for n in TALLY_COUNTS))
        .where(t.dim == by, t.day >= first, t.day < last)
        .group_by(t.key)
    )
    raw: Raw = {}
    for r in found.mappings():
        key = r["key"] or None if by in ("channel", "category") else r["key"]
        raw[key] = {n: int(r[n] or 0) for n in TALLY_COUNTS}
    return raw


async def _deadlines(
    session: AsyncSession, by: str, now: datetime, start: datetime, end: datetime
) -> Raw:
    """The figures that change with the moment they are read — unsigned past the sign-for
    deadline, past the handling deadline without a result, overdue — from the cases of
    [start, end) in handling (the only ones they can count; ``ix_ledger_in_handling``)."""
    key = _group_key(by)
    where: list[Any] = [
        sa.text(IN_HANDLING),  # the index's own words: its rows, whatever the plan's values
        L.registered_at >= start,
        L.registered_at < end,
        L.status != CaseStatus.MERGED.value,
    ]
    if by == "unit":
        where.append(L.lead_unit.is_not(None))
    found = await session.execute(
        sa.select(
            key.label("key"),
            _count(_unsigned_past_deadline(now)).label("unsigned_past_deadline"),
            _count(_late_without_result(now)).label("late_without_result"),
            _count(overdue_clause(now)).label("overdue"),
        )
        .where(*where)
        .group_by(key)
    )
    return {r.key: {k: int(v) for k, v in r._mapping.items() if k != "key"} for r in found}


async def _counted(
    session: AsyncSession,
    principal: Principal,
    by: str,
    now: datetime,
    start: datetime | None,
    end: datetime | None,
) -> Raw:
    """Every figure counted from the cases registered in [start, end) the caller may see."""
    everyone = _population(principal, start, end)
    where = [*everyone, L.status != CaseStatus.MERGED.value]
    key = _group_key(by)
    led = [*where, L.lead_unit.is_not(None)] if by == "unit" else where
    grouped = await session.execute(
        sa.select(key.label("key"), *_measures(now)).where(*led).group_by(key)
    )
    raw: Raw = {r.key: {k: int(v) for k, v in r._mapping.items() if k != "key"} for r in grouped}
    _merge(raw, await _returns(session, by, where))
    _merge(raw, {k: {"merged": n} for k, n in (await _merged(session, key, everyone)).items()})
    for k, split in (await _evaluations_by_kind(session, key, led)).items():
        for who, (satisfied, total) in split.items():
            _merge(raw, {k: {f"{who}_satisfied": satisfied, f"{who}_evaluations": total}})
    return raw


def _finished(raw: Raw, by: str, principal: Principal) -> list[dict[str, Any]]:
    """The groups with cases (or, by unit, with cases dispatched to the unit), with rates."""
    found = []
    for k, m in raw.items():
        if not (m.get("cases") or m.get("unit_rows")):
            continue
        if by == "unit" and principal.role == Role.UNIT_LIAISON and k != principal.unit:
            continue
        measured = {"key": k} | {n: m.get(n, 0) for n in _NAMES}
        returns = (m.get("dispatches", 0), m.get("returns", 0), m.get("overruled_returns", 0))
        by_kind = {
            who: (m.get(f"{who}_satisfied", 0), m.get(f"{who}_evaluations", 0))
            for who in ("complainant", "third_party")
        }
        found.append((k, _with_rates(measured, returns, by_kind) | {"merged": m.get("merged", 0)}))
    return [kpi for _, kpi in sorted(found, key=lambda kk: str(kk[0]))]


async def _merged(
    session: AsyncSession, key: ColumnElement[Any], where: list[ColumnElement[bool]]
) -> dict[Any, int]:
    found = await session.execute(
        sa.select(key.label("key"), sa.func.count())
        .where(*where, L.status == CaseStatus.MERGED.value)
        .group_by(key)
    )
    return {k: int(n) for k, n in found}


async def _evaluations_by_kind(
    session: AsyncSession, key: ColumnElement[Any], where: list[ColumnElement[bool]]
) -> dict[Any, dict[str, tuple[int, int]]]:
    """(satisfied, evaluations) per group, by the complainant and by third parties, from the
    evaluations themselves (the ledger row keeps only their totals)."""
    h = case_history.c
    kind = h.data["evaluator_kind"].as_string()
    rating = h.data["rating"].as_string()
    who = sa.case((kind == EvaluatorKind.COMPLAINANT.value, "complainant"), else_="third_party")
    found = await session.execute(
        sa.select(
            key.label("key"),
            who.label("who"),
            _count(rating.in_([r.value for r in SATISFIED])),
            sa.func.count(),
        )
        .select_from(case_history.join(ledger, h.case_id == L.case_id))
        .where(*where, h.type == "EvaluationRecorded")
        .group_by(key, who)
    )
    split: dict[Any, dict[str, tuple[int, int]]] = {}
    for k, who_, satisfied, total in found:
        split.setdefault(k, {})[who_] = (int(satisfied), int(total))
    return split


async def by_status(
    session: AsyncSession,
    principal: Principal,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, int]:
    """Cases per status, exact: one ``GROUP BY`` over the cases the caller may see (the
    ledger list's ``total`` stops counting at its limit, ADR 13) — for staff, the whole UTC
    days of a bounded period from the counters (ADR 33), the hours around them from the
    cases."""
    days = _whole_days(start, end) if principal.role in STAFF else None
    if days is None:
        return await _statuses(session, principal, start, end)
    assert start is not None
    assert end is not None
    t = ledger_tallies.c
    found = await session.execute(
        sa.select(t.key, sa.func.sum(t.cases))
        .where(t.dim == "status", t.day >= days[0], t.day < days[1])
        .group_by(t.key)
    )
    counts = {status: int(n or 0) for status, n in found}
    first_at, last_at = _midnight(days[0]), _midnight(days[1])
    for edge_start, edge_end in ((start, first_at), (last_at, end)):
        if edge_start < edge_end:
            for status, n in (await _statuses(session, principal, edge_start, edge_end)).items():
                counts[status] = counts.get(status, 0) + n
    return {status: n for status, n in counts.items() if n}


async def _statuses(
    session: AsyncSession, principal: Principal, start: datetime | None, end: datetime | None
) -> dict[str, int]:
    found = await session.execute(
        sa.select(L.status, sa.func.count())
        .where(*_population(principal, start, end))
        .group_by(L.status)
    )
    return {status: int(cases) for status, cases in found}


async def _returns(session: AsyncSession, by: str, where: list[ColumnElement[bool]]) -> Raw:
    """Dispatches, returns and overruled returns per group, and how many ``case_units`` rows
    the group has (``unit_rows``): by unit, those to and by the unit itself."""
    key = {
        "unit": case_units.c.unit,
        "channel": L.channel,
        "category": L.category,
        "all": sa.literal("all"),
    }[by]
    found = await session.execute(
        sa.select(
            key.label("key"),
            sa.func.sum(case_units.c.dispatches),
            sa.func.sum(case_units.c.returns),
            sa.func.count(),
        )
        .select_from(case_units.join(ledger, case_units.c.case_id == L.case_id))
        .where(*where)
        .group_by(key)
    )
    overruled = await _overruled(session, by, where)
    return {
        k: {
            "dispatches": int(d or 0),
            "returns": int(r or 0),
            "overruled_returns": overruled.get(k, 0),
            "unit_rows": int(n),
        }
        for k, d, r, n in found
    }


async def _overruled(
    session: AsyncSession, by: str, where: list[ColumnElement[bool]]
) -> dict[Any, int]:
    h = case_history.c
    key = {
        "unit": h.data["unit"].as_string(),
        "channel": L.channel,
        "category": L.category,
        "all": sa.literal("all"),
    }[by]
    found = await session.execute(
        sa.select(key.label("key"), sa.func.count())
        .select_from(case_history.join(ledger, h.case_id == L.case_id))
        .where(*where, h.type == "ReturnOverruled")
        .group_by(key)
    )
    return {k: int(n) for k, n in found}


def _with_rates(
    m: dict[str, Any],
    dispatches_returns: tuple[int, int, int],
    by_kind: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    m = {k: (int(v) if k != "key" else v) for k, v in m.items()}
    dispatches, returns, overruled = dispatches_returns
    due = m["completed"] + m.pop("late_without_result")
    sign_due = m["signed"] + m["unsigned_past_deadline"]
    m.update(dispatches=dispatches, returns=returns, overruled_returns=overruled, due=due)
    m["sign_due"] = sign_due
    m["on_time_sign_rate"] = rate(m["signed_on_time"], sign_due)
    m["on_time_completion_rate"] = rate(m["completed_on_time"], due)
    m["satisfaction_rate"] = rate(m["satisfied"], m["evaluations"])
    for who in ("complainant", "third_party"):
        satisfied, total = by_kind.get(who, (0, 0))
        m[f"{who}_evaluations"] = total
        m[f"{who}_satisfaction_rate"] = rate(satisfied, total)
    m["return_rate"] = rate(max(0, returns - overruled), dispatches)
    m["second_pass_rate"] = rate(m["second_pass"], m["evaluated_cases"])
    return m


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


async def deadline_counts(session: AsyncSession, now: datetime, end_of_today: datetime) -> Any:
    """(overdue now, handling deadlines falling due before ``end_of_today``) over every case:
    what an operator watches to see the deadline sweep at work."""
    due_today = sa.and_(
        L.dispatch_status.in_(HANDLING), L.handle_deadline >= now, L.handle_deadline < end_of_today
    )
    found = await session.execute(sa.select(_count(overdue_clause(now)), _count(due_today)))
    overdue, due = found.one()
    return int(overdue), int(due)


async def cases_behind(
    session: AsyncSession, now: datetime, start: datetime, end: datetime
) -> dict[str, dict[str, list[str]]]:
    """The case numbers behind each unit's KPIs (same population and clauses as :func:`kpis`),
    so that an assessment can show every figure's cases: per unit, lists named after the
    figures (``signed_on_time``, ``unsigned_past_deadline``, ``completed_on_time``,
    ``late_without_result``, ``satisfied``/``evaluations`` by ``complainant``/``third_party``,
    ``returns``, ``overruled_returns``). A case appears once per event it counts for."""
    where = [
        L.registered_at >= start,
        L.registered_at < end,
        L.status != CaseStatus.MERGED.value,
    ]
    lists: dict[str, dict[str, list[str]]] = {}

    def add(unit: Any, name: str, number: str) -> None:
        lists.setdefault(str(unit), {}).setdefault(name, []).append(number)

    rows = await session.execute(
        sa.select(
            L.lead_unit,
            L.number,
            L.signed_at.is_not(None),
            L.signed_on_time.is_(True),
            _unsigned_past_deadline(now),
            L.result_submitted_at.is_not(None),
            L.result_on_time.is_(True),
            _late_without_result(now),
        )
        .where(*where, L.lead_unit.is_not(None))
        .order_by(L.number)
    )
    for unit, number, signed, on_time, unsigned, done, done_on_time, late in rows:
        for name, holds in (
            ("signed", signed),
            ("signed_on_time", on_time),
            ("unsigned_past_deadline", unsigned),
            ("completed", done),
            ("completed_on_time", done_on_time),
            ("late_without_result", late),
        ):
            if holds:
                add(unit, name, number)
    h = case_history.c
    kind = h.data["evaluator_kind"].as_string()
    rating = h.data["rating"].as_string()
    satisfied = [r.value for r in SATISFIED]
    evaluations = await session.execute(
        sa.select(L.lead_unit, L.number, kind, rating)
        .select_from(case_history.join(ledger, h.case_id == L.case_id))
        .where(*where, L.lead_unit.is_not(None), h.type == "EvaluationRecorded")
        .order_by(L.number, h.id)
    )
    for unit, number, who, given in evaluations:
        side = "complainant" if who == EvaluatorKind.COMPLAINANT.value else "third_party"
        add(unit, f"{side}_evaluations", number)
        if given in satisfied:
            add(unit, f"{side}_satisfied", number)
    returns = await session.execute(
        sa.select(case_units.c.unit, L.number, case_units.c.returns, case_units.c.dispatches)
        .select_from(case_units.join(ledger, case_units.c.case_id == L.case_id))
        .where(*where)
        .order_by(L.number)
    )
    for unit, number, returned, dispatched in returns:
        for _ in range(int(dispatched or 0)):
            add(unit, "dispatches", number)
        for _ in range(int(returned or 0)):
            add(unit, "returns", number)
    overruled = await session.execute(
        sa.select(h.data["unit"].as_string(), L.number)
        .select_from(case_history.join(ledger, h.case_id == L.case_id))
        .where(*where, h.type == "ReturnOverruled")
        .order_by(L.number, h.id)
    )
    for unit, number in overruled:
        add(unit, "overruled_returns", number)
    return lists


async def accountability_against_units(
    session: AsyncSession, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The accountability records (SPEC §6) made in [start, end), each with the unit it
    counts against — the target's own unit where a procedure's finding names one, else the
    unit that led the case — and the case number: what the assessment reads as decisions
    against a unit."""
    rows = await session.execute(
        sa.select(L.lead_unit, L.number, L.accountability)
        .where(L.accountability.is_not(None), L.lead_unit.is_not(None))
        .order_by(L.number)
    )
    found = []
    for unit, number, records in rows:
        for record in records or []:
            at = datetime.fromisoformat(record["at"])
            if start <= at < end:
                found.append({**record, "unit": record.get("unit") or unit, "case_number": number})
    # and those of the procedures units' assessments opened (004), named by their source
    for procedure in await unit_procedures.listed(session):
        label = f"{procedure['year']}年度考核问责"
        for record in procedure["decisions"]:
            if start <= datetime.fromisoformat(record["at"]) < end:
                found.append({**record, "unit": procedure["unit"], "case_number": label})
    return found


async def unit_directory(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(code, name, kind) of every active unit."""
    found = await session.execute(
        sa.select(units.c.code, units.c.name, units.c.kind)
        .where(units.c.active.is_(True))
        .order_by(units.c.code)
    )
    return [(c, n, k) for c, n, k in found]
