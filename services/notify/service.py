"""The notify service in one process: its tables, the projection that turns other services'
events into messages (the outbox), and the deliverer that sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.notify.application import NotifyApplication
from services.notify.delivery import Deliverer
from services.notify.domain import rules
from services.notify.projection import notify_projection
from services.notify.tables import MIGRATIONS
from shared.contracts import Contract
from shared.platform.apprise_channel import check_sms_url
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings

STOP_TIMEOUT_SECONDS = 15.0


class NotifyService(ServiceBase[NotifyApplication]):
    name = "notify"
    read_migrations = MIGRATIONS

    _deliverer: Deliverer | None = None
    _task: asyncio.Task[None] | None = None
    fixed_store_connections = 2  # see build()

    def __init__(self, settings: Settings, secrets: Secrets, clock: Clock | None = None) -> None:
        super().__init__(settings, secrets)
        self.clock: Clock = clock or clock_for(settings)
        self.rules = rules(settings.notify.audiences)
        check_sms_url(settings.notify)

    def now(self) -> datetime:
        return self.clock.now()

    def build(self, env: dict[str, str]) -> NotifyApplication:
        if "POSTGRES_POOL_SIZE" in env:  # an empty store: one connection is plenty
            env = env | {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
        return NotifyApplication(env)

    async def started(self) -> None:
        self._deliverer = Deliverer(
            self.writes,
            self.settings.notify,
            self.now,
            self.settings.faults,
            timezone=self.settings.timezone,
        )
        if self.background:
            self._task = asyncio.create_task(self._deliverer.run())

    async def stopping(self) -> None:
        if self._deliverer is not None and self._task is not None:
            self._deliverer.stop()
            _, pending = await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()

    @property
    def deliverer(self) -> Deliverer:
        if self._deliverer is None:
            raise RuntimeError("notify service is not started")
        return self._deliverer

    published: frozenset[str] | None = frozenset()

    def translate(self, event: Any) -> Contract | None:
        return None  # notify's store holds no events; it tells people, not services

    def consumers(self) -> Sequence[Consumer]:
        sms = self.settings.notify.sms_url is not None
        return [notify_projection(self.writes, self.rules, self.now, self.settings.timezone, sms)]
