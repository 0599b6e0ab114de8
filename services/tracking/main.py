"""The tracking service's wiring: its Application, its read tables, their projection and the
follow-up policy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.tracking import queries
from services.tracking.application import FollowUpNotFound, Recorded, TrackingApplication
from services.tracking.contract import to_contract
from services.tracking.domain import AWAITING_EVALUATION
from services.tracking.ledger import Row
from services.tracking.policy import follow_up_policy
from services.tracking.projection import ledger_projection
from services.tracking.views import Context
from shared.contracts import Contract
from shared.platform.clock import Clock, clock_for
from shared.platform.eventstore import application_env
from shared.platform.messaging import Consumer
from shared.platform.protection import receipt_digest
from shared.platform.readmodel import create_engine, migrate, sessionmaker
from shared.platform.settings import Secrets, Settings
from shared.web.auth import Principal, Role

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class TrackingService:
    name = "tracking"

    def __init__(self, settings: Settings, secrets: Secrets, clock: Clock | None = None) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock: Clock = clock or clock_for(settings)
        self._app: TrackingApplication | None = None
        self._reader: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self._reads: async_sessionmaker[AsyncSession] | None = None
        self._writes: async_sessionmaker[AsyncSession] | None = None

    @property
    def app(self) -> TrackingApplication:
        if self._app is None:
            raise RuntimeError("tracking service is not started")
        return self._app

    @property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        assert self._reads is not None, "tracking service is not started"
        return self._reads

    @property
    def writes(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for the projection (on SQLite they take the write lock at BEGIN)."""
        assert self._writes is not None, "tracking service is not started"
        return self._writes

    async def start(self) -> None:
        self._reader = create_engine(self.settings)
        self._writer = create_engine(self.settings, writer=True)
        self._reads, self._writes = sessionmaker(self._reader), sessionmaker(self._writer)
        await migrate(self._writer, MIGRATIONS, "alembic_version_tracking")
        self._app = await asyncio.to_thread(
            TrackingApplication, application_env(self.settings, self.name)
        )

    async def stop(self) -> None:
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
        return [ledger_projection(self.writes), follow_up_policy(self.app)]

    # --- what the read endpoints share ---------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    async def context(self, session: AsyncSession, now: datetime | None = None) -> Context:
        return await queries.context(session, now or self.now(), self.settings.timezone)

    async def receipt_case(self, session: AsyncSession, code: str) -> Row | None:
        """The case an anonymous reporter's receipt code names; None for unknown or malformed
        codes alike, so that no answer tells whether a number exists."""
        digest = receipt_digest(self.secrets.receipt_secret, code)
        return await queries.receipt_row(session, digest or "-")

    def evaluate(
        self,
        case_id: UUID,
        principal: Principal,
        rating: str,
        evaluator_kind: str,
        comment: str | None,
    ) -> Recorded:
        """An evaluator sees only cases awaiting evaluation: any other is unknown to it."""
        if principal.role == Role.EVALUATOR:
            follow_up = self.app.find(case_id)
            if follow_up is None or follow_up.status != AWAITING_EVALUATION:
                raise FollowUpNotFound(case_id)
        return self.app.evaluate(
            case_id,
            rating=rating,
            evaluator_kind=evaluator_kind,
            comment=comment,
            actor=principal.actor(),
        )


def get_tracking(request: Request) -> TrackingService:
    service: TrackingService = request.app.state.services["tracking"]
    return service


TrackingDep = Annotated[TrackingService, Depends(get_tracking)]


async def read_session(tracking: TrackingDep) -> Any:
    async with tracking.reads() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]
