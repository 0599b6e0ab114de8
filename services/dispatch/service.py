"""The dispatch service in one process: its Application, its read tables (the desk and the
schedule) and their projection, the reminder scheduler, and the one path every case endpoint
takes: load the case once, check the caller's row scope on it, run the command."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from services.dispatch.application import DispatchApplication
from services.dispatch.contract import to_contract
from services.dispatch.domain import Case
from services.dispatch.policy import policies
from services.dispatch.reminders import Scheduler
from services.dispatch.schedule import schedule_projection
from services.dispatch.schemas import CaseView, NumberedCaseView
from services.dispatch.scope import check_access
from shared.contracts import SYSTEM_ACTOR, Contract
from shared.platform.clock import clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.web.auth import Principal
from shared.web.authz import Action

STOP_TIMEOUT_SECONDS = 15.0


class DispatchService(ServiceBase[DispatchApplication]):
    name = "dispatch"
    read_migrations = Path(__file__).resolve().parent / "migrations"

    _scheduler: Scheduler | None = None
    _scheduler_task: asyncio.Task[None] | None = None

    def build(self, env: dict[str, str]) -> DispatchApplication:
        app = DispatchApplication(
            env,
            policy=self.settings.deadline_policy,
            clock=clock_for(self.settings),
            timezone=self.settings.timezone,
        )
        if self.settings.embedded_store and self.settings.seed_directory:
            app.seed(SYSTEM_ACTOR)  # a newcomer's first start: something to click through
        return app

    async def started(self) -> None:
        self._scheduler = Scheduler(self.app, self.reads, self.settings.scheduler_interval_seconds)
        self._scheduler_task = asyncio.create_task(self._scheduler.run())

    async def stopping(self) -> None:
        if self._scheduler is not None and self._scheduler_task is not None:
            self._scheduler.stop()
            _, pending = await asyncio.wait({self._scheduler_task}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()

    async def gauges(self) -> list[tuple[str, str, dict[str, str], float]]:
        """For the operators' metrics (``shared.web.metrics``): a sweep that stopped."""
        passes = self._scheduler.passes if self._scheduler is not None else 0
        return [("taizhang_deadline_sweeps", "Completed deadline sweeps (催办/督办)", {}, passes)]

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        return [*policies(self.app), schedule_projection(self.writes)]

    # --- the path of every case endpoint ----------------------------------------------------

    def view(self, case_id: UUID, principal: Principal) -> CaseView:
        case = self.app.get_case(case_id)
        check_access(case, principal, Action.READ_CASE)
        return CaseView.of(case)

    def act(
        self,
        case_id: UUID,
        principal: Principal,
        action: Action,
        command: Callable[[DispatchApplication], Case],
    ) -> CaseView:
        """Run the command with the caller's row scope checked on the case it loads."""
        with self.app.guarded(case_id, lambda case: check_access(case, principal, action)):
            return CaseView.of(command(self.app))

    def act_numbered(
        self,
        case_id: UUID,
        principal: Principal,
        action: Action,
        command: Callable[[DispatchApplication], tuple[Case, int]],
    ) -> NumberedCaseView:
        with self.app.guarded(case_id, lambda case: check_access(case, principal, action)):
            case, n = command(self.app)
        return NumberedCaseView(n=n, **CaseView.of(case).model_dump())

    async def recount_now(self) -> None:
        """After a year was loaded: count provisional deadlines again without waiting."""
        if self._scheduler is not None:
            await self._scheduler.recount()
