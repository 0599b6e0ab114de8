"""The accountability procedure's commands and reactions, on tracking's event store.

A mixin of tracking's Application (``tracking/service.py`` joins it with the follow-up's):
the procedure is an aggregate of its own in the same store. What it needs of the follow-up —
whether the case is known and still open — is :meth:`case_status`, filled by the service.
Each command: get → command → save; a reaction returns the aggregates to save.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.tracking.accountability.domain import (
    AccountabilityProcedure,
    Actor,
    Decisions,
    UnitAccountabilityProcedure,
    procedure_id,
    unit_procedure_id,
)
from services.tracking.accountability.errors import (
    CaseNotFound,
    ProcedureNotFound,
    UnitProcedureNotFound,
)
from services.tracking.accountability.rules import default_liability
from services.tracking.accountability.tables import TABLES_ID, AccountabilityTables
from services.tracking.accountability.tally import SupervisionTally, tally_id
from shared.contracts.vocabulary import ORIGIN_RANK, AccountabilityTrigger, CaseStatus, Channel
from shared.platform.calendar import WorkingCalendar
from shared.platform.clock import Clock, SystemClock
from shared.platform.eventstore import ServiceApplication
from shared.platform.settings import AccountabilityRules

MAX_CONFLICT_RETRIES = 5
HIGHER = AccountabilityTrigger.HIGHER_SOURCE.value
# Always a higher level's: 上级转办, 领导批示, 电视问政 (001: 市以上媒体含"电视问政"曝光).
HIGHER_CHANNELS: dict[str, str] = {
    Channel.HIGHER_REFERRAL: "上级转办/督办的问题",
    Channel.LEADER_INSTRUCTION: "领导批示的问题",
    Channel.TV_INQUIRY: "电视问政曝光的问题",
}


@dataclass(frozen=True)
class Done:
    """The procedure after a command, and where its last event sits in tracking's log."""

    case_id: UUID
    stage: str
    round: int
    position: int | None
    n: int | None = None


@dataclass(frozen=True)
class UnitDone:
    """A unit's procedure after a command, and where its last event sits in tracking's log."""

    unit: str
    year: int
    stage: str
    round: int
    position: int | None
    n: int | None = None


class AccountabilityCommands(ServiceApplication):
    """问责程序 commands; ``rules``, ``clock`` and ``calendar`` are set by the service."""

    rules: AccountabilityRules = AccountabilityRules()
    clock: Clock = SystemClock()
    calendar: WorkingCalendar = WorkingCalendar()

    def case_state(self, case_id: UUID) -> tuple[str, int] | None:
        """The case's follow-up status and pass (``None``: not on tracking's books)."""
        raise NotImplementedError

    def case_status(self, case_id: UUID) -> str | None:
        state = self.case_state(case_id)
        return None if state is None else state[0]

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.calendar.timezone)

    # --- queries ------------------------------------------------------------------------

    def procedure(self, case_id: UUID) -> AccountabilityProcedure | None:
        try:
            found: object = self.repository.get(procedure_id(case_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, AccountabilityProcedure) else None

    def get_procedure(self, case_id: UUID) -> AccountabilityProcedure:
        found = self.procedure(case_id)
        if found is None:
            raise ProcedureNotFound(case_id)
        return found

    def tally(self, case_id: UUID) -> SupervisionTally | None:
        try:
            found: object = self.repository.get(tally_id(case_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, SupervisionTally) else None

    def accountability_blockers(self, case_id: UUID) -> list[dict[str, str]]:
        found = self.procedure(case_id)
        return [] if found is None else found.missing_for_close_out()

    # --- what opens a procedure ----------------------------------------------------------

    def is_higher(self, origin: dict[str, Any] | None) -> bool:
        if not origin:
            return False
        return ORIGIN_RANK.get(origin.get("level", ""), -1) > ORIGIN_RANK[self.rules.own_level]

    def triggered(
        self,
        case_id: UUID,
        trigger: str,
        reason: str,
        actor: Actor,
        origin: dict[str, Any] | None = None,
        *,
        automatic: bool = True,
        at: datetime | None = None,
    ) -> list[AccountabilityProcedure]:
        """Open the case's procedure, or add the trigger to it; a trigger that comes by
        itself changes nothing on a case closed out (an upgrade's replay of old tips).
        ``at``: when the event that brought the trigger happened — the report back is owed
        from then, whenever (and on whichever replica's clock) it is handled here."""
        if automatic and self.case_status(case_id) == CaseStatus.CLOSED_OUT:
            return []
        due = self.report_back_due(at) if trigger == HIGHER else None
        found = self.procedure(case_id)
        if found is None:
            return [
                AccountabilityProcedure.open(
                    case_id=case_id,
                    trigger=trigger,
                    reason=reason,
                    origin=origin,
                    report_back_due=due,
                    actor=actor,
                )
            ]
        added = found.add_trigger(
            trigger=trigger, reason=reason, origin=origin, report_back_due=due, actor=actor
        )
        return [found] if added else []

    def report_back_due(self, since: datetime | None = None) -> datetime:
        start = self.now() if since is None else since.astimezone(self.calendar.timezone)
        return self.calendar.add_working_days(start, self.rules.report_back_working_days).at

    # --- the office's commands -----------------------------------------------------------

    def open_procedure(self, case_id: UUID, reason: str, actor: Actor) -> Done:
        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            trigger = AccountabilityTrigger.OFFICE.value
            opened = self.triggered(case_id, trigger, reason, actor, automatic=False)
            return opened[0] if opened else self._existing(found, case_id)

        return self._change_procedure(case_id, command)

    def record_finding(
        self, case_id: UUID, record: dict[str, Any], *, legacy: bool, actor: Actor
    ) -> Done:
        """A §6 record on a case without a procedure opens one (the office's) first."""
        record = self._completed(record, legacy)
        numbered: list[int] = []

        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            if found is None:
                reason = "记录问责决定 (a decision recorded without a procedure)"
                office = AccountabilityTrigger.OFFICE.value
                found = self.triggered(case_id, office, reason, actor, automatic=False)[0]
            numbered.append(found.record_finding(record, legacy=legacy, actor=actor))
            return found

        done = self._change_procedure(case_id, command)
        return Done(done.case_id, done.stage, done.round, done.position, numbered[-1])

    def correct_finding(
        self, case_id: UUID, n: int, record: dict[str, Any], reason: str, actor: Actor
    ) -> Done:
        record = self._completed(record, legacy=False)
        numbered: list[int] = []

        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            found = self._existing(found, case_id)
            numbered.append(found.correct_finding(n, record, reason, actor=actor))
            return found

        done = self._change_procedure(case_id, command)
        return Done(done.case_id, done.stage, done.round, done.position, numbered[-1])

    def find_no_one_accountable(
        self, case_id: UUID, *, reason: str, decided_by: str, decided_on: date, actor: Actor
    ) -> Done:
        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            found = self._existing(found, case_id)
            found.find_no_one_accountable(
                reason=reason, decided_by=decided_by, decided_on=decided_on, actor=actor
            )
            return found

        return self._change_procedure(case_id, command)

    def report_back(
        self,
        case_id: UUID,
        *,
        reported_to: str,
        content: str,
        reported_on: date | None,
        actor: Actor,
    ) -> Done:
        day = reported_on or self.now().date()

        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            found = self._existing(found, case_id)
            due = found.report_back_due
            on_time = due is None or day <= due.astimezone(self.calendar.timezone).date()
            found.report_back(
                reported_to=reported_to,
                content=content,
                reported_on=day,
                on_time=on_time,
                actor=actor,
            )
            return found

        return self._change_procedure(case_id, command)

    def remind_report_back(self, case_id: UUID, missed: bool, actor: Actor) -> Done:
        """催办 (near) or 督办 (past) on the report-back deadline, once each (ADR 32)."""

        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            procedure = self._existing(found, case_id)
            procedure.remind_report_back(missed=missed, actor=actor)
            return procedure

        return self._change_procedure(case_id, command)

    def publish_typical(
        self, case_id: UUID, *, kind: str, title: str, text: str, keep_names: bool, actor: Actor
    ) -> Done:
        def command(found: AccountabilityProcedure | None) -> AccountabilityProcedure:
            found = self._existing(found, case_id)
            found.publish_typical(
                kind=kind, title=title, text=text, keep_names=keep_names, actor=actor
            )
            return found

        return self._change_procedure(case_id, command)

    # --- a unit's procedure, opened by its assessment (004), not by a case -----------------

    def unit_procedure(self, unit: str, year: int) -> UnitAccountabilityProcedure | None:
        try:
            found: object = self.repository.get(unit_procedure_id(unit, year))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, UnitAccountabilityProcedure) else None

    def get_unit_procedure(self, unit: str, year: int) -> UnitAccountabilityProcedure:
        found = self.unit_procedure(unit, year)
        if found is None:
            raise UnitProcedureNotFound(f"{unit}:{year}")
        return found

    def unit_triggered(
        self, unit: str, year: int, group: str, actor: Actor
    ) -> list[UnitAccountabilityProcedure]:
        """Open the procedure for the unit's main leader that the year's assessment calls for
        (last in its group two years running); nothing when it is open already — the same
        trigger replayed opens nothing twice."""
        if self.unit_procedure(unit, year) is not None:
            return []
        reason = f"{year}年度考核连续两年列{group}小组末位,对主要负责人启动问责程序"
        return [
            UnitAccountabilityProcedure.open_for_unit(
                unit=unit,
                year=year,
                group=group,
                trigger=AccountabilityTrigger.LAST_PLACE_TWICE.value,
                reason=reason,
                actor=actor,
            )
        ]

    def record_unit_finding(
        self, unit: str, year: int, record: dict[str, Any], actor: Actor
    ) -> UnitDone:
        """A decision about the unit's main leader (or its leadership team): the person's
        unit is the procedure's."""
        record = self._completed({**record, "unit": unit}, legacy=False)
        return self._change_unit_procedure(
            unit, year, lambda p: p.record_finding(record, legacy=False, actor=actor)
        )

    def correct_unit_finding(
        self, unit: str, year: int, n: int, record: dict[str, Any], reason: str, actor: Actor
    ) -> UnitDone:
        record = self._completed({**record, "unit": unit}, legacy=False)
        return self._change_unit_procedure(
            unit, year, lambda p: p.correct_finding(n, record, reason, actor=actor)
        )

    def find_no_one_accountable_in_unit(
        self, unit: str, year: int, *, reason: str, decided_by: str, decided_on: date, actor: Actor
    ) -> UnitDone:
        def command(p: Decisions) -> None:
            p.find_no_one_accountable(
                reason=reason, decided_by=decided_by, decided_on=decided_on, actor=actor
            )

        return self._change_unit_procedure(unit, year, command)

    def _change_unit_procedure(
        self, unit: str, year: int, command: Callable[[UnitAccountabilityProcedure], Any]
    ) -> UnitDone:
        for _ in range(MAX_CONFLICT_RETRIES):
            found = self.get_unit_procedure(unit, year)
            answer = command(found)
            try:
                recordings = self.save(found)
            except IntegrityError:
                continue
            position = recordings[-1].notification.id if recordings else None
            n = answer if isinstance(answer, int) else None
            return UnitDone(unit, year, found.stage, found.round, position, n)
        raise RuntimeError(f"accountability procedure of {unit} {year} kept changing under us")

    # --- the office's tables ----------------------------------------------------------

    def tables(self) -> AccountabilityRules:
        """The rules with the office's tables, where it has set them."""
        try:
            found: object = self.repository.get(TABLES_ID)
        except AggregateNotFoundError:
            return self.rules
        if not isinstance(found, AccountabilityTables) or found.floors is None:
            return self.rules
        return self.rules.model_copy(
            update={"award_bar_measures": found.award_bar_measures, "floors": found.floors}
        )

    def set_tables(
        self, award_bar_measures: list[str], floors: dict[str, str], actor: Actor
    ) -> AccountabilityRules:
        try:
            found: object = self.repository.get(TABLES_ID)
        except AggregateNotFoundError:
            found = AccountabilityTables.create()
        assert isinstance(found, AccountabilityTables)
        found.set(award_bar_measures, floors, actor)
        self.save(found)
        return self.tables()

    # --- helpers -------------------------------------------------------------------------

    def _completed(self, record: dict[str, Any], legacy: bool) -> dict[str, Any]:
        """The §6 form's defaults (ADR 19): liability by target kind, grounds from the note,
        the decision dated the day it is recorded."""
        record = dict(record)
        if record.get("liability") is None:
            record["liability"] = default_liability(record["target_kind"])
        if legacy:
            record.setdefault("grounds", record.get("note"))
            if record.get("decided_on") is None:
                record["decided_on"] = self.now().date()
        return record

    @staticmethod
    def _existing(found: AccountabilityProcedure | None, case_id: UUID) -> AccountabilityProcedure:
        if found is None:
            raise ProcedureNotFound(case_id)
        return found

    def _change_procedure(
        self,
        case_id: UUID,
        command: Callable[[AccountabilityProcedure | None], AccountabilityProcedure],
    ) -> Done:
        for _ in range(MAX_CONFLICT_RETRIES):
            if self.case_status(case_id) is None:
                raise CaseNotFound(case_id)
            changed = command(self.procedure(case_id))
            try:
                recordings = self.save(changed)
            except IntegrityError:
                continue
            position = recordings[-1].notification.id if recordings else None
            return Done(case_id, changed.stage, changed.round, position)
        raise RuntimeError(f"accountability procedure of {case_id} kept changing under us")
