"""The annual assessment of a unit (002 第二十七–二十九条, 004), pure.

The score is a weighted mean of measures in [0, 1] (a measure without a denominator is left
out and its weight with it, so a unit is neither rewarded nor punished for what it never had),
times 100, less a deduction per accountability decision against the unit. The grade follows
from thresholds; a **veto** (一票否决) caps it; ranking is within the unit's assessment group.
Weights, thresholds, deductions, groups and vetoes are tables in :class:`Rules`.

The office's decisions are events on one aggregate per year (:class:`AssessmentYear`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.contracts import wording
from shared.contracts.vocabulary import RoundKind

Actor = dict[str, Any]


class Grade(StrEnum):
    """检查考核档次 (002 第二十七条), best first."""

    EXCELLENT = "excellent"
    COMPETENT = "competent"
    BASIC = "basically_competent"
    INCOMPETENT = "incompetent"


GRADE_LABELS: dict[Grade, str] = {g: wording.GRADE_LABELS[g.value] for g in Grade}
ORDER = list(Grade)


def worse(a: Grade, b: Grade) -> Grade:
    return max(a, b, key=ORDER.index)


@dataclass(frozen=True)
class Veto:
    """一票否决: when ``condition`` holds for a unit that year, its grade is at most ``cap``
    and it takes no award."""

    condition: str
    label: str
    cap: Grade
    no_award: bool = True


# 004: "主要负责人被问责考核实行'一票否决'".
VETOES: tuple[Veto, ...] = (Veto("main_leader_accountable", "主要负责人被问责", Grade.BASIC),)

# Who counts as the main leader (主要负责人) on an accountability record.
MAIN_LEADER_POSITIONS: tuple[str, ...] = (
    "主要负责人",
    "党组书记",
    "书记",
    "局长",
    "主任",
    "街道办事处主任",
    "总经理",
    "董事长",
)

WEIGHTS: dict[str, float] = {
    "on_time_sign_rate": 15,
    "on_time_completion_rate": 30,
    "complainant_satisfaction_rate": 15,
    "third_party_satisfaction_rate": 15,  # 绩效考核第三方评估 (002 第二十八条)
    "returns_upheld_complement": 5,  # 1 − return_rate
    "self_inspection_on_time": 10,
    "qualitative_mark": 10,  # the office's mark, 0–100 scaled to [0, 1]
}
MEASURE_LABELS: dict[str, str] = {
    "on_time_sign_rate": "按期签收率",
    "on_time_completion_rate": "按期办结率",
    "complainant_satisfaction_rate": "群众满意率",
    "third_party_satisfaction_rate": "第三方评价满意率",
    "returns_upheld_complement": "未退单率",
    "self_inspection_on_time": "按时自查",
    "qualitative_mark": "定性评价",
}
THRESHOLDS: tuple[tuple[float, Grade], ...] = (
    (90.0, Grade.EXCELLENT),
    (75.0, Grade.COMPETENT),
    (60.0, Grade.BASIC),
)
GROUPS: dict[str, str] = {
    "street_office": "街道",
    "department": "区直部门",
    "company": "企业",
}


@dataclass(frozen=True)
class Rules:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    thresholds: tuple[tuple[float, Grade], ...] = THRESHOLDS
    deduction_per_accountability: float = 5.0
    max_deduction: float = 20.0
    vetoes: tuple[Veto, ...] = VETOES
    groups: Mapping[str, str] = field(default_factory=lambda: dict(GROUPS))

    def group(self, unit_kind: str) -> str:
        return self.groups.get(unit_kind, unit_kind)

    def grade(self, score: float) -> Grade:
        for floor, grade in self.thresholds:
            if score >= floor:
                return grade
        return Grade.INCOMPETENT


@dataclass(frozen=True)
class Finding:
    """An accountability decision (问责) against a unit that year, from a case."""

    unit: str
    case_number: str
    target_kind: str
    position: str | None
    measures: tuple[str, ...]
    exempted: bool

    @property
    def main_leader(self) -> bool:
        return not self.exempted and (
            self.target_kind == "leadership"
            or any(p in (self.position or "") for p in MAIN_LEADER_POSITIONS)
        )


@dataclass(frozen=True)
class Scored:
    unit: str
    group: str
    score: float | None
    computed: Grade | None
    grade: Grade | None  # after the vetoes
    vetoes: tuple[str, ...]
    no_award: bool
    parts: dict[str, dict[str, Any]]
    deduction: float


def score(
    unit: str,
    group: str,
    measures: Mapping[str, float | None],
    findings: Iterable[Finding],
    rules: Rules,
) -> Scored:
    """One unit's score, grade and vetoes from its measures (each in [0, 1] or None)."""
    findings = [f for f in findings if not f.exempted]
    parts: dict[str, dict[str, Any]] = {}
    weighted = total = 0.0
    for name, weight in rules.weights.items():
        value = measures.get(name)
        parts[name] = {"value": value, "weight": weight, "counted": value is not None}
        if value is not None and weight:
            weighted += weight * value
            total += weight
    deduction = min(rules.max_deduction, rules.deduction_per_accountability * len(findings))
    if not total:
        return Scored(unit, group, None, None, None, (), False, parts, deduction)
    points = round(max(0.0, min(100.0, 100 * weighted / total - deduction)), 2)
    computed = rules.grade(points)
    grade, vetoed, no_award = computed, [], False
    conditions = {"main_leader_accountable": any(f.main_leader for f in findings)}
    for veto in rules.vetoes:
        if conditions.get(veto.condition):
            grade = worse(grade, veto.cap)
            vetoed.append(veto.condition)
            no_award = no_award or veto.no_award
    return Scored(unit, group, points, computed, grade, tuple(vetoed), no_award, parts, deduction)


def rank(scored: Iterable[Scored]) -> dict[str, tuple[int, int]]:
    """(rank, units ranked) of each unit with a score within its group; equal scores share a
    rank (1, 2, 2, 4)."""
    groups: dict[str, list[Scored]] = {}
    for s in scored:
        if s.score is not None:
            groups.setdefault(s.group, []).append(s)
    ranks: dict[str, tuple[int, int]] = {}
    for members in groups.values():
        members.sort(key=lambda s: (-(s.score or 0.0), s.unit))
        for i, s in enumerate(members):
            same = i and members[i - 1].score == s.score
            place = ranks[members[i - 1].unit][0] if same else i + 1
            ranks[s.unit] = (place, len(members))
    return ranks


def last_place(scored: Iterable[Scored], ranks: Mapping[str, tuple[int, int]]) -> set[str]:
    """Units last in a group of at least two (sharing the last place is last; a group where
    everyone ties has no last)."""
    worst: dict[str, int] = {}
    groups = {s.unit: s.group for s in scored if s.unit in ranks}
    for unit, group in groups.items():
        worst[group] = max(worst.get(group, 0), ranks[unit][0])
    return {u for u, g in groups.items() if ranks[u][0] == worst[g] > 1}


# --- the office's decisions, event-sourced ----------------------------------------------------


class AssessmentError(Exception):
    """A decision the assessment refuses."""


class VetoedGrade(AssessmentError):
    pass


class UnknownUnit(AssessmentError):
    pass


class NoticeNotFound(AssessmentError):
    pass


class AlreadyReplied(AssessmentError):
    pass


def year_id(year: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"taizhang:assessment:{year}")


class AssessmentYear(Aggregate):
    """The office's decisions on one year's assessment: qualitative marks, final grades with
    their reasons (002 第二十八条), triggers for the accountability procedure (004) and
    rectification notices (002 第二十九条)."""

    @staticmethod
    def create_id(year: int) -> uuid.UUID:
        return year_id(year)

    @event("Opened")
    def __init__(self, year: int) -> None:
        self.year = year
        self.marks: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.notices: dict[str, dict[str, Any]] = {}

    def give_mark(self, unit: str, mark: float, reason: str, actor: Actor, at: datetime) -> None:
        self._mark(unit=unit, mark=mark, reason=reason, actor=actor, at=at)

    @event("QualitativeMarkGiven")
    def _mark(self, unit: str, mark: float, reason: str, actor: Actor, at: datetime) -> None:
        self.marks[unit] = {"mark": mark, "reason": reason, "actor": actor, "at": at}

    def decide(
        self,
        scored: Scored,
        grade: Grade,
        reason: str,
        actor: Actor,
        at: datetime,
        last_two_years: bool,
    ) -> None:
        """The office's final grade; a vetoed unit is never put above its cap. A unit last in
        its group two years running is recorded for the accountability procedure."""
        cap = scored.grade
        if scored.vetoes and cap is not None and worse(grade, cap) != grade:
            raise VetoedGrade(scored.unit)
        self._decided(
            unit=scored.unit,
            grade=grade.value,
            computed=None if scored.grade is None else scored.grade.value,
            score=scored.score,
            reason=reason,
            actor=actor,
            at=at,
        )
        if last_two_years and scored.unit not in self.triggers:
            self._triggered(unit=scored.unit, group=scored.group, actor=actor, at=at)

    @event("GradeDecided")
    def _decided(
        self,
        unit: str,
        grade: str,
        computed: str | None,
        score: float | None,
        reason: str,
        actor: Actor,
        at: datetime,
    ) -> None:
        self.decisions[unit] = {
            "grade": grade,
            "computed": computed,
            "score": score,
            "reason": reason,
            "actor": actor,
            "at": at,
        }

    @event("AccountabilityProcedureTriggered")
    def _triggered(self, unit: str, group: str, actor: Actor, at: datetime) -> None:
        """004: 连续两年考核列小组末位的, 对主要负责人要启动问责程序. The procedure (issue 18)
        consumes this trigger."""
        self.triggers[unit] = {
            "group": group,
            "reason": "连续两年考核列小组末位",
            "actor": actor,
            "at": at,
        }

    def issue_notice(
        self, unit: str, issues: list[str], reply_deadline: datetime, actor: Actor, at: datetime
    ) -> None:
        number = f"纠风整改〔{self.year}〕{len(self.notices) + 1}号"
        self._noticed(
            unit=unit,
            number=number,
            issues=issues,
            reply_deadline=reply_deadline,
            actor=actor,
            at=at,
        )

    @event("RectificationNoticeIssued")
    def _noticed(
        self,
        unit: str,
        number: str,
        issues: list[str],
        reply_deadline: datetime,
        actor: Actor,
        at: datetime,
    ) -> None:
        self.notices[unit] = {
            "number": number,
            "issues": list(issues),
            "reply_deadline": reply_deadline,
            "issued_at": at,
            "actor": actor,
            "reply": None,
        }

    def reply(self, unit: str, content: str, actor: Actor, at: datetime) -> None:
        notice = self.notices.get(unit)
        if notice is None:
            raise NoticeNotFound(unit)
        if notice["reply"] is not None:
            raise AlreadyReplied(unit)
        self._replied(
            unit=unit, content=content, on_time=at <= notice["reply_deadline"], actor=actor, at=at
        )

    @event("RectificationReplied")
    def _replied(self, unit: str, content: str, on_time: bool, actor: Actor, at: datetime) -> None:
        self.notices[unit]["reply"] = {"content": content, "on_time": on_time, "at": at}


class LiaisonOfAnotherUnit(AssessmentError):
    pass


# --- 督办 of a rectification notice past its reply deadline -----------------------------------


def notice_reminders_id(year: int, number: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"taizhang:notice-reminders:{year}:{number}")


def notice_owes_reply(notice: Mapping[str, Any], now: datetime) -> bool:
    """A notice is owed a reply (按时限回告, 002 第二十九条) once its deadline has passed."""
    return notice["reply"] is None and now > notice["reply_deadline"]


class NoticeReminders(Aggregate):
    """督办 of one rectification notice (《告知与整改通知书》) whose reply deadline has passed:
    begun by the first reminder, then one more every few working days until the unit replies.
    An aggregate of its own, every event published (the year's other decisions are not, so
    its versions could not reach a read model without gaps)."""

    @staticmethod
    def create_id(year: int, notice_number: str, **_: Any) -> uuid.UUID:
        return notice_reminders_id(year, notice_number)

    @event("Reminded")
    def __init__(
        self, year: int, unit: str, notice_number: str, due: datetime, actor: Actor, at: datetime
    ) -> None:
        self.year, self.unit, self.notice_number, self.due = year, unit, notice_number, due
        self.reminders: list[dict[str, Any]] = [{"at": at, "by": actor}]

    def remind_again(self, actor: Actor, at: datetime) -> None:
        self._reminded_again(
            year=self.year,
            unit=self.unit,
            notice_number=self.notice_number,
            due=self.due,
            count=len(self.reminders) + 1,
            actor=actor,
            at=at,
        )

    # year, unit, number and due ride along so that the published reminder names the notice
    @event("RemindedAgain")
    def _reminded_again(
        self,
        year: int,
        unit: str,
        notice_number: str,
        due: datetime,
        count: int,
        actor: Actor,
        at: datetime,
    ) -> None:
        self.reminders.append({"at": at, "by": actor})

    def last_reminded(self) -> datetime:
        at: datetime = self.reminders[-1]["at"]
        return at


# --- the monthly circular, frozen when issued -------------------------------------------------


class CircularAlreadyIssued(AssessmentError):
    pass


class CircularNotIssued(AssessmentError):
    pass


def circular_id(year: int, month: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"taizhang:circular:{year}-{month:02d}")


class Circular(Aggregate):
    """一月一通报: issuing stores the figures as they stood (title, period, every table as
    text), so reprinting March in June gives March's numbers."""

    @staticmethod
    def create_id(year: int, month: int, **_: Any) -> uuid.UUID:
        return circular_id(year, month)

    @event("Issued")
    def __init__(
        self,
        year: int,
        month: int,
        number: str,
        title: str,
        period: str,
        sections: list[dict[str, Any]],
        actor: Actor,
        at: datetime,
    ) -> None:
        self.year, self.month, self.number = year, month, number
        self.title, self.period, self.sections = title, period, sections
        self.actor, self.issued_at = actor, at
        self.honours: dict[str, Any] | None = None

    def publish_honours(
        self, red: list[dict[str, Any]], black: list[dict[str, Any]], actor: Actor, at: datetime
    ) -> None:
        """红黑榜 on the public portal, from the month's figures, when the office decides."""
        if self.honours is not None:
            raise HonoursAlreadyPublished(f"{self.year}-{self.month:02d}")
        self._published(red=red, black=black, actor=actor, at=at)

    @event("HonoursPublished")
    def _published(
        self, red: list[dict[str, Any]], black: list[dict[str, Any]], actor: Actor, at: datetime
    ) -> None:
        self.honours = {"red": red, "black": black, "published_at": at}


class HonoursAlreadyPublished(AssessmentError):
    pass


class HonoursNotPublished(AssessmentError):
    pass


@dataclass(frozen=True)
class HonourRules:
    """红榜: every deadline met and (when evaluated) satisfaction at least ``red_satisfaction``;
    黑榜: a missed deadline, or satisfaction below ``black_satisfaction``."""

    red_satisfaction: float = 0.9
    black_satisfaction: float = 0.6
    minimum_cases: int = 1


def honours(
    figures: Iterable[tuple[str, str, Mapping[str, Any]]], rules: HonourRules | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(red, black) from (code, name, KPIs) of each unit for the month."""
    rules = rules or HonourRules()
    red: list[dict[str, Any]] = []
    black: list[dict[str, Any]] = []
    for code, name, k in figures:
        if int(k.get("cases") or 0) < rules.minimum_cases:
            continue
        missed = int(k.get("unsigned_past_deadline") or 0) + int(
            (k.get("due") or 0) - (k.get("completed") or 0)
        )
        late = (
            (k.get("signed") or 0)
            - (k.get("signed_on_time") or 0)
            + ((k.get("completed") or 0) - (k.get("completed_on_time") or 0))
        )
        satisfaction = k.get("satisfaction_rate")
        entry = {"unit": code, "name": name, "missed": missed + late, "satisfaction": satisfaction}
        if missed + late or (satisfaction is not None and satisfaction < rules.black_satisfaction):
            black.append(entry)
        elif satisfaction is None or satisfaction >= rules.red_satisfaction:
            red.append(entry)
    black.sort(key=lambda e: (-e["missed"], e["satisfaction"] or 0, e["unit"]))
    red.sort(key=lambda e: (-(e["satisfaction"] or 0), e["unit"]))
    return red, black


# --- periodic duties: rounds the office opens, units submit, the office reviews ---------------


SELF_INSPECTION_MONTHS = (6, 12)
ANNUAL_REPORT_DUE = (12, 25)


class RoundError(AssessmentError):
    pass


class RoundPeriodInvalid(RoundError):
    pass


class RoundAlreadyOpen(RoundError):
    pass


class RoundNotFound(RoundError):
    pass


class RoundWithoutUnits(RoundError):
    """A round owed by no unit would never be reported nor reminded: the office opens it once
    the directory has reached the ledger."""


class NotInRound(RoundError):
    pass


class AlreadySubmitted(RoundError):
    pass


class NothingToReview(RoundError):
    pass


class SubmissionIncomplete(RoundError):
    pass


def check_period(kind: RoundKind, period: str) -> int:
    """The year of a round's period: YYYY-06 / YYYY-12 for self-inspection, YYYY for the
    annual report, YYYY-MM for the circular."""
    parts = period.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) == 2 else None
    except ValueError:
        raise RoundPeriodInvalid(_PERIOD_RULE.format(period)) from None
    if kind == RoundKind.ANNUAL_REPORT and month is None:
        return year
    if kind == RoundKind.SELF_INSPECTION and month in SELF_INSPECTION_MONTHS:
        return year
    if kind == RoundKind.MONTHLY_CIRCULAR and month is not None and 1 <= month <= 12:
        return year
    raise RoundPeriodInvalid(_PERIOD_RULE.format(period))


_PERIOD_RULE = (
    "期次 {} 不符:自查为每年6月、12月 (YYYY-06 / YYYY-12),年度纠风工作报告为年份 (YYYY),"
    "月度通报为 YYYY-MM"
)


def periods_around(year: int) -> list[tuple[str, str]]:
    """Every (kind, period) a round may have in the year before, this one and the next: the
    rounds a sweep looks for (their ids are derived, so no index is needed — 45 lookups)."""
    found: list[tuple[str, str]] = []
    for y in (year - 1, year, year + 1):
        found += [(RoundKind.SELF_INSPECTION.value, f"{y}-{m:02d}") for m in SELF_INSPECTION_MONTHS]
        found.append((RoundKind.ANNUAL_REPORT.value, str(y)))
        found += [(RoundKind.MONTHLY_CIRCULAR.value, f"{y}-{m:02d}") for m in range(1, 13)]
    return found


def round_id(kind: str, period: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"taizhang:round:{kind}:{period}")


class Round(Aggregate):
    """One periodic duty: opened by the office with a due moment on the working calendar;
    each unit submits once (on time or late); the office reviews; late units are reminded."""

    @staticmethod
    def create_id(kind: str, period: str, **_: Any) -> uuid.UUID:
        return round_id(kind, period)

    @event("Opened")
    def __init__(
        self, kind: str, period: str, units: list[str], due: datetime, actor: Actor, at: datetime
    ) -> None:
        self.kind, self.period, self.units, self.due = kind, period, list(units), due
        self.opened_at, self.opened_by = at, actor
        self.submissions: dict[str, dict[str, Any]] = {}
        self.reminders: list[dict[str, Any]] = []

    def late(self, now: datetime) -> list[str]:
        """Units late: submitted after the due moment, or not yet submitted once it passed."""
        return [
            u
            for u in self.units
            if (u in self.submissions and not self.submissions[u]["on_time"])
            or (u not in self.submissions and now > self.due)
        ]

    def submit(self, unit: str, report: dict[str, Any], actor: Actor, at: datetime) -> None:
        """A self-inspection report states how the unit performs against each of the 三个清单
        (权力清单, 程序清单, 责任清单) and the problems found, each with its rectification task,
        timetable and responsible person (001)."""
        if self.kind == RoundKind.SELF_INSPECTION and not report.get("lists"):
            raise SubmissionIncomplete("自查报告须对照权力清单、程序清单、责任清单逐项说明 (lists)")
        if unit not in self.units:
            raise NotInRound(unit)
        if unit in self.submissions:
            raise AlreadySubmitted(unit)
        self._submitted(unit=unit, report=report, on_time=at <= self.due, actor=actor, at=at)

    @event("Submitted")
    def _submitted(
        self, unit: str, report: dict[str, Any], on_time: bool, actor: Actor, at: datetime
    ) -> None:
        self.submissions[unit] = {
            "report": report,
            "on_time": on_time,
            "at": at,
            "by": actor,
            "review": None,
        }

    def review(self, unit: str, accepted: bool, comment: str, actor: Actor, at: datetime) -> None:
        if unit not in self.submissions:
            raise NothingToReview(unit)
        self._reviewed(unit=unit, accepted=accepted, comment=comment, actor=actor, at=at)

    @event("Reviewed")
    def _reviewed(
        self, unit: str, accepted: bool, comment: str, actor: Actor, at: datetime
    ) -> None:
        self.submissions[unit]["review"] = {
            "accepted": accepted,
            "comment": comment,
            "at": at,
            "by": actor,
        }

    def remind(self, actor: Actor, at: datetime) -> list[str]:
        """督办 the units that have not submitted once the due moment passed."""
        missing = self.missing(at)
        if missing:
            self._reminded(
                kind=self.kind, period=self.period, due=self.due, units=missing, actor=actor, at=at
            )
        return missing

    def missing(self, now: datetime) -> list[str]:
        """The units that have not submitted, once the due moment passed."""
        return [u for u in self.units if u not in self.submissions and now > self.due]

    def last_reminded(self) -> datetime | None:
        return self.reminders[-1]["at"] if self.reminders else None

    # kind, period and due ride along so that the published reminder names the duty
    @event("Reminded")
    def _reminded(
        self, kind: str, period: str, due: datetime, units: list[str], actor: Actor, at: datetime
    ) -> None:
        self.reminders.append({"units": list(units), "at": at, "by": actor})
