"""Reading the ledger: who may see which rows (one function), filters, search, pages.

Every query that lists or counts cases applies :func:`visible_to`, so a unit's liaison sees
its own unit's cases in the ledger, the export, the statistics and the search alike.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.tracking.ledger import persons
from services.tracking.ledger.history import in_step_order
from services.tracking.ledger.presentation import HANDLING, Context, person_line
from services.tracking.ledger.rows import Row
from services.tracking.ledger.tables import (
    calendar_years,
    case_history,
    case_persons,
    case_units,
    category_changes,
    ledger,
    units,
)
from shared.contracts.catalogue import Catalogue, Change
from shared.contracts.vocabulary import CaseStatus
from shared.platform.calendar import WorkingCalendar, YearCalendar
from shared.platform.projection import projection_positions
from shared.web.auth import Principal, Role
from shared.web.authz import STAFF

TRIGRAM = 3  # shorter queries have no trigram to look up: they scan
LISTED = [c for c in ledger.c if c.name not in ("content", "search_text", "receipt_digest")]
EXPORTED = [c for c in ledger.c if c.name not in ("search_text", "receipt_digest")]


def visible_to(principal: Principal, status: str | None = None) -> ColumnElement[bool]:
    """The rows this caller may see (the row scope of ``shared.web.authz``); a liaison's scope
    takes a status filter along into its unit's index (see :func:`in_unit`)."""
    if principal.role in STAFF:
        return sa.true()
    if principal.role == Role.UNIT_LIAISON and principal.unit is not None:
        return in_unit(principal.unit, status)
    if principal.role == Role.OPERATOR:
        return ledger.c.registered_by == principal.id
    if principal.role == Role.EVALUATOR:
        evaluated = (
            sa.exists()
            .where(
                case_history.c.case_id == ledger.c.case_id,
                case_history.c.type == "EvaluationRecorded",
                case_history.c.actor_id == principal.id,
            )
            .correlate(ledger)
        )
        return (ledger.c.status == CaseStatus.AWAITING_EVALUATION.value) | evaluated
    return sa.false()


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL of ``views.is_overdue``."""
    unsigned_late = sa.and_(
        ledger.c.dispatch_status == CaseStatus.DISPATCHED.value,
        ledger.c.signed_at.is_(None),
        ledger.c.sign_deadline < now,
    )
    handling_late = sa.and_(ledger.c.dispatch_status.in_(HANDLING), ledger.c.handle_deadline < now)
    return sa.or_(unsigned_late, handling_late)


@dataclass(frozen=True)
class LedgerFilter:
    status: str | None = None
    unit: str | None = None
    channel: str | None = None
    track: str | None = None
    overdue: bool | None = None
    registered_from: datetime | None = None  # inclusive
    registered_before: datetime | None = None  # exclusive
    q: str | None = None
    categories: tuple[str, ...] | None = None  # a category and those below it (codes)
    district: str | None = None
    person: str | None = None  # part of the name of the person complained about (ADR 43)
    named: bool | None = None  # 实名 (true) or anonymous (false)

    def conditions(
        self, now: datetime, dialect: str, *, status_in_units: bool = False
    ) -> list[ColumnElement[bool]]:
        """``status_in_units``: the status is looked up in ``case_units`` (:func:`in_unit`)
        instead of ``ledger.status`` — by the unit filter here, or by the caller's scope."""
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (ledger.c.status, None if status_in_units else self.status),
            (ledger.c.channel, self.channel),
            (ledger.c.track, self.track),
            (ledger.c.district, self.district),
            (ledger.c.named, self.named),
        ):
            if value is not None:
                found.append(column == value)
        if self.unit is not None:
            found.append(in_unit(self.unit, self.status if status_in_units else None))
        if self.overdue is not None:
            late = overdue_clause(now)
            found.append(late if self.overdue else sa.not_(late))
        if self.registered_from is not None:
            found.append(ledger.c.registered_at >= self.registered_from)
        if self.registered_before is not None:
            found.append(ledger.c.registered_at < self.registered_before)
        if self.categories is not None:
            found.append(ledger.c.category.in_(self.categories))
        if self.person:  # the part looked up in case_persons, joined by ledger_query
            found.append(persons.matching(self.person))
        if self.q and CASE_NUMBER.match(self.q.strip()):
            found.append(ledger.c.number == self.q.strip())  # a case number finds its case
        elif self.q:
            found.append(matches(self.q, dialect))
        return found


CASE_NUMBER = re.compile(r"^\d{4}-\d{6}$")


def in_unit(unit: str, status: str | None = None) -> ColumnElement[bool]:
    """Cases the unit leads or assists (an alias of its own, so that queries already
    joining ``case_units`` still correlate on the ledger row only).

    With a ``status`` (the ledger filter's), the status is looked up in ``case_units`` too,
    which keeps each case's shown status (migration t0004): ``ix_case_units_unit_status``
    (the current units only, ending with ``case_id``) then yields the unit's cases in that
    status only, from the index alone, instead of every case of the unit to be probed in
    the ledger."""
    units_of_case = case_units.alias("units_of_case")
    where = [
        units_of_case.c.case_id == ledger.c.case_id,
        units_of_case.c.unit == unit,
        units_of_case.c.lead | units_of_case.c.co,
    ]
    if status is not None:
        where.append(units_of_case.c.status == status)
    return sa.exists().where(*where).correlate(ledger)


def matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Substring search in summary and content (see migration t0002 for the indexes)."""
    if dialect == "sqlite" and len(q) >= TRIGRAM:
        phrase = '"' + q.replace('"', '""') + '"'
        fts = sa.text("SELECT rowid FROM ledger_fts WHERE ledger_fts MATCH :phrase")
        found = fts.bindparams(phrase=phrase).columns(sa.column("rowid", sa.Integer))
        return sa.literal_column("ledger.rowid").in_(found)
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return ledger.c.search_text.ilike(pattern, escape="\\")


ORDER = (ledger.c.registered_at.desc().nulls_last(), ledger.c.number.desc(), ledger.c.case_id)


def order_of(f: LedgerFilter) -> tuple[Any, ...]:
    """The ledger's order, read from the index that answers the filter: with a ``person``,
    the same order as ``case_persons`` keeps it beside each part (``ix_case_persons_part``),
    so a page walks that index from the term's first case and stops after the page."""
    return persons.ORDER if f.person else ORDER


def ledger_query(
    principal: Principal,
    f: LedgerFilter,
    now: datetime,
    dialect: str,
    columns: list[sa.Column[Any]] = LISTED,
    *,
    paged: bool = False,
) -> sa.Select[Any]:
    """The rows ``principal`` may see that match ``f``.

    To find every match (a count, an export), a status with a unit — the unit filter's or
    a liaison's own — is looked up in ``case_units`` alone (:func:`in_unit`): its index
    yields the matches, and the ledger is probed by key only. ``ledger.status`` says the
    same (the projection writes both in one transaction) and would cost a read of each
    ledger row. A ``paged`` query (a page in ``ORDER``) tests ``ledger.status`` instead:
    its fastest plan walks the order index, tests each row's status and probes
    ``case_units`` for the few that pass, and stops after the page; with the status looked
    up in the units the planner joins and sorts every match (24 ms for
    ``status=dispatched&unit=scj`` at 1,000,000 cases where the walk takes 4–8 ms,
    docs/BENCHMARKS.md), and without ``ledger.status`` the walk probes ``case_units`` for
    every row."""
    in_units = (
        not paged and f.status is not None and (f.unit is not None or _unit_scoped(principal))
    )
    scope = visible_to(principal, f.status if in_units else None)
    cases: sa.FromClause = ledger
    if f.person:  # one part per case and term: the join repeats no row (ADR 43)
        cases = case_persons.join(ledger, case_persons.c.case_id == ledger.c.case_id)
    return (
        sa.select(*columns)
        .select_from(cases)
        .where(scope, *f.conditions(now, dialect, status_in_units=in_units))
    )


def counted_query(
    principal: Principal, f: LedgerFilter, now: datetime, dialect: str
) -> sa.Select[Any]:
    """What a capped count of :func:`ledger_query` reads: the same query — or, for the person
    filter alone asked by a caller who sees every case, the term's parts alone (every part
    has its ledger row: the projection writes both in one transaction), so the count reads
    at most its cap's entries of ``ix_case_persons_part`` and no ledger row (ADR 43)."""
    if f.person and principal.role in STAFF and f == LedgerFilter(person=f.person):
        return sa.select(case_persons.c.case_id).where(persons.matching(f.person))
    return ledger_query(principal, f, now, dialect)


def _unit_scoped(principal: Principal) -> bool:
    """Whether :func:`visible_to` limits the caller to a unit's cases."""
    return principal.role == Role.UNIT_LIAISON and principal.unit is not None


@dataclass(frozen=True)
class Total:
    """How many rows match, counted up to a cap (ADR 13): past it ``count`` is the cap and
    ``exact`` is false ("1000+"), so a page costs the same at any size of the ledger."""

    count: int
    exact: bool


def capped_count(query: sa.Select[Any], cap: int) -> sa.Select[Any]:
    """``SELECT count(*) FROM (SELECT 1 … LIMIT cap + 1)``: the database stops reading at the
    first match past the cap."""
    # maintain_column_froms: a query without a WHERE would otherwise lose its FROM
    found: sa.Select[Any] = query.with_only_columns(
        sa.literal_column("1"), maintain_column_froms=True
    ).limit(cap + 1)
    return sa.select(sa.func.count()).select_from(found.subquery())


async def ledger_page(
    session: AsyncSession,
    principal: Principal,
    f: LedgerFilter,
    now: datetime,
    *,
    page: int,
    page_size: int,
    count_limit: int,
) -> tuple[list[Row], Total]:
    dialect = _dialect(session)
    every = counted_query(principal, f, now, dialect)
    counted = int((await session.execute(capped_count(every, count_limit))).scalar_one())
    paged = ledger_query(principal, f, now, dialect, paged=True)
    rows = await session.execute(
        paged.order_by(*order_of(f)).limit(page_size).offset((page - 1) * page_size)
    )
    total = Total(min(counted, count_limit), exact=counted <= count_limit)
    return [dict(r._mapping) for r in rows], total


async def ledger_rows(
    session: AsyncSession, principal: Principal, f: LedgerFilter, now: datetime, batch: int = 500
) -> AsyncIterator[list[Row]]:
    """The whole filtered ledger in batches, without holding it in memory."""
    query = ledger_query(principal, f, now, _dialect(session), EXPORTED).order_by(*order_of(f))
    result = await session.stream(query.execution_options(yield_per=batch))
    async for partition in result.partitions(batch):
        yield [dict(r._mapping) for r in partition]


async def case_row(session: AsyncSession, principal: Principal, case_id: UUID) -> Row | None:
    found = await session.execute(
        sa.select(ledger).where(ledger.c.case_id == case_id, visible_to(principal))
    )
    row = found.first()
    return dict(row._mapping) if row is not None else None


async def case_row_by_number(
    session: AsyncSession, principal: Principal, number: str
) -> Row | None:
    found = await session.execute(
        sa.select(ledger).where(ledger.c.number == number, visible_to(principal))
    )
    row = found.first()
    return dict(row._mapping) if row is not None else None


async def receipt_row(session: AsyncSession, digest: str) -> Row | None:
    found = await session.execute(sa.select(ledger).where(ledger.c.receipt_digest == digest))
    row = found.first()
    return dict(row._mapping) if row is not None else None


async def context(session: AsyncSession, now: datetime, timezone: str) -> Context:
    names = (
        await session.execute(sa.select(units.c.code, units.c.name, units.c.responsible_person))
    ).all()
    years = await session.execute(sa.select(calendar_years))
    calendar = WorkingCalendar(
        [
            YearCalendar(
                y.year,
                frozenset(date.fromisoformat(d) for d in y.holidays),
                frozenset(date.fromisoformat(d) for d in y.workdays),
            )
            for y in years
        ],
        timezone=timezone,
    )
    changes = await session.execute(
        sa.select(
            category_changes.c.change,
            category_changes.c.code,
            category_changes.c.name,
            category_changes.c.parent,
        ).order_by(category_changes.c.position)
    )
    return Context(
        now=now,
        unit_names={code: name for code, name, _ in names},
        unit_heads={code: head for code, _, person in names if (head := person_line(person))},
        calendar=calendar,
        categories=Catalogue.seeded(Change(*c) for c in changes),
    )


async def history(
    session: AsyncSession, case_id: UUID, until: datetime | None = None
) -> Sequence[sa.Row[Any]]:
    """The case's events in the order its steps happened (:func:`in_step_order`)."""
    query = sa.select(case_history).where(case_history.c.case_id == case_id)
    return in_step_order((await session.execute(query)).all(), until)


async def positions(session: AsyncSession, consumer: str) -> dict[str, int]:
    found = await session.execute(
        sa.select(projection_positions.c.source, projection_positions.c.position).where(
            projection_positions.c.consumer == consumer
        )
    )
    return {source: int(position) for source, position in found}


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
