"""The tracking service: the follow-up (its write side, ``followup``) and the ledger (the read
model of all three services, ``ledger``) in one process. This is the one module that knows
both wings; they never import each other.

The follow-up's Application is the service's event store; the ledger's tables are its read
tables. One join is asked for by the follow-up (``followup.deps.ReceiptCases``): which case a
reporter's receipt code names, answered here from the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from services.tracking.accountability import contract as accountability_contract
from services.tracking.accountability.application import AccountabilityCommands
from services.tracking.accountability.domain import AccountabilityProcedure
from services.tracking.accountability.policy import FOLLOW_UP_TRIGGERS, accountability_handlers
from services.tracking.assessment import contract as assessment_contract
from services.tracking.assessment import rules as assessment_rules
from services.tracking.assessment.application import AssessmentOffice, UnitFigures
from services.tracking.assessment.domain import AssessmentYear, Finding
from services.tracking.assessment.sweep import RoundReminders
from services.tracking.followup import contract as followup_contract
from services.tracking.followup.application import TrackingApplication
from services.tracking.followup.contract import to_contract
from services.tracking.followup.deps import RatedCase
from services.tracking.followup.domain import FollowUp
from services.tracking.followup.policy import follow_up_policy
from services.tracking.ledger import audit
from services.tracking.ledger.projection import ledger_projection
from services.tracking.ledger.reader import Ledger
from services.tracking.ledger.reports import kpis, summaries
from services.tracking.ledger.reports.documents import text
from services.tracking.ledger.reports.kpis import deadline_counts
from services.tracking.ledger.retention import ReadRetention
from services.tracking.ledger.tables import MIGRATIONS
from services.tracking.ledger.warnings import warnings_projection
from services.tracking.reminders import TrackingReminders
from shared.contracts import SYSTEM_ACTOR, Contract
from shared.platform.calendar import WorkingCalendar
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings
from shared.web.auth import Principal, Role

STOP_TIMEOUT_SECONDS = 15.0
# The assessment reads the ledger as the office does.
_OFFICE = Principal(id="system:assessment", name="考核", role=Role.OFFICE)
# 004: 连续两年考核列小组末位 — the assessment's trigger the accountability procedure consumes.
UNIT_TRIGGERED: type = AssessmentYear.AccountabilityProcedureTriggered  # type: ignore[attr-defined]


class TrackingStore(AccountabilityCommands, TrackingApplication):
    """Tracking's one event store: the follow-up's commands and the accountability
    procedure's, joined through the ports each wing declares (ADR 19)."""

    name = "Tracking"

    def case_state(self, case_id: UUID) -> tuple[str, int] | None:
        follow_up = self.find(case_id)
        return None if follow_up is None else (follow_up.status, follow_up.pass_no)

    def close_out_blockers(self, case_id: UUID) -> list[dict[str, str]]:
        return self.accountability_blockers(case_id)

    def assessment_consequences(self, year: AssessmentYear) -> list[Any]:
        """A year's assessment that finds a unit last in its group two years running opens
        the procedure for the unit's main leader (004) in the same transaction."""
        opened: list[Any] = []
        for pending in year.pending_events:
            if type(pending) is UNIT_TRIGGERED:
                e: Any = pending
                opened += self.unit_triggered(e.unit, year.year, e.group, e.actor)
        return opened

    def recorded_unit_triggers(self) -> list[tuple[str, int, str, dict[str, Any]]]:
        """(unit, year, group, actor) of every trigger the assessment has recorded, read from
        the store's log (those recorded before the procedure consumed them included)."""
        topic = get_topic(UNIT_TRIGGERED)
        found, start = [], 1
        while batch := self.recorder.select_notifications(start, 500, topics=[topic]):
            for notification in batch:
                event: Any = self.mapper.to_domain_event(notification)
                year: int = self.repository.get(event.originator_id).year
                found.append((event.unit, year, event.group, event.actor))
            start = batch[-1].id + 1
        return found

    def open_for_recorded_triggers(self, *, dry_run: bool = False) -> tuple[int, int]:
        """Open the procedure of every recorded trigger that has none (idempotent: a second
        run opens nothing); ``(triggers, opened)`` — with ``dry_run``, what would open."""
        triggers = self.recorded_unit_triggers()
        opened = 0
        for unit, year, group, actor in triggers:
            procedures = self.unit_triggered(unit, year, group, actor)
            if procedures and not dry_run:
                try:
                    self.save(*procedures)
                except IntegrityError:
                    continue  # a replica opened it a moment ago
            opened += len(procedures)
        return len(triggers), opened

    def consequences(self, follow_up: FollowUp) -> list[Any]:
        """A second pass or a second dissatisfied opens the procedure in the same
        transaction, so that no close-out slips in between."""
        changed: list[AccountabilityProcedure] = []
        for pending in follow_up.pending_events:
            trigger = FOLLOW_UP_TRIGGERS.get(type(pending).__name__)
            if trigger is not None and not changed:
                actor = getattr(pending, "actor", None) or SYSTEM_ACTOR
                changed = self.triggered(follow_up.id, trigger[0], trigger[1], actor)
        return list(changed)


class TrackingService(ServiceBase[TrackingApplication]):
    name = "tracking"
    read_migrations = MIGRATIONS
    reminders: TrackingReminders
    retention: ReadRetention
    round_reminders: RoundReminders
    _reminding: asyncio.Task[None] | None = None
    _pruning: asyncio.Task[None] | None = None
    _round_reminding: asyncio.Task[None] | None = None

    def __init__(self, settings: Settings, secrets: Secrets, clock: Clock | None = None) -> None:
        super().__init__(settings, secrets)
        self.clock: Clock = clock or clock_for(settings)
        self._ledger: Ledger | None = None
        self._assessment: AssessmentOffice | None = None

    def build(self, env: dict[str, str]) -> TrackingStore:
        store = TrackingStore(env)
        store.rules = self.settings.accountability
        store.second_pass_starters = frozenset(self.settings.second_pass_starters)
        store.clock = self.clock
        store.calendar = WorkingCalendar(timezone=self.settings.timezone)
        return store

    async def started(self) -> None:
        self._ledger = Ledger(self.settings, self.secrets, self.clock, self.reads, self.writes)
        self._ledger.read_audit.start()
        if self.background:  # the portal's images: a bucket that does not answer is refused
            await asyncio.to_thread(self._ledger.attachments.check_reachable)
        store = self.app
        if isinstance(store, TrackingStore):
            self._ledger.accountability_rules = store.tables
        rules, honour_rules = assessment_rules.configured(self.settings.assessment)
        self._assessment = AssessmentOffice(
            self.app,
            LedgerSources(self),
            rules,
            timezone=self.settings.timezone,
            now=self.now,
            honour_rules=honour_rules,
            consequences=store.assessment_consequences
            if isinstance(store, TrackingStore)
            else None,
        )
        self.round_reminders = RoundReminders(
            self._assessment, self.now, self.settings.scheduler_interval_seconds
        )
        if self.background:
            self._round_reminding = asyncio.create_task(self.round_reminders.run())
        if isinstance(store, TrackingStore):
            ledger = self._ledger
            self.reminders = TrackingReminders(
                store, self.reads, ledger.context, self.settings.scheduler_interval_seconds
            )
            if self.background:
                self._reminding = asyncio.create_task(self.reminders.run())
        self.retention = ReadRetention(
            self.writes,
            self.now,
            self.settings.read_audit_retention_days,
            self.settings.scheduler_interval_seconds,
        )
        if self.background:
            self._pruning = asyncio.create_task(self.retention.run())

    async def stopping(self) -> None:
        if self._reminding is not None:
            self.reminders.stop()
        if self._pruning is not None:
            self.retention.stop()
        if self._round_reminding is not None:
            self.round_reminders.stop()
        timers = (self._reminding, self._pruning, self._round_reminding)
        tasks = {t for t in timers if t is not None}
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()
        if self._ledger is not None:
            await self._ledger.read_audit.close()  # every read handed over is written

    def now(self) -> datetime:
        """Tracking's clock: deadlines are judged by it (the workbench reads it too)."""
        return self.clock.now()

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("tracking service is not started")
        return self._ledger

    @property
    def assessment(self) -> AssessmentOffice:
        if self._assessment is None:
            raise RuntimeError("tracking service is not started")
        return self._assessment

    published = frozenset(
        {
            *followup_contract.TRANSLATIONS,
            *accountability_contract.TRANSLATIONS,
            *assessment_contract.TRANSLATIONS,
        }
    )

    def translate(self, event: Any) -> Contract | None:
        return (
            to_contract(event)
            or accountability_contract.to_contract(event)
            or assessment_contract.to_contract(event)
        )

    def consumers(self) -> Sequence[Consumer]:
        store = self.app
        assert isinstance(store, TrackingStore)
        policy = follow_up_policy(
            store, accountability_handlers(store), sources=("intake", "dispatch")
        )
        return [ledger_projection(self.writes), warnings_projection(self.writes), policy]

    async def gauges(self) -> list[tuple[str, str, dict[str, str], float]]:
        """For the operators' metrics (``shared.web.metrics``): deadlines at a glance."""
        now = self.now().astimezone(ZoneInfo(self.settings.timezone))
        tomorrow = datetime.combine(now.date() + timedelta(days=1), time(), now.tzinfo)
        async with self.reads() as session:
            overdue, due = await deadline_counts(session, now, tomorrow)
        return [
            ("taizhang_cases_overdue", "Cases past a deadline now", {}, overdue),
            ("taizhang_deadlines_due_today", "Handling deadlines due by midnight", {}, due),
        ]

    async def record_read(
        self,
        principal: Principal,
        type: str,
        *,
        case_id: UUID | None = None,
        outcome: str = audit.SHOWN,
        asked: dict[str, Any] | None = None,
    ) -> None:
        """The wings' port to the read audit (``shared.web.reads.ReadRecorder``)."""
        keyed = None if asked is None else audit.asked_of(self.ledger, asked)
        await audit.record(
            self.ledger, principal, type, case_id=case_id, outcome=outcome, asked=keyed
        )

    async def receipt_case_id(self, code: str) -> UUID | None:
        async with self.reads() as session:
            row = await self.ledger.receipt_case(session, code)
        return None if row is None else row["case_id"]

    async def receipt_rated_case(self, code: str) -> RatedCase | None:
        async with self.reads() as session:
            row = await self.ledger.receipt_case(session, code)
            original = None if row is None else await self.ledger.original_of(session, row)
        if row is None:
            return None
        named = bool(row.get("named"))
        if original is None:
            return RatedCase(row["case_id"], None, named)
        return RatedCase(original["case_id"], row["number"], named)


class LedgerSources:
    """What the assessment (``assessment.application.Sources``) reads, from the ledger: the
    KPIs and the cases behind them, and the accountability records on cases (SPEC §6) — the
    one place to re-point when the accountability procedure (issue 18) keeps its own."""

    def __init__(self, service: TrackingService) -> None:
        self.service = service

    def _bounds(self, year: int) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.service.settings.timezone)
        return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)

    async def figures(self, year: int) -> list[UnitFigures]:
        start, end = self._bounds(year)
        now = self.service.now()
        async with self.service.reads() as session:
            directory = await kpis.unit_directory(session)
            measured = await kpis.kpis(session, _OFFICE, "unit", now, start, end)
            behind = await kpis.cases_behind(session, now, start, end)
        by_unit = {m.pop("key"): m for m in measured}
        known = {code for code, _, _ in directory}
        listed = [*directory, *((c, c, "") for c in sorted(by_unit.keys() - known))]
        return [
            UnitFigures(code, name, kind, by_unit.get(code, {}), behind.get(code, {}))
            for code, name, kind in listed
        ]

    async def findings(self, year: int) -> list[Finding]:
        start, end = self._bounds(year)
        async with self.service.reads() as session:
            records = await kpis.accountability_against_units(session, start, end)
        return [
            Finding(
                unit=r["unit"],
                case_number=r["case_number"],
                target_kind=r.get("target_kind") or "",
                position=r.get("position"),
                measures=tuple(r.get("measures") or ()),
                exempted=bool(r.get("exempted")),
            )
            for r in records
        ]

    async def reply_deadline(self, start: datetime, working_days: int) -> datetime:
        async with self.service.reads() as session:
            ctx = await self.service.ledger.context(session)
        return ctx.calendar.add_working_days(start, working_days).at

    async def month_figures(self, year: int, month: int) -> list[UnitFigures]:
        zone = self.service.settings.timezone
        start, end = summaries.month_bounds(year, month, zone)
        async with self.service.reads() as session:
            directory = {code: name for code, name, _ in await kpis.unit_directory(session)}
            measured = await kpis.kpis(session, _OFFICE, "unit", self.service.now(), start, end)
        return [UnitFigures(m["key"], directory.get(m["key"], m["key"]), "", m) for m in measured]

    async def monthly_circular(self, year: int, month: int) -> dict[str, Any]:
        async with self.service.reads() as session:
            ctx = await self.service.ledger.context(session)
            report = await summaries.monthly(session, _OFFICE, year, month, ctx)
        return {
            "title": report.title,
            "period": report.period,
            "sections": [
                {
                    "heading": s.heading,
                    "columns": [h for h, _ in s.columns],
                    "rows": [[text(v, ctx) for v in row] for row in s.rows],
                }
                | ({"note": s.note} if s.note else {})
                for s in report.sections
            ],
        }
