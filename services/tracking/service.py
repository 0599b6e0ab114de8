"""The tracking service: the follow-up (its write side, ``followup``) and the ledger (the read
model of all three services, ``ledger``) in one process. This is the one module that knows
both wings; they never import each other.

The follow-up's Application is the service's event store; the ledger's tables are its read
tables. One join is asked for by the follow-up (``followup.deps.ReceiptCases``): which case a
reporter's receipt code names, answered here from the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.tracking.followup.application import TrackingApplication
from services.tracking.followup.contract import to_contract
from services.tracking.followup.policy import follow_up_policy
from services.tracking.ledger.projection import ledger_projection
from services.tracking.ledger.reader import Ledger
from services.tracking.ledger.reports.kpis import deadline_counts
from services.tracking.ledger.tables import MIGRATIONS
from shared.contracts import Contract
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings


class TrackingService(ServiceBase[TrackingApplication]):
    name = "tracking"
    read_migrations = MIGRATIONS

    def __init__(self, settings: Settings, secrets: Secrets, clock: Clock | None = None) -> None:
        super().__init__(settings, secrets)
        self.clock: Clock = clock or clock_for(settings)
        self._ledger: Ledger | None = None

    def build(self, env: dict[str, str]) -> TrackingApplication:
        return TrackingApplication(env)

    async def started(self) -> None:
        self._ledger = Ledger(self.settings, self.secrets, self.clock, self.reads, self.writes)

    def now(self) -> datetime:
        """Tracking's clock: deadlines are judged by it (the workbench reads it too)."""
        return self.clock.now()

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("tracking service is not started")
        return self._ledger

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        return [ledger_projection(self.writes), follow_up_policy(self.app)]

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

    async def receipt_case_id(self, code: str) -> UUID | None:
        async with self.reads() as session:
            row = await self.ledger.receipt_case(session, code)
        return None if row is None else row["case_id"]
