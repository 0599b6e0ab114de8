"""问责程序 — a case's accountability procedure, an aggregate of its own (ADR 19).

Pure domain: no I/O; times come in as arguments. Stages: ``open`` (a trigger opened it; no
decision yet) → ``decided`` (findings about each person or leadership team, or a reasoned
finding that no one is accountable) → ``closed`` (reported back to the higher level, when the
source was one; otherwise at once). A trigger that arrives after the decision opens a new
``round``, which needs a decision of its own. Findings are never edited: a correction is a
later finding that ``corrects`` an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.tracking.accountability.errors import (
    AlreadyReportedBack,
    DecisionConflict,
    InvalidFinding,
    NoReportBackOwed,
    NoSuchFinding,
    NotDecided,
)
from services.tracking.accountability.rules import finding_problems
from shared.contracts.vocabulary import TRIGGER_LABELS, AccountabilityTrigger

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/tracking/accountability")
OPEN, DECIDED, CLOSED = "open", "decided", "closed"
Actor = dict[str, Any]


# An announcement (催办 / 督办) of a deadline is not made again, and no 催办 follows a 督办: a
# replica whose clock reads earlier (or was stepped back) still sees the deadline ahead.
ALREADY_SAID = {True: ("missed",), False: ("missed", "approaching")}


def procedure_id(case_id: UUID) -> UUID:
    """One procedure per case."""
    return uuid5(NAMESPACE, f"procedure:{case_id}")


class Decisions:
    """问责程序's decision steps, whatever opened it: findings per target (or a reasoned
    finding that no one is accountable) → decided → closed once nothing more is owed. A
    mixin of each procedure aggregate, which records the events (``_finding_recorded``,
    ``_no_one_accountable``, ``_decided``, ``_closed``) with its own subject in them
    (:meth:`_subject`): a case's (``AccountabilityProcedure``, its events as released) or a
    unit's (``UnitAccountabilityProcedure``)."""

    if TYPE_CHECKING:  # set by each aggregate's opening event
        findings: list[dict[str, Any]]
        no_accountability: dict[str, Any] | None
        reported: dict[str, Any] | None
        report_back_required: bool
        stage: str
        round: int

        # each aggregate's own events, named by its subject
        _finding_recorded: Callable[..., None]
        _no_one_accountable: Callable[..., None]
        _decided: Callable[..., None]
        _closed: Callable[..., None]

    def _subject(self) -> dict[str, Any]:
        """What every event of the procedure names: its case, or its unit and year."""
        raise NotImplementedError

    def _same(self) -> dict[str, Any]:
        return {**self._subject(), "stage": self.stage, "round": self.round}

    def current(self) -> list[dict[str, Any]]:
        """This round's findings as they stand (each correction replacing what it corrects)."""
        latest: dict[int, dict[str, Any]] = {}
        for finding in self.findings:
            if finding["round"] == self.round:
                latest[finding.get("corrects") or finding["n"]] = finding
        return list(latest.values())

    def record_finding(self, record: dict[str, Any], *, legacy: bool, actor: Actor) -> int:
        problems = finding_problems(record, legacy=legacy)
        if problems:
            raise InvalidFinding(problems)
        if self.no_accountability is not None:
            raise DecisionConflict(
                "本轮已认定无人应被问责,不能再记录问责决定 (no one was found accountable in "
                "this round; record a new trigger first)"
            )
        n = len(self.findings) + 1
        self._finding_recorded(
            n=n,
            corrects=None,
            record={**record, "round": self.round},
            legacy=legacy,
            **self._same(),
            actor=actor,
        )
        self._advance(actor)
        return n

    def correct_finding(self, n: int, record: dict[str, Any], reason: str, *, actor: Actor) -> int:
        earlier = next((f for f in self.findings if f["n"] == n), None)
        if earlier is None or earlier.get("corrects"):
            raise NoSuchFinding(f"没有第 {n} 项问责决定 (no finding {n} to correct)", n=n)
        problems = finding_problems(record, legacy=False)
        if problems:
            raise InvalidFinding(problems)
        new = len(self.findings) + 1
        self._finding_recorded(
            n=new,
            corrects=n,
            record={**record, "correction_reason": reason, "round": earlier["round"]},
            legacy=False,
            **self._same(),
            actor=actor,
        )
        return new

    def find_no_one_accountable(
        self, *, reason: str, decided_by: str, decided_on: date, actor: Actor
    ) -> None:
        if self.current():
            raise DecisionConflict(
                "本轮已有问责决定,不能再认定无人应被问责 (this round has findings already; "
                "correct them instead)"
            )
        if self.no_accountability is not None:
            raise DecisionConflict("本轮已认定无人应被问责 (already found for this round)")
        self._no_one_accountable(
            reason=reason,
            decided_by=decided_by,
            decided_on=decided_on,
            **self._same(),
            actor=actor,
        )
        self._advance(actor)

    @property
    def report_back_owed(self) -> bool:
        return self.report_back_required and self.reported is None

    def _advance(self, actor: Actor) -> None:
        if self.stage == OPEN and (self.current() or self.no_accountability):
            self._decided(
                findings=len(self.current()),
                no_accountability=self.no_accountability is not None,
                **self._subject(),
                stage=DECIDED,
                round=self.round,
                actor=actor,
            )
        if self.stage == DECIDED and not self.report_back_owed:
            self._closed(**self._subject(), stage=CLOSED, round=self.round, actor=actor)


class AccountabilityProcedure(Decisions, Aggregate):
    """问责程序 — opened by a trigger (上级来源, 督办问题, 二次办理/一案双查, 二次不满意,
    多次督办, or the office), decided by findings per target or a finding that no one is
    accountable, reported back (回告) when the source was a higher level's, then closed."""

    id: UUID

    @classmethod
    def open(
        cls,
        *,
        case_id: UUID,
        trigger: str,
        reason: str,
        origin: dict[str, Any] | None,
        report_back_due: datetime | None,
        actor: Actor,
    ) -> AccountabilityProcedure:
        return cls(  # type: ignore[call-arg]  # the library takes id= for any aggregate
            id=procedure_id(case_id),
            case_id=case_id,
            trigger=trigger,
            reason=reason,
            origin=origin,
            report_back_required=report_back_due is not None,
            report_back_due=report_back_due,
            actor=actor,
        )

    @event("Opened")
    def __init__(
        self,
        *,
        case_id: UUID,
        trigger: str,
        reason: str,
        origin: dict[str, Any] | None,
        report_back_required: bool,
        report_back_due: datetime | None,
        actor: Actor,
    ) -> None:
        self.case_id = case_id
        self.triggers: list[dict[str, Any]] = [{"trigger": trigger, "reason": reason, "round": 1}]
        self.origin = origin
        self.report_back_required = report_back_required
        self.report_back_due = report_back_due
        self.stage = OPEN
        self.round = 1
        self.findings: list[dict[str, Any]] = []  # every finding, corrections included
        self.no_accountability: dict[str, Any] | None = None  # this round's
        self.reported: dict[str, Any] | None = None  # this round's report back

    # --- triggers -----------------------------------------------------------------------

    def has_trigger(self, trigger: str) -> bool:
        return any(t["trigger"] == trigger and t["round"] == self.round for t in self.triggers)

    def add_trigger(
        self,
        *,
        trigger: str,
        reason: str,
        origin: dict[str, Any] | None,
        report_back_due: datetime | None,
        actor: Actor,
    ) -> bool:
        """Idempotent per round; after the decision a new trigger opens a new round."""
        if self.has_trigger(trigger):
            return False
        reopened = self.stage != OPEN
        owed = self.report_back_required or report_back_due is not None
        self._trigger_added(
            trigger=trigger,
            reason=reason,
            reopened=reopened,
            origin=origin or self.origin,
            report_back_required=owed,
            report_back_due=report_back_due or (None if reopened else self.report_back_due),
            case_id=self.case_id,
            stage=OPEN,
            round=self.round + 1 if reopened else self.round,
            actor=actor,
        )
        return True

    @event("TriggerAdded")
    def _trigger_added(
        self,
        trigger: str,
        reason: str,
        reopened: bool,
        origin: dict[str, Any] | None,
        report_back_required: bool,
        report_back_due: datetime | None,
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.triggers.append({"trigger": trigger, "reason": reason, "round": round})
        self.origin = origin
        self.report_back_required = report_back_required
        self.report_back_due = report_back_due
        if reopened:
            self.no_accountability = None
            self.reported = None
        self.stage, self.round = stage, round

    # --- findings -----------------------------------------------------------------------

    @event("FindingRecorded")
    def _finding_recorded(
        self,
        n: int,
        corrects: int | None,
        record: dict[str, Any],
        legacy: bool,
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.findings.append({**record, "n": n, "corrects": corrects, "legacy": legacy})

    @event("NoAccountabilityFound")
    def _no_one_accountable(
        self,
        reason: str,
        decided_by: str,
        decided_on: date,
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.no_accountability = {
            "reason": reason,
            "decided_by": decided_by,
            "decided_on": decided_on,
            "round": self.round,
        }

    # --- decided, reported back, closed ---------------------------------------------------

    @event("Decided")
    def _decided(
        self,
        findings: int,
        no_accountability: bool,
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.stage = stage

    def report_back(
        self, *, reported_to: str, content: str, reported_on: date, on_time: bool, actor: Actor
    ) -> None:
        if not self.report_back_required:
            raise NoReportBackOwed(
                "该案件不是上级来源,无需回告 (the source is not a higher level's: nothing to "
                "report back)"
            )
        if self.stage == OPEN:
            raise NotDecided(
                "问责程序尚未作出决定,不能回告 (no decision yet: decide before reporting back)",
                stage=self.stage,
            )
        if self.reported is not None:
            raise AlreadyReportedBack("本轮问责结果已回告 (already reported back this round)")
        self._reported_back(
            reported_to=reported_to,
            content=content,
            reported_on=reported_on,
            on_time=on_time,
            **self._same(),
            actor=actor,
        )
        self._advance(actor)

    @event("ReportedBack")
    def _reported_back(
        self,
        reported_to: str,
        content: str,
        reported_on: date,
        on_time: bool,
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.reported = {
            "reported_to": reported_to,
            "reported_on": reported_on,
            "round": self.round,
        }

    @event("Closed")
    def _closed(self, case_id: UUID, stage: str, round: int, actor: Actor) -> None:
        self.stage = stage

    def _subject(self) -> dict[str, Any]:
        return {"case_id": self.case_id}

    # --- 催办 / 督办 on the report-back deadline (issue 18, ADR 32) ---------------------------

    report_back_reminders: tuple[str, ...] = ()  # "<due>|approaching" / "<due>|missed"

    def remind_report_back(self, *, missed: bool, actor: Actor) -> bool:
        """Announce once that the report back is near its deadline (催办) or past it (督办);
        False when there is nothing to announce (reported, no deadline, announced already)."""
        due = self.report_back_due
        if not self.report_back_owed or due is None:
            return False
        said = {f"{due.isoformat()}|{state}" for state in ALREADY_SAID[missed]}
        if said & set(self.report_back_reminders):  # no 催办 after 督办 (a clock reading earlier)
            return False
        announce = self._report_back_missed if missed else self._report_back_approaching
        announce(due=due, actor=actor, **self._same())
        return True

    @event("ReportBackApproaching")
    def _report_back_approaching(
        self, case_id: UUID, stage: str, round: int, due: datetime, actor: Actor
    ) -> None:
        self.report_back_reminders = (*self.report_back_reminders, f"{due.isoformat()}|approaching")

    @event("ReportBackMissed")
    def _report_back_missed(
        self, case_id: UUID, stage: str, round: int, due: datetime, actor: Actor
    ) -> None:
        self.report_back_reminders = (*self.report_back_reminders, f"{due.isoformat()}|missed")

    # --- 典型案例 / 标杆案例 ------------------------------------------------------------------

    def publish_typical(
        self, *, kind: str, title: str, text: str, keep_names: bool, actor: Actor
    ) -> None:
        """通报曝光: a decided case circulated, the accountable persons' names kept or
        removed by decision (the reporter's never: no procedure holds them). A 容错免责
        decision can be published as a 标杆案例."""
        if self.stage == OPEN:
            raise NotDecided(
                "问责程序尚未作出决定,不能作为典型案例发布 (no decision yet)", stage=self.stage
            )
        current = self.current()
        if kind == "benchmark" and not any(f.get("exempted") for f in current):
            raise DecisionConflict(
                "标杆案例须是容错免责的决定(温州意见) (a benchmark case needs an exempted decision)"
            )
        persons = [
            {
                "name": f["name"] if keep_names else None,
                "position": f.get("position") if keep_names else None,
                "target_kind": f["target_kind"],
                "liability": f["liability"],
                "measures": f["measures"],
                "exempted": f.get("exempted", False),
            }
            for f in current
        ]
        self._typical_published(
            kind=kind,
            title=title,
            text=text,
            keep_names=keep_names,
            persons=persons,
            **self._same(),
            actor=actor,
        )

    @event("TypicalCasePublished")
    def _typical_published(
        self,
        kind: str,
        title: str,
        text: str,
        keep_names: bool,
        persons: list[dict[str, Any]],
        case_id: UUID,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.published = {"kind": kind, "title": title}

    # --- what close-out of the case still needs ------------------------------------------

    def missing_for_close_out(self) -> list[dict[str, str]]:
        if self.stage == OPEN:
            triggers = "、".join(
                TRIGGER_LABELS[AccountabilityTrigger(t["trigger"])]
                for t in self.triggers
                if t["round"] == self.round
            )
            return [
                {
                    "code": "accountability_undecided",
                    "message": f"问责程序({triggers})尚未作出问责决定 (the accountability "
                    "procedure has no decision yet)",
                }
            ]
        if self.report_back_owed:
            return [
                {
                    "code": "report_back_missing",
                    "message": "问责结果尚未向上级回告 (the decision is not reported back to "
                    "the higher level yet)",
                }
            ]
        return []


# --- 问责程序 of a unit, opened by its assessment (004), not by a case ---------------------------


def unit_procedure_id(unit: str, year: int) -> UUID:
    """One procedure per unit and assessment year (a case's is :func:`procedure_id`)."""
    return uuid5(NAMESPACE, f"procedure:unit:{unit}:{year}")


class UnitAccountabilityProcedure(Decisions, Aggregate):
    """问责程序 for a unit's main leader (主要负责人), opened by the unit's annual assessment —
    last in its assessment group two years running (004: 连续两年考核列小组末位的, 对主要负责人
    要启动问责程序) — not by a case. The same decision steps as a case's procedure: findings
    per target (or a reasoned finding that no one is accountable) → decided → closed. No
    report back is owed (the source is the office's own assessment) and nothing else joins
    it: one procedure per unit and year, whatever replays its trigger."""

    id: UUID

    @classmethod
    def open_for_unit(
        cls, *, unit: str, year: int, group: str, trigger: str, reason: str, actor: Actor
    ) -> UnitAccountabilityProcedure:
        return cls(  # type: ignore[call-arg]  # the library takes id= for any aggregate
            id=unit_procedure_id(unit, year),
            unit=unit,
            year=year,
            group=group,
            trigger=trigger,
            reason=reason,
            actor=actor,
        )

    @event("Opened")
    def __init__(
        self, *, unit: str, year: int, group: str, trigger: str, reason: str, actor: Actor
    ) -> None:
        self.unit, self.year, self.group = unit, year, group
        self.triggers: list[dict[str, Any]] = [{"trigger": trigger, "reason": reason, "round": 1}]
        self.report_back_required = False
        self.stage = OPEN
        self.round = 1
        self.findings: list[dict[str, Any]] = []  # every finding, corrections included
        self.no_accountability: dict[str, Any] | None = None
        self.reported: dict[str, Any] | None = None

    def _subject(self) -> dict[str, Any]:
        return {"unit": self.unit, "year": self.year}

    @event("FindingRecorded")
    def _finding_recorded(
        self,
        n: int,
        corrects: int | None,
        record: dict[str, Any],
        legacy: bool,
        unit: str,
        year: int,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.findings.append({**record, "n": n, "corrects": corrects, "legacy": legacy})

    @event("NoAccountabilityFound")
    def _no_one_accountable(
        self,
        reason: str,
        decided_by: str,
        decided_on: date,
        unit: str,
        year: int,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.no_accountability = {
            "reason": reason,
            "decided_by": decided_by,
            "decided_on": decided_on,
            "round": self.round,
        }

    @event("Decided")
    def _decided(
        self,
        findings: int,
        no_accountability: bool,
        unit: str,
        year: int,
        stage: str,
        round: int,
        actor: Actor,
    ) -> None:
        self.stage = stage

    @event("Closed")
    def _closed(self, unit: str, year: int, stage: str, round: int, actor: Actor) -> None:
        self.stage = stage
