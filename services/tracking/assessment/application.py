"""The assessment's use cases: compute a year's assessment from what the ledger knows and the
office's decisions, and record those decisions (get → command → save).

What it reads of the rest of tracking comes through one port, :class:`Sources`, which
``tracking/service.py`` fills from the ledger. The accountability records are read through
``Sources.findings`` only, so the accountability procedure (issue 18) can take their place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.tracking.assessment import documents
from services.tracking.assessment.domain import (
    ANNUAL_REPORT_DUE,
    GRADE_LABELS,
    MEASURE_LABELS,
    SELF_INSPECTION_MONTHS,
    Actor,
    AssessmentYear,
    Circular,
    CircularAlreadyIssued,
    CircularNotIssued,
    Finding,
    Grade,
    HonourRules,
    HonoursNotPublished,
    NoticeNotFound,
    NoticeReminders,
    Round,
    RoundAlreadyOpen,
    RoundNotFound,
    RoundWithoutUnits,
    Rules,
    Scored,
    UnknownUnit,
    check_period,
    circular_id,
    honours,
    last_place,
    notice_owes_reply,
    notice_reminders_id,
    periods_around,
    rank,
    round_id,
    score,
    year_id,
)
from shared.contracts.vocabulary import RoundKind
from shared.platform.officialdoc import OfficialDocument


@dataclass(frozen=True)
class UnitFigures:
    """A unit's KPI figures for a year (counts and rates as the ledger defines them) and the
    case numbers behind each count."""

    code: str
    name: str
    kind: str
    kpis: dict[str, Any]
    cases: dict[str, list[str]] = field(default_factory=dict)


class Sources(Protocol):
    async def figures(self, year: int) -> list[UnitFigures]: ...

    async def findings(self, year: int) -> list[Finding]: ...

    async def reply_deadline(self, start: datetime, working_days: int) -> datetime: ...

    async def month_figures(self, year: int, month: int) -> list[UnitFigures]:
        """Each unit's KPIs for one month (no case lists)."""
        ...

    async def monthly_circular(self, year: int, month: int) -> dict[str, Any]:
        """The circular's title, period and sections (heading, columns, rows), all as text."""
        ...


def measures(kpis: dict[str, Any], mark: float | None, inspection: float | None) -> dict[str, Any]:
    """The scored measures (each in [0, 1] or None) from a unit's KPIs."""
    returns = kpis.get("return_rate")
    return {
        "on_time_sign_rate": kpis.get("on_time_sign_rate"),
        "on_time_completion_rate": kpis.get("on_time_completion_rate"),
        "complainant_satisfaction_rate": kpis.get("complainant_satisfaction_rate"),
        "third_party_satisfaction_rate": kpis.get("third_party_satisfaction_rate"),
        "returns_upheld_complement": None if returns is None else round(1 - returns, 4),
        "self_inspection_on_time": inspection,
        "qualitative_mark": None if mark is None else mark / 100,
    }


@dataclass
class Computed:
    year: int
    scored: dict[str, Scored]
    ranks: dict[str, tuple[int, int]]
    last: set[str]
    last_two_years: set[str]
    figures: dict[str, UnitFigures]
    findings: dict[str, list[Finding]]
    decisions: AssessmentYear | None


class AssessmentOffice:
    def __init__(
        self,
        store: Application,
        sources: Sources,
        rules: Rules | None = None,
        timezone: str = "Asia/Shanghai",
        now: Callable[[], datetime] | None = None,
        honour_rules: HonourRules | None = None,
        consequences: Callable[[AssessmentYear], Sequence[Any]] | None = None,
    ) -> None:
        """``consequences``: other aggregates a year's pending decisions change, saved in the
        same transaction (``tracking/service.py``: the procedure a trigger opens, 004)."""
        self.consequences = consequences or (lambda _: ())
        self.now = now or (lambda: datetime.now(ZoneInfo(timezone)))
        self.store = store
        self.timezone = timezone
        self.sources = sources
        self.rules = rules or Rules()
        self.honour_rules = honour_rules or HonourRules()

    # --- reading ------------------------------------------------------------------------------

    async def decisions(self, year: int) -> AssessmentYear | None:
        return await asyncio.to_thread(self._get, year)

    def _get(self, year: int) -> AssessmentYear | None:
        try:
            found: AssessmentYear = self.store.repository.get(year_id(year))
        except AggregateNotFoundError:
            return None
        return found

    def _circular(self, year: int, month: int) -> Circular | None:
        try:
            found: Circular = self.store.repository.get(circular_id(year, month))
        except AggregateNotFoundError:
            return None
        return found

    async def compute(self, year: int, *, previous: bool = True) -> Computed:
        decisions = await self.decisions(year)
        figures = {f.code: f for f in await self.sources.figures(year)}
        inspections = await self.self_inspection_on_time(year)
        findings: dict[str, list[Finding]] = {}
        for finding in await self.sources.findings(year):
            findings.setdefault(finding.unit, []).append(finding)
        marks = decisions.marks if decisions else {}
        scored = {
            code: score(
                code,
                self.rules.group(f.kind),
                measures(
                    f.kpis,
                    marks.get(code, {}).get("mark"),
                    inspections.get(code),
                ),
                findings.get(code, []),
                self.rules,
            )
            for code, f in figures.items()
        }
        ranks = rank(scored.values())
        last = last_place(scored.values(), ranks)
        before: set[str] = set()
        if previous and last:
            before = (await self.compute(year - 1, previous=False)).last
        return Computed(year, scored, ranks, last, last & before, figures, findings, decisions)

    async def year(self, year: int) -> dict[str, Any]:
        c = await self.compute(year)
        items = [self._summary(c, code) for code in c.scored]
        items.sort(key=lambda i: (i["group"], i["rank"] or 10**6, i["unit"]["code"]))
        return {"year": year, "items": items}

    async def unit(self, year: int, code: str) -> dict[str, Any]:
        c = await self.compute(year)
        if code not in c.scored:
            raise UnknownUnit(code)
        s, f = c.scored[code], c.figures[code]
        view = self._summary(c, code)
        view["measures"] = [
            {"name": name, "label": MEASURE_LABELS.get(name, name), **part}
            for name, part in s.parts.items()
        ]
        view["kpis"] = f.kpis
        view["cases"] = f.cases
        view["accountability"] = [
            {
                "case_number": x.case_number,
                "target_kind": x.target_kind,
                "position": x.position,
                "measures": list(x.measures),
                "main_leader": x.main_leader,
            }
            for x in c.findings.get(code, [])
        ]
        view["deduction"] = s.deduction
        d = c.decisions
        notice = _plain(d.notices.get(code)) if d else None
        if notice is not None:  # tracked like any deadline: overdue once past, unanswered
            notice["overdue"] = notice_owes_reply(notice, self.now())
            dunned = await asyncio.to_thread(self._notice_reminders, year, notice["number"])
            notice["reminders"] = list(dunned.reminders) if dunned else []
        view["notice"] = notice
        view["mark"] = _plain(d.marks.get(code)) if d else None
        return view

    def _summary(self, c: Computed, code: str) -> dict[str, Any]:
        s, f = c.scored[code], c.figures[code]
        place, size = c.ranks.get(code, (None, None))
        decided = c.decisions.decisions.get(code) if c.decisions else None
        final = Grade(decided["grade"]) if decided else s.grade
        trigger = c.decisions.triggers.get(code) if c.decisions else None
        return {
            "unit": {"code": code, "name": f.name},
            "group": s.group,
            "score": s.score,
            "computed_grade": _grade(s.computed),
            "grade": _grade(s.grade),
            "vetoes": list(s.vetoes),
            "no_award": s.no_award,
            "rank": place,
            "ranked": size,
            "last_in_group": code in c.last,
            "last_two_years": code in c.last_two_years,
            "accountability_triggered": trigger is not None,
            "decision": None
            if decided is None
            else {"reason": decided["reason"], "at": decided["at"], "by": decided["actor"]},
            "final_grade": _grade(final),
        }

    # --- the office's commands ----------------------------------------------------------------

    async def _year(self, year: int) -> AssessmentYear:
        return await self.decisions(year) or AssessmentYear(year)

    async def _save(self, aggregate: AssessmentYear) -> None:
        await asyncio.to_thread(self.store.save, aggregate, *self.consequences(aggregate))

    async def give_mark(
        self, year: int, code: str, mark: float, reason: str, actor: Actor, at: datetime
    ) -> dict[str, Any]:
        if code not in {f.code for f in await self.sources.figures(year)}:
            raise UnknownUnit(code)
        aggregate = await self._year(year)
        aggregate.give_mark(code, mark, reason, actor, at)
        await self._save(aggregate)
        return await self.unit(year, code)

    async def decide(
        self, year: int, code: str, grade: Grade, reason: str, actor: Actor, at: datetime
    ) -> dict[str, Any]:
        c = await self.compute(year)
        if code not in c.scored:
            raise UnknownUnit(code)
        aggregate = c.decisions or AssessmentYear(year)
        aggregate.decide(c.scored[code], grade, reason, actor, at, code in c.last_two_years)
        await self._save(aggregate)
        return await self.unit(year, code)

    async def issue_notice(
        self,
        year: int,
        code: str,
        issues: Sequence[str],
        working_days: int,
        actor: Actor,
        at: datetime,
    ) -> dict[str, Any]:
        if code not in {f.code for f in await self.sources.figures(year)}:
            raise UnknownUnit(code)
        deadline = await self.sources.reply_deadline(at, working_days)
        aggregate = await self._year(year)
        aggregate.issue_notice(code, list(issues), deadline, actor, at)
        await self._save(aggregate)
        return await self.unit(year, code)

    async def reply(
        self, year: int, code: str, content: str, actor: Actor, at: datetime
    ) -> dict[str, Any]:
        aggregate = await self._year(year)
        aggregate.reply(code, content, actor, at)
        await self._save(aggregate)
        return await self.unit(year, code)

    # --- documents --------------------------------------------------------------------------

    async def issue_circular(self, year: int, month: int, actor: Actor, at: datetime) -> Circular:
        """Issue the month's circular: its figures are stored as they stand now (frozen)."""
        if await asyncio.to_thread(self._circular, year, month) is not None:
            raise CircularAlreadyIssued(f"{year}-{month:02d}")
        frozen = await self.sources.monthly_circular(year, month)
        circular = Circular(
            year=year,
            month=month,
            number=f"纠风通〔{year}〕{month}号",
            title=frozen["title"],
            period=frozen["period"],
            sections=frozen["sections"],
            actor=actor,
            at=at,
        )
        await asyncio.to_thread(self.store.save, circular)
        return circular

    async def circular(self, year: int, month: int) -> Circular:
        found = await asyncio.to_thread(self._circular, year, month)
        if found is None:
            raise CircularNotIssued(f"{year}-{month:02d}")
        return found

    async def publish_honours(self, year: int, month: int, actor: Actor, at: datetime) -> Circular:
        """Publish the month's 红黑榜 (the circular must be issued first; the lists are fixed
        from the month's figures as they stand at publication)."""
        issued = await self.circular(year, month)
        figures = await self.sources.month_figures(year, month)
        red, black = honours(((f.code, f.name, f.kpis) for f in figures), self.honour_rules)
        issued.publish_honours(red, black, actor, at)
        await asyncio.to_thread(self.store.save, issued)
        return issued

    async def published_honours(self, year: int, month: int) -> dict[str, Any]:
        found = await asyncio.to_thread(self._circular, year, month)
        if found is None or found.honours is None:
            raise HonoursNotPublished(f"{year}-{month:02d}")
        return found.honours

    async def circular_document(self, year: int, month: int) -> OfficialDocument:
        return documents.circular(await self.circular(year, month), self.timezone)

    async def annual_document(self, year: int, at: datetime) -> OfficialDocument:
        assessed = await self.year(year)
        return documents.annual_report(year, assessed, at, self.timezone)

    async def notice_document(self, year: int, code: str) -> OfficialDocument:
        unit = await self.unit(year, code)
        if unit["notice"] is None:
            raise NoticeNotFound(code)
        return documents.notice(year, unit, self.timezone)

    # --- periodic duties ----------------------------------------------------------------------

    def _round(self, kind: str, period: str) -> Round | None:
        try:
            found: Round = self.store.repository.get(round_id(kind, period))
        except AggregateNotFoundError:
            return None
        return found

    async def get_round(self, kind: str, period: str) -> Round:
        found = await asyncio.to_thread(self._round, kind, period)
        if found is None:
            raise RoundNotFound(f"{kind}:{period}")
        return found

    async def open_round(
        self,
        kind: RoundKind,
        period: str,
        units: Sequence[str],
        working_days: int,
        actor: Actor,
        at: datetime,
    ) -> Round:
        """The due moment: 25 December (end of day) for the annual report (000), else
        ``working_days`` on the working calendar."""
        year = check_period(kind, period)
        if await asyncio.to_thread(self._round, kind.value, period) is not None:
            raise RoundAlreadyOpen(f"{kind.value}:{period}")
        known = [f.code for f in await self.sources.figures(year)]
        chosen = list(units) or known
        if not chosen:
            raise RoundWithoutUnits(f"{kind.value}:{period}")
        for code in chosen:
            if code not in known:
                raise UnknownUnit(code)
        if kind == RoundKind.ANNUAL_REPORT:
            zone = ZoneInfo(self.timezone)
            due = datetime(year, *ANNUAL_REPORT_DUE, 23, 59, 59, tzinfo=zone)
        else:
            due = await self.sources.reply_deadline(at, working_days)
        opened = Round(kind=kind.value, period=period, units=chosen, due=due, actor=actor, at=at)
        await asyncio.to_thread(self.store.save, opened)
        return opened

    async def remind_late(
        self, actor: Actor, at: datetime, every_working_days: int
    ) -> list[tuple[str, str, list[str]]]:
        """督办 by the calendar (issue 19): each round past due with units that have not
        reported is reminded once it falls due, then again each ``every_working_days`` after
        the last reminder (the office's own 督办 counts) until they do. A replica that
        reminded the same round first wins; this pass leaves it."""
        reminded = []
        for kind, period in periods_around(at.astimezone(ZoneInfo(self.timezone)).year):
            found = await asyncio.to_thread(self._round, kind, period)
            if found is None or not found.missing(at):
                continue
            last = found.last_reminded()
            if last is not None and at < await self.sources.reply_deadline(
                last, every_working_days
            ):
                continue
            units = found.remind(actor, at)
            try:
                await asyncio.to_thread(self.store.save, found)
            except IntegrityError:
                continue  # another replica's pass reminded it a moment ago
            reminded.append((kind, period, units))
        return reminded

    def _notice_reminders(self, year: int, number: str) -> NoticeReminders | None:
        try:
            found: NoticeReminders = self.store.repository.get(notice_reminders_id(year, number))
        except AggregateNotFoundError:
            return None
        return found

    async def remind_notices(
        self, actor: Actor, at: datetime, every_working_days: int
    ) -> list[tuple[int, str, str]]:
        """督办 by the calendar of rectification notices not replied to by their deadline
        (002 第二十九条): once on falling due, then again each ``every_working_days`` after the
        last reminder, until the unit replies. Notices of this year and the two before are
        looked at (three lookups: a year's notices live on its ``AssessmentYear``). A
        replica that reminded the same notice first wins; this pass leaves it."""
        reminded = []
        this_year = at.astimezone(ZoneInfo(self.timezone)).year
        for year in (this_year - 2, this_year - 1, this_year):
            decisions = await self.decisions(year)
            for unit, notice in (decisions.notices if decisions else {}).items():
                if not notice_owes_reply(notice, at):
                    continue
                number = notice["number"]
                found = await asyncio.to_thread(self._notice_reminders, year, number)
                if found is None:
                    found = NoticeReminders(
                        year=year,
                        unit=unit,
                        notice_number=number,
                        due=notice["reply_deadline"],
                        actor=actor,
                        at=at,
                    )
                elif at < await self.sources.reply_deadline(
                    found.last_reminded(), every_working_days
                ):
                    continue
                else:
                    found.remind_again(actor, at)
                try:
                    await asyncio.to_thread(self.store.save, found)
                except IntegrityError:
                    continue  # another replica's pass reminded it a moment ago
                reminded.append((year, unit, number))
        return reminded

    async def change_round(self, kind: str, period: str, command: Any) -> tuple[Round, Any]:
        found = await self.get_round(kind, period)
        answer = command(found)
        await asyncio.to_thread(self.store.save, found)
        return found, answer

    async def self_inspection_on_time(self, year: int) -> dict[str, float | None]:
        """Per unit, the share of the year's self-inspection rounds it reported on time (a
        round not yet due and not yet answered is left out)."""
        now = self.now()
        scores: dict[str, list[int]] = {}
        for month in SELF_INSPECTION_MONTHS:
            found = await asyncio.to_thread(
                self._round, RoundKind.SELF_INSPECTION.value, f"{year}-{month:02d}"
            )
            if found is None:
                continue
            late = set(found.late(now))
            for unit in found.units:
                if unit in found.submissions or unit in late:
                    scores.setdefault(unit, []).append(0 if unit in late else 1)
        return {u: round(sum(v) / len(v), 4) for u, v in scores.items()}


def _grade(grade: Grade | None) -> dict[str, str] | None:
    return None if grade is None else {"code": grade.value, "label": GRADE_LABELS[grade]}


def _plain(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)
