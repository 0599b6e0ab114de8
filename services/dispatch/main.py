"""The dispatch service's wiring: its Application, its read tables and their projection, the
reminder scheduler, and the one path every case endpoint takes (load, scope, command)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.dispatch.application import DispatchApplication
from services.dispatch.contract import to_contract
from services.dispatch.domain import SYSTEM_ACTOR, Case
from services.dispatch.policy import policies
from services.dispatch.reminders import Scheduler
from services.dispatch.schedule import schedule_projection
from services.dispatch.schemas import CaseView, NumberedCaseView
from services.dispatch.scope import check_access, refusals
from shared.contracts import Contract
from shared.platform.clock import clock_for
from shared.platform.eventstore import application_env
from shared.platform.messaging import Consumer
from shared.platform.readmodel import create_engine, migrate, sessionmaker
from shared.platform.settings import Secrets, Settings
from shared.web.auth import Principal
from shared.web.authz import Action

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STOP_TIMEOUT_SECONDS = 15.0


class DispatchService:
    name = "dispatch"

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.settings = settings
        self._app: DispatchApplication | None = None
        self._reader: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self._scheduler: Scheduler | None = None
        self._scheduler_task: asyncio.Task[None] | None = None

    @property
    def app(self) -> DispatchApplication:
        if self._app is None:
            raise RuntimeError("dispatch service is not started")
        return self._app

    @property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        assert self._reader is not None
        return sessionmaker(self._reader)

    async def start(self) -> None:
        clock = clock_for(self.settings)
        self._reader = create_engine(self.settings)
        self._writer = create_engine(self.settings, writer=True)
        await migrate(self._writer, MIGRATIONS, "alembic_version_dispatch")
        self._app = await asyncio.to_thread(
            DispatchApplication,
            application_env(self.settings, self.name),
            policy=self.settings.deadline_policy,
            clock=clock,
            timezone=self.settings.timezone,
        )
        if self.settings.embedded_store and self.settings.seed_directory:
            # A newcomer's first start: something to click through.
            await asyncio.to_thread(self._app.seed, SYSTEM_ACTOR)
        self._scheduler = Scheduler(self._app, self.reads, self.settings.scheduler_interval_seconds)
        self._scheduler_task = asyncio.create_task(self._scheduler.run())

    async def stop(self) -> None:
        if self._scheduler is not None and self._scheduler_task is not None:
            self._scheduler.stop()
            _, pending = await asyncio.wait({self._scheduler_task}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()
        if self._app is not None:
            self._app.close()
        for engine in (self._reader, self._writer):
            if engine is not None:
                await engine.dispose()

    def check_ready(self) -> None:
        self.app.recorder.max_notification_id()

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        assert self._writer is not None
        return [*policies(self.app), schedule_projection(sessionmaker(self._writer))]

    # --- the path of every case endpoint ----------------------------------------------------

    def view(self, case_id: UUID, principal: Principal) -> CaseView:
        with refusals():
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
        """Load the case (404), apply the row scope (404/403), run the command (409/422)."""
        with refusals():
            check_access(self.app.get_case(case_id), principal, action)
            return CaseView.of(command(self.app))

    def act_numbered(
        self,
        case_id: UUID,
        principal: Principal,
        action: Action,
        command: Callable[[DispatchApplication], tuple[Case, int]],
    ) -> NumberedCaseView:
        with refusals():
            check_access(self.app.get_case(case_id), principal, action)
            case, n = command(self.app)
        return NumberedCaseView(n=n, **CaseView.of(case).model_dump())

    async def recount_now(self) -> None:
        """After a year was loaded: count provisional deadlines again without waiting."""
        if self._scheduler is not None:
            await self._scheduler.recount()


def get_dispatch(request: Request) -> DispatchService:
    service: DispatchService = request.app.state.services["dispatch"]
    return service


DispatchDep = Annotated[DispatchService, Depends(get_dispatch)]
