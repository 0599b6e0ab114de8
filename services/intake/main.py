"""The intake service's wiring: its Application, its group-commit writer, its read scope."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from fastapi import Depends, Request

from services.intake.application import IntakeApplication, Registration, TipSubmission
from services.intake.contract import to_contract
from services.intake.domain import Tip
from services.intake.keyvault import KeyVault
from shared.auth import Principal, Role
from shared.clock import Clock, clock_for
from shared.contracts import Contract
from shared.eventstore import application_env
from shared.groupcommit import GroupCommitter
from shared.messaging import Consumer
from shared.problems import not_found
from shared.protection import Sealer
from shared.settings import Secrets, Settings

REGISTER_TIMEOUT_SECONDS = 10.0

log = structlog.get_logger(__name__)


class IntakeService:
    name = "intake"

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock: Clock = clock_for(settings)  # case numbers' year, keys' retention
        self._app: IntakeApplication | None = None
        self._writer: GroupCommitter[TipSubmission, Registration] | None = None
        self._keys: KeyVault | None = None
        self._retention: asyncio.Task[None] | None = None

    @property
    def app(self) -> IntakeApplication:
        if self._app is None:
            raise RuntimeError("intake service is not started")
        return self._app

    async def start(self) -> None:
        await asyncio.to_thread(self._start)
        if self.settings.reporter_retention_days:
            self._retention = asyncio.create_task(self._shred_expired_hourly())

    async def _shred_expired_hourly(self) -> None:
        """Destroy identity keys past their retention (crypto-shredding), once an hour."""
        retention = timedelta(days=self.settings.reporter_retention_days)
        while True:
            try:
                cutoff = self.clock.now() - retention
                shredded = await asyncio.to_thread(self.app.shred_registered_before, cutoff)
                if shredded:
                    log.info("reporter_keys_shredded", count=shredded, before=cutoff.isoformat())
            except Exception as e:  # the database may be away; try again next hour
                log.warning("reporter_key_shredding_failed", error=repr(e))
            await asyncio.sleep(3600)

    def _start(self) -> None:
        env = application_env(self.settings, self.name)
        self._keys = KeyVault(self.settings, Sealer(self.secrets.reporter_keys))
        self._app = IntakeApplication(
            env,
            keys=self._keys,
            receipt_secret=self.secrets.receipt_secret,
            timezone=self.settings.timezone,
            clock=self.clock.now,
        )
        self._writer = GroupCommitter(
            self._app.register,
            max_batch=self.settings.intake_batch_max,
            linger=self.settings.intake_batch_linger_ms / 1000,
            name="intake-writer",
        )
        self._writer.start()

    async def stop(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
        if self._app is not None:
            self._app.close()
        if self._keys is not None:
            self._keys.close()

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)

    def consumers(self) -> Sequence[Consumer]:
        return ()  # intake reacts to no other service

    async def register(self, submission: TipSubmission) -> Registration:
        assert self._writer is not None
        return await self._writer.submit_async(submission, REGISTER_TIMEOUT_SECONDS)

    def visible_tip(self, case_id: UUID, principal: Principal) -> Tip:
        """The tip, if this caller may see it; else 404 (an operator sees only its own)."""
        try:
            tip = self.app.get_tip(case_id)
        except AggregateNotFoundError:
            raise not_found("tip") from None
        if principal.role == Role.OPERATOR and tip.registered_by["id"] != principal.id:
            raise not_found("tip")
        return tip

    def reveal_reporter(self, case_id: UUID, principal: Principal, reason: str) -> Any:
        self.visible_tip(case_id, principal)
        return self.app.reveal_reporter(case_id, principal.actor(), reason)

    def check_ready(self) -> None:
        self.app.recorder.max_notification_id()


async def get_intake(request: Request) -> IntakeService:
    service: IntakeService = request.app.state.services["intake"]
    return service


IntakeDep = Annotated[IntakeService, Depends(get_intake)]
