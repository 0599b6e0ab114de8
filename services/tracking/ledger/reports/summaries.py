"""The monthly circular (一月一通报) and the annual summary, as sections of tables that
:mod:`services.tracking.ledger.reports.documents` renders as Markdown, HTML or xlsx."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.tracking.ledger.presentation import (
    Context,
    accountability_summary,
    countdown,
    label,
)
from services.tracking.ledger.queries import overdue_clause, visible_to
from services.tracking.ledger.reports import kpis as stats
from services.tracking.ledger.tables import (
    IN_HANDLING,
    NOTABLE,
    PUBLISHED,
    UNSIGNED,
    ledger,
    ledger_tallies,
)
from services.tracking.ledger.warnings import raised_between
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    MEASURE_LABELS,
    STATUS_LABELS,
    CaseStatus,
    Channel,
    Measure,
)
from shared.web.auth import Principal
from shared.web.authz import STAFF, Action, allowed

L = ledger.c
Column = tuple[str, int]  # header, width in characters


@dataclass
class Section:
    heading: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str | None = None  # a line under the heading, before the table


@dataclass
class Report:
    title: str
    period: str
    generated_at: datetime
    sections: list[Section] = field(default_factory=list)


KPI_COLUMNS: list[Column] = [
    ("问题数", 8),
    ("按期签收率", 11),
    ("按期办结率", 11),
    ("满意率", 9),
    ("退单率", 9),
    ("二次办理率", 11),
    ("超期数", 8),
    ("延期数", 8),
    ("已销号", 8),
]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def kpi_cells(m: dict[str, Any]) -> list[Any]:
    return [
        m["cases"],
        percent(m["on_time_sign_rate"]),
        percent(m["on_time_completion_rate"]),
        percent(m["satisfaction_rate"]),
        percent(m["return_rate"]),
        percent(m["second_pass_rate"]),
        m["overdue"],
        m["extensions"],
        m["closed_out"],
    ]


def month_bounds(year: int, month: int, timezone: str) -> tuple[datetime, datetime]:
    following = date(year + month // 12, month % 12 + 1, 1)
    return _moment(date(year, month, 1), timezone), _moment(following, timezone)


def year_bounds(year: int, timezone: str) -> tuple[datetime, datetime]:
    return _moment(date(year, 1, 1), timezone), _moment(date(year + 1, 1, 1), timezone)


def _moment(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


async def monthly(
    session: AsyncSession, principal: Principal, year: int, month: int, ctx: Context
) -> Report:
    start, end = month_bounds(year, month, ctx.calendar.timezone.key)
    report = Report(f"{year}年{month}月纠风问题办理情况通报", _span(start, end, ctx), ctx.now)
    report.sections = await _kpi_sections(session, principal, start, end, ctx)
    report.sections.append(await _overdue_section(session, principal, end, ctx))
    report.sections.append(await _follow_up_section(session, principal, start, end, ctx))
    report.sections.append(await _typical_section(session, start, end))
    if allowed(principal, Action.READ_WARNINGS):  # they name other units' cases
        report.sections.append(await _warning_section(session, year, month))
    return _numbered(report)


async def _warning_section(session: AsyncSession, year: int, month: int) -> Section:
    """苗头预警 raised in the month (ADR 32): where, how many tips against the baseline."""
    following = date(year + month // 12, month % 12 + 1, 1)
    last = date.fromordinal(following.toordinal() - 1)
    rows = await raised_between(session, date(year, month, 1), last)
    return Section(
        "苗头预警",
        [
            ("预警日期", 11),
            ("问题类别", 12),
            ("地点或对象", 30),
            ("线索数", 8),
            ("基线预期", 9),
            ("涉及案件", 40),
        ],
        [
            [
                r.day.isoformat(),
                r.category_label,
                r.places,
                r.count,
                f"{r.expected:.1f}",
                "、".join(r.case_numbers),
            ]
            for r in rows
        ],
    )


async def annual(session: AsyncSession, principal: Principal, year: int, ctx: Context) -> Report:
    start, end = year_bounds(year, ctx.calendar.timezone.key)
    report = Report(f"{year}年度纠风问题办理情况总结", _span(start, end, ctx), ctx.now)
    report.sections = await _kpi_sections(session, principal, start, end, ctx)
    report.sections.append(await _monthly_section(session, principal, start, end, ctx))
    report.sections.append(await _follow_up_section(session, principal, start, end, ctx))
    report.sections.append(await _overdue_section(session, principal, end, ctx))
    return _numbered(report)


NUMERALS = "一二三四五六七八九十"


def _numbered(report: Report) -> Report:
    for numeral, section in zip(NUMERALS, report.sections, strict=False):
        section.heading = f"{numeral}、{section.heading}"
    return report


async def _kpi_sections(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime, ctx: Context
) -> list[Section]:
    def measured(by: str) -> Any:
        return stats.kpis(session, principal, by, ctx.now, start, end)

    total = await measured("all")
    by_unit = await measured("unit")
    by_channel = await measured("channel")
    return [
        Section("总体情况", [("范围", 10), *KPI_COLUMNS], [["全部", *kpi_cells(m)] for m in total]),
        Section(
            "各责任单位办理情况",
            [("责任单位", 20), *KPI_COLUMNS],
            [[ctx.unit_names.get(m["key"], m["key"]), *kpi_cells(m)] for m in by_unit],
        ),
        Section(
            "各来源渠道情况",
            [("来源渠道", 16), *KPI_COLUMNS],
            [[label(CHANNEL_LABELS, Channel, m["key"]), *kpi_cells(m)] for m in by_channel],
        ),
    ]


OVERDUE_LISTED = 200  # the longest overdue cases a circular lists (ADR 33)
OVERDUE_COLUMNS = (
    L.case_id,
    L.number,
    L.summary,
    L.content,
    L.lead_unit,
    L.track,
    L.status,
    L.dispatch_status,
    L.signed_at,
    L.sign_deadline,
    L.handle_deadline,
)


def _shown_by_sign() -> ColumnElement[bool]:
    """The cases whose missed deadline is the sign-for one (``presentation.countdown``)."""
    return sa.and_(
        L.dispatch_status == CaseStatus.DISPATCHED.value,
        L.signed_at.is_(None),
        L.sign_deadline.is_not(None),
    )


def overdue_statements(
    principal: Principal, end: datetime, now: datetime, limit: int
) -> list[sa.Select[Any]]:
    """(count, page) of each of the two disjoint parts of the cases registered before ``end``
    and overdue ``now``: those waiting unsigned, by the sign-for deadline, and the other
    cases in handling, by the handling deadline — each page in the order of its own index
    (t0018), stopping after ``limit`` rows; on PostgreSQL each count reads its index alone."""
    scope = [visible_to(principal), L.registered_at < end]
    # each part in its index's own words, so the planner knows the index holds its rows
    by_sign = sa.and_(
        sa.text(UNSIGNED),
        L.sign_deadline.is_not(None),
        sa.or_(L.sign_deadline < now, L.handle_deadline < now),
    )
    by_handling = sa.and_(sa.text(IN_HANDLING), L.handle_deadline < now, sa.not_(_shown_by_sign()))
    statements: list[sa.Select[Any]] = []
    for part, deadline in ((by_sign, L.sign_deadline), (by_handling, L.handle_deadline)):
        statements.append(sa.select(sa.func.count()).where(*scope, part))
        statements.append(
            sa.select(*OVERDUE_COLUMNS, deadline.label("missed"))
            .where(*scope, part)
            .order_by(deadline, L.number)
            .limit(limit)
        )
    return statements


async def overdue_cases(
    session: AsyncSession, principal: Principal, end: datetime, now: datetime, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """How many cases registered before ``end`` are overdue ``now``, and the ``limit`` longest
    overdue of them: the earliest missed deadline first, then by number (the two parts'
    pages of :func:`overdue_statements`, merged)."""
    statements = overdue_statements(principal, end, now, limit)
    counts, pages = statements[::2], statements[1::2]
    found = []
    for page in pages:
        found += [dict(r) for r in (await session.execute(page)).mappings()]
    found.sort(key=lambda r: (r["missed"], r["number"] or ""))
    if principal.role in STAFF:
        total = await overdue_count(session, end, now)
    else:
        total = sum([int((await session.execute(c)).scalar_one()) for c in counts])
    return total, found[:limit]


async def overdue_count(session: AsyncSession, end: datetime, now: datetime) -> int:
    """Every case registered before ``end`` and overdue ``now``, from the ``due`` counters
    (ADR 33): the cases fallen overdue on UTC days before today's, those fallen overdue since
    its midnight, less those registered from ``end`` on — a count that reads today's
    deadlines and the cases since ``end``, not every overdue case in history."""
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    t = ledger_tallies.c
    before = sa.select(sa.func.coalesce(sa.func.sum(t.cases), 0)).where(
        t.dim == "due", t.day < midnight.date()
    )
    today = sa.select(sa.func.count()).where(
        L.registered_at.is_not(None),
        sa.or_(  # the deadlines that fell today, each from its index
            sa.and_(sa.text(UNSIGNED), L.sign_deadline >= midnight, L.sign_deadline < now),
            sa.and_(sa.text(IN_HANDLING), L.handle_deadline >= midnight, L.handle_deadline < now),
        ),
        overdue_clause(now),
        sa.not_(sa.func.coalesce(overdue_clause(midnight), False)),
    )
    since_end = sa.select(sa.func.count()).where(
        sa.text(IN_HANDLING), L.registered_at >= end, overdue_clause(now)
    )
    found = [int((await session.execute(q)).scalar_one()) for q in (before, today, since_end)]
    return found[0] + found[1] - found[2]


async def _overdue_section(
    session: AsyncSession, principal: Principal, end: datetime, ctx: Context
) -> Section:
    """The longest overdue cases (at most :data:`OVERDUE_LISTED`), each with the deadline it
    missed — the sign-for deadline for a case still unsigned (its handling deadline may lie
    ahead), else the handling one — and how late; and how many are overdue in all, with where
    to find every one of them (ADR 33)."""
    total, found = await overdue_cases(session, principal, end, ctx.now, OVERDUE_LISTED)
    rows = []
    for r in found:
        shown = countdown(r, ctx.now, ctx.calendar)
        unsigned = shown is not None and shown["deadline"] == "sign"
        rows.append(
            [
                r["number"],
                r["summary"] or _excerpt(r["content"]),
                ctx.unit_names.get(r["lead_unit"] or "", r["lead_unit"]),
                "签收" if unsigned else "办理",
                r["sign_deadline"] if unsigned else r["handle_deadline"],
                shown["label"] if shown else "",
                label(STATUS_LABELS, CaseStatus, r["status"]),
            ]
        )
    columns = [
        ("编号", 14),
        ("反映内容摘要", 40),
        ("责任单位", 20),
        ("超期环节", 9),
        ("时限", 17),
        ("超期", 14),
        ("办理状态", 11),
    ]
    return Section("超期未办结问题", columns, rows, overdue_note(total, len(rows)))


def overdue_note(total: int, listed: int) -> str:
    """The line under the overdue section's heading: the count of all, and when the list is
    cut, which ones it shows and where the rest are."""
    if total <= listed:
        return f"截至生成时，超期案件共 {total} 件。"
    return (
        f"截至生成时，超期案件共 {total} 件，以下列出超期最久的 {listed} 件；"
        "全部超期案件请在台账中按“超期：仅超期”筛选查看，或从台账导出 Excel。"
    )


def _excerpt(content: str | None, size: int = 40) -> str:
    text = " ".join((content or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


async def _follow_up_section(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime, ctx: Context
) -> Section:
    notable = sa.text(NOTABLE)  # a second pass, escalated, accountability: ix_ledger_notable
    found = await session.execute(
        sa.select(L.number, L.summary, L.lead_unit, L.pass_no, L.escalated, L.accountability)
        .where(visible_to(principal), notable, L.registered_at >= start, L.registered_at < end)
        .order_by(L.number)
    )
    rows = [
        [
            r.number,
            r.summary,
            ctx.unit_names.get(r.lead_unit or "", r.lead_unit),
            "是" if r.pass_no > 1 else "否",
            "是" if r.escalated else "否",
            accountability_summary(r.accountability or []),
        ]
        for r in found
    ]
    columns = [
        ("编号", 14),
        ("反映内容摘要", 40),
        ("责任单位", 20),
        ("二次办理", 9),
        ("提交纪委监察", 12),
        ("问责情况", 40),
    ]
    return Section("二次办理与问责情况", columns, rows)


TYPICAL_KINDS = {"typical": "典型案例", "benchmark": "标杆案例"}


async def _typical_section(session: AsyncSession, start: datetime, end: datetime) -> Section:
    """典型案例 and 标杆案例 the office published in the month (通报曝光, issue 18), as it
    published them: its title and text, names only where it kept them — already public on
    the portal, so every reader of the circular may see them."""
    found = await session.execute(
        sa.select(L.number, L.typical_case)
        .where(sa.text(PUBLISHED))  # ix_ledger_typical's own words
        .order_by(L.number)
    )
    rows = []
    for r in found:
        published = r.typical_case
        if start <= datetime.fromisoformat(published["published_at"]) < end:
            rows.append(
                [
                    r.number,
                    TYPICAL_KINDS.get(published["kind"], published["kind"]),
                    published["title"],
                    published["text"],
                    "；".join(_typical_person(p) for p in published.get("persons") or []),
                ]
            )
    columns = [("编号", 14), ("类型", 9), ("标题", 24), ("通报内容", 40), ("处理情况", 40)]
    return Section("典型案例通报", columns, rows)


def _typical_person(person: dict[str, Any]) -> str:
    codes = person.get("measures") or []
    measures = "、".join(label(MEASURE_LABELS, Measure, m) or m for m in codes)
    who = "、".join(str(v) for v in (person.get("name"), person.get("position")) if v)
    shown = f"{who}：{measures}" if who else measures
    return f"{shown}(容错免责)" if person.get("exempted") else shown


async def _monthly_section(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime, ctx: Context
) -> Section:
    in_year = sa.or_(
        sa.and_(L.registered_at >= start, L.registered_at < end),
        sa.and_(L.closed_out_at >= start, L.closed_out_at < end),
    )
    found = await session.execute(
        sa.select(L.registered_at, L.closed_out_at).where(visible_to(principal), in_year)
    )
    tz = ctx.calendar.timezone
    year = start.astimezone(tz).year
    registered: Counter[int] = Counter()
    closed: Counter[int] = Counter()
    for registered_at, closed_out_at in found:
        for moment, counter in ((registered_at, registered), (closed_out_at, closed)):
            if moment is not None and moment.astimezone(tz).year == year:
                counter[moment.astimezone(tz).month] += 1
    rows = [[f"{m}月", registered[m], closed[m]] for m in range(1, 13)]
    return Section("各月受理与销号", [("月份", 8), ("受理", 8), ("销号", 8)], rows)


def _span(start: datetime, end: datetime, ctx: Context) -> str:
    tz = ctx.calendar.timezone
    last = (end.astimezone(tz).date()).toordinal() - 1
    return f"{start.astimezone(tz).date()} 至 {date.fromordinal(last)}"
