"""Dispatch: the office's and the units' commands on cases.

Each command is get → command → save, tried again on the fresh state when another writer
(a replica, the reminder scheduler) changed the case meanwhile. Times come from the clock
(``shared.platform.clock``), deadlines from :class:`DeadlineRules` on the calendar as known now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from services.dispatch.calendar_years import CalendarYears
from services.dispatch.category_mirror import CategoryMirror
from services.dispatch.deadlines import DeadlineRules
from services.dispatch.directory import CaseNumber, RoutingTable, Unit, UnitDirectory
from services.dispatch.directory_commands import DirectoryCommands
from services.dispatch.domain import Case
from services.dispatch.errors import Busy, Invalid, NoSuchCase, WrongState
from services.dispatch.routing import TipFacts, first_match, suggestion
from shared.contracts import SYSTEM_ACTOR
from shared.contracts.vocabulary import CaseStatus, Channel, Track
from shared.platform.clock import Clock, SystemClock
from shared.platform.settings import DeadlinePolicy

MAX_ATTEMPTS = 8
Actor = dict[str, Any]
Guard = Callable[[Case], None]
# The caller's row scope while it runs one command on one case (see ``guarded``).
_GUARD: ContextVar[tuple[UUID, Guard] | None] = ContextVar("dispatch_guard", default=None)

# Flagged for the accountability procedure the moment they arrive (SPEC §3).
FLAGGED_CHANNELS = {
    Channel.UNDERCOVER_VISIT: "明察暗访发现的问题,即时启动问责程序 (undercover finding)",
    Channel.MEDIA: "新闻媒体曝光的问题,即时启动问责程序 (media exposure)",
    Channel.TV_INQUIRY: "电视问政曝光的问题,即时启动问责程序 (exposed on a televised inquiry)",
}


# The triage desk's cases (schedule.desk): one click dispatches only these.
ON_THE_DESK = frozenset({CaseStatus.REGISTERED.value, CaseStatus.RETURNED.value})
NOT_SUGGESTED = (
    "该规则已不是本案的分办建议(规则或案件已有变化),请刷新待分办页后再试 "
    "(the rule no longer applies to this case)"
)


class DispatchApplication(DirectoryCommands, CalendarYears):
    name = "Dispatch"
    # Long-lived aggregates are loaded from a snapshot and the events after it, not from
    # their first event (issue 24): the directory grows by a unit at a time, a unit, the
    # rules and the catalogue's mirror change for years (ADR 29). A case is not snapshotted
    # yet: its state has not been proven to round-trip through the transcoder.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        UnitDirectory: 100,
        Unit: 20,
        RoutingTable: 20,
        CategoryMirror: 100,
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        policy: DeadlinePolicy | None = None,
        clock: Clock | None = None,
        timezone: str = "Asia/Shanghai",
        signed_form_required: bool = False,
    ) -> None:
        super().__init__(env)
        self.signed_form_required = signed_form_required  # TAIZHANG_REQUIRE_SIGNED_FORM
        self.policy = policy or DeadlinePolicy()
        self.clock = clock or SystemClock()
        self.tz = ZoneInfo(timezone)

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    # --- queries -------------------------------------------------------------------------------

    def find_case(self, case_id: UUID) -> Case | None:
        try:
            case: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        return case if isinstance(case, Case) else None

    def get_case(self, case_id: UUID) -> Case:
        case = self.find_case(case_id)
        if case is None:
            raise NoSuchCase(str(case_id))
        guard = _GUARD.get()
        if guard is not None and guard[0] == case.id:
            guard[1](case)
        return case

    @contextmanager
    def guarded(self, case_id: UUID, guard: Guard) -> Iterator[None]:
        """Commands on ``case_id`` inside this block check ``guard`` (the caller's row scope)
        on the case as they load it: once per attempt, on the state they decide on."""
        token = _GUARD.set((case_id, guard))
        try:
            yield
        finally:
            _GUARD.reset(token)

    def case_by_reference(self, reference: str) -> Case:
        """A case by its id or its number (``2026-000123``)."""
        try:
            return self.get_case(UUID(reference))
        except ValueError:
            pass
        index = self._find(CaseNumber.create_id(reference))
        if not isinstance(index, CaseNumber):
            raise NoSuchCase(reference)
        return self.get_case(index.case_id)

    # --- a tip arrives (the caller saves, with the message's tracking record) ------------------

    def open_case(self, tip: Any, actor: Actor) -> list[Aggregate]:
        """Open the case; route it when a rule matches; flag exposures at once."""
        case = Case(  # type: ignore[call-arg]  # the library takes id= for any aggregate
            id=tip.case_id,
            number=tip.number,
            channel=tip.channel,
            category=tip.category,
            summary=tip.summary,
            content=tip.content,
            location=tip.location,
            named=tip.named,
            registered_at=tip.registered_at,
            actor=actor,
        )
        if tip.channel in FLAGGED_CHANNELS:
            case.flag_for_accountability(reason=FLAGGED_CHANNELS[tip.channel], actor=SYSTEM_ACTOR)
        facts = TipFacts.of(tip.channel, tip.category, tip.location, tip.content, tip.summary)
        rule = first_match(self.routing_rules(), facts)
        if rule is not None and self._active(rule["lead_unit"]):
            case.triage(
                track=rule["track"],
                category=None,
                note=None,
                rule_id=rule["id"],
                actor=SYSTEM_ACTOR,
            )
            if rule["track"] != Track.KEY_RECTIFICATION:  # the plan's deadline comes by hand
                now = self.now()
                case.dispatch(
                    lead_unit=rule["lead_unit"],
                    co_units=rule["co_units"],
                    handle_working_days=None,
                    now=now,
                    rules=self.deadline_rules(now),
                    actor=SYSTEM_ACTOR,
                    rule_id=rule["id"],
                )
        return [case, CaseNumber(number=tip.number, case_id=tip.case_id)]

    # --- the office ----------------------------------------------------------------------------

    def triage(
        self,
        case_id: UUID,
        track: str,
        category: str | None,
        note: str | None,
        actor: Actor,
        origin: dict[str, Any] | None = None,
    ) -> Case:
        def command(case: Case) -> None:
            if origin:
                case.record_origin(origin=origin, actor=actor)
            case.triage(track=track, category=code, note=note, actor=actor)

        code = self.category_code(category)  # a Chinese name is kept as its code
        return self._change(case_id, command)[0]

    def merge(self, case_id: UUID, into: str, reason: str | None, actor: Actor) -> Case:
        for _ in range(MAX_ATTEMPTS):
            case = self.get_case(case_id)
            try:
                target = self.case_by_reference(into)
            except NoSuchCase:
                raise Invalid("into", f"没有找到案件 {into} (no such case)") from None
            case.merge_into(target=target, reason=reason, actor=actor)
            try:
                self.save(case, target)
            except IntegrityError:
                continue
            return case
        raise _busy()

    def not_accept(self, case_id: UUID, reason: str, actor: Actor) -> Case:
        return self._change(case_id, lambda c: c.not_accept(reason=reason, actor=actor))[0]

    def dispatch(
        self,
        case_id: UUID,
        lead_unit: str,
        co_units: list[str],
        handle_working_days: int | None,
        actor: Actor,
    ) -> Case:
        now = self.now()

        def command(case: Case) -> None:
            self._check_units(lead_unit, co_units)  # after the case is found: 404 before 422
            case.dispatch(
                lead_unit=lead_unit,
                co_units=co_units,
                handle_working_days=handle_working_days,
                now=now,
                rules=self.deadline_rules(now),
                actor=actor,
            )

        return self._change(case_id, command)[0]

    def suggested_rule(self, case: Case, rules: list[Any] | None = None) -> dict[str, Any] | None:
        """The routing rule that would dispatch this case now (the desk's suggestion)."""
        facts = TipFacts.of(case.channel, case.category, case.location, case.content, case.summary)
        return suggestion(self.routing_rules() if rules is None else rules, facts, self._active)

    def dispatch_by_rule(self, case_id: UUID, rule_id: str, actor: Actor) -> Case:
        """一键交办: triaged and dispatched as the suggested rule says, both events naming the
        rule and the person who clicked. A rule that no longer applies is a 422."""
        now = self.now()

        def command(case: Case) -> None:
            if case.status not in ON_THE_DESK:
                raise WrongState(case.status, "dispatch_by_rule")
            rule = self.suggested_rule(case)
            if rule is None or rule["id"] != rule_id:
                raise Invalid("rule_id", NOT_SUGGESTED)
            case.triage(track=rule["track"], category=None, note=None, actor=actor, rule_id=rule_id)
            case.dispatch(
                lead_unit=rule["lead_unit"],
                co_units=[c for c in rule["co_units"] if self._active(c)],
                handle_working_days=None,
                now=now,
                rules=self.deadline_rules(now),
                actor=actor,
                rule_id=rule_id,
            )

        return self._change(case_id, command)[0]

    def overrule_return(self, case_id: UUID, reason: str, actor: Actor) -> Case:
        now = self.now()
        return self._change(
            case_id,
            lambda c: c.overrule_return(
                reason=reason, now=now, rules=self.deadline_rules(now), actor=actor
            ),
        )[0]

    def decide_extension(
        self, case_id: UUID, n: int, granted: bool, reason: str | None, actor: Actor
    ) -> Case:
        return self._change(
            case_id,
            lambda c: c.decide_extension(
                n=n, granted=granted, reason=reason, rules=self._rules_for(c), actor=actor
            ),
        )[0]

    def review_result(
        self, case_id: UUID, n: int, accepted: bool, reason: str | None, actor: Actor
    ) -> Case:
        return self._change(
            case_id, lambda c: c.review_result(n=n, accepted=accepted, reason=reason, actor=actor)
        )[0]

    # --- the units -----------------------------------------------------------------------------

    def sign(self, case_id: UUID, unit: str | None, actor: Actor) -> Case:
        now = self.now()
        return self._change(case_id, lambda c: c.sign(unit=unit, now=now, actor=actor))[0]

    def return_case(self, case_id: UUID, unit: str | None, reason: str, actor: Actor) -> Case:
        now = self.now()
        return self._change(
            case_id,
            lambda c: c.return_case(
                unit=unit, reason=reason, now=now, rules=self._rules_for(c), actor=actor
            ),
        )[0]

    def request_extension(
        self, case_id: UUID, unit: str | None, working_days: int, reason: str, actor: Actor
    ) -> tuple[Case, int]:
        now = self.now()
        return self._change(
            case_id,
            lambda c: c.request_extension(
                unit=unit,
                working_days=working_days,
                reason=reason,
                now=now,
                rules=self._rules_for(c),
                actor=actor,
            ),
        )

    def report_progress(self, case_id: UUID, unit: str | None, note: str, actor: Actor) -> Case:
        now = self.now()
        return self._change(
            case_id, lambda c: c.report_progress(unit=unit, note=note, now=now, actor=actor)
        )[0]

    def submit_result(
        self, case_id: UUID, unit: str | None, result: dict[str, Any], actor: Actor
    ) -> tuple[Case, int]:
        now = self.now()
        required = self.signed_form_required
        return self._change(
            case_id,
            lambda c: c.submit_result(
                unit=unit, result=result, now=now, actor=actor, signed_form_required=required
            ),
        )

    # --- files on a case (anyone in its row scope; the store checked the bytes) ---------------

    def attach(
        self, case_id: UUID, stored: dict[str, Any], purpose: str, actor: Actor
    ) -> dict[str, Any]:
        now = self.now()
        return self._change(
            case_id, lambda c: c.attach(**stored, purpose=purpose, now=now, actor=actor)
        )[1]

    def attach_tip_evidence(
        self, case_id: UUID, files: list[dict[str, Any]], at: datetime, actor: Actor
    ) -> list[Case]:
        """线索证据 that came with the tip (the caller saves, with the message's tracking
        record); a file already on the case as evidence is not added again."""
        case = self.get_case(case_id)
        for f in files:
            case.attach(
                digest=f["digest"],
                media_type=f["media_type"],
                size=f["size"],
                purpose="evidence",
                now=at.astimezone(self.tz),
                actor=actor,
            )
        return [case]

    def record_cleaned(
        self, case_id: UUID, cleaned: list[tuple[int, str, str, int]], by: Actor
    ) -> int:
        """Files of the case cleaned after they were kept, as ``(n, old digest, new digest,
        new size)``: one save for the case; how many it records (0 when done before)."""
        now = self.now()

        def clean(case: Case) -> int:
            return sum(
                case.record_cleaned(n=n, old_digest=was, digest=to, size=size, now=now, actor=by)
                for n, was, to, size in cleaned
            )

        return int(self._change(case_id, clean)[1])

    def approve_for_public(self, case_id: UUID, digest: str, actor: Actor) -> dict[str, Any]:
        """公开: the office lets the public portal show an image or video of the case."""
        now = self.now()
        return self._change(
            case_id, lambda c: c.approve_for_public(digest=digest, now=now, actor=actor)
        )[1]

    def withdraw_from_public(
        self, case_id: UUID, digest: str, reason: str, actor: Actor
    ) -> dict[str, Any]:
        """撤回公开, with the office's reason."""
        now = self.now()
        return self._change(
            case_id,
            lambda c: c.withdraw_from_public(digest=digest, reason=reason, now=now, actor=actor),
        )[1]

    def record_download(self, case_id: UUID, digest: str, actor: Actor) -> dict[str, Any]:
        now = self.now()
        return self._change(
            case_id, lambda c: c.record_download(digest=digest, now=now, actor=actor)
        )[1]

    # --- the system ----------------------------------------------------------------------------

    def reopen_for_second_pass(self, case_id: UUID, pass_no: int, actor: Actor) -> list[Case]:
        """二次办理 (the caller saves, with the message's tracking record)."""
        case = self.get_case(case_id)
        now = self.now()
        reopened = case.reopen_for_second_pass(
            pass_no=pass_no, now=now, rules=self.deadline_rules(now), actor=actor
        )
        return [case] if reopened else []

    def check_deadlines(self, case_id: UUID) -> Case:
        now = self.now()
        return self._change(
            case_id,
            lambda c: c.check_deadlines(now=now, rules=self._rules_for(c), actor=SYSTEM_ACTOR),
        )[0]

    def recalculate(self, case_id: UUID) -> bool:
        """Count the case's provisional deadlines again on the calendar as now known."""
        return bool(
            self._change(
                case_id, lambda c: c.recalculate(rules=self._rules_for(c), actor=SYSTEM_ACTOR)
            )[1]
        )

    # --- helpers -------------------------------------------------------------------------------

    def deadline_rules(self, *moments: datetime) -> DeadlineRules:
        return DeadlineRules(self.policy, self.working_calendar(*moments))

    def _rules_for(self, case: Case) -> DeadlineRules:
        """Rules on a calendar covering the case's deadlines and now."""
        return self.deadline_rules(self.now(), *(d["start"] for d in case.deadlines.values()))

    def _change(self, case_id: UUID, command: Callable[[Case], Any]) -> tuple[Case, Any]:
        for _ in range(MAX_ATTEMPTS):
            case = self.get_case(case_id)
            answer = command(case)
            if not case.pending_events:
                return case, answer
            try:
                self.save(case)
            except IntegrityError:
                continue  # changed meanwhile: decide again on the new state
            return case, answer
        raise _busy()

    def _active(self, code: str) -> bool:
        unit = self._find(Unit.create_id(code))
        return isinstance(unit, Unit) and unit.active

    def _check_units(self, lead_unit: str, co_units: list[str]) -> None:
        problems = [] if self._active(lead_unit) else [("lead_unit", _inactive(lead_unit))]
        problems += [("co_units", _inactive(c)) for c in co_units if not self._active(c)]
        if len(set(co_units)) != len(co_units):
            problems.append(("co_units", "协办单位重复 (a co-unit is listed twice)"))
        if problems:
            raise Invalid(*problems[0], *problems[1:])


def _inactive(code: str) -> str:
    return f"单位 {code} 不存在或已停用 (unknown or inactive unit)"


def _busy() -> Busy:
    return Busy("案件正被同时修改,请重试 (the case is being changed right now; retry)")
