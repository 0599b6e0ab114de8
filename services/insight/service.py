"""The insight service in one process: its table and the projection that fills it, and the
sweep that records the warnings that fire (ADR 32). The scoring and the warning rule are pure
(``domain.py``, ``warning.py``) and run per request over what the table holds; nothing runs on
intake's request path."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.insight.application import InsightApplication
from services.insight.contract import to_contract
from services.insight.projection import insight_projection
from services.insight.sweep import WarningSweep
from services.insight.tables import MIGRATIONS
from shared.contracts import Contract
from shared.platform.clock import Clock, clock_for
from shared.platform.messaging import Consumer
from shared.platform.service import ServiceBase
from shared.platform.settings import Secrets, Settings

STOP_TIMEOUT_SECONDS = 15.0


class InsightService(ServiceBase[InsightApplication]):
    name = "insight"
    read_migrations = MIGRATIONS
    sweep: WarningSweep
    _task: asyncio.Task[None] | None = None

    def __init__(self, settings: Settings, secrets: Secrets, clock: Clock | None = None) -> None:
        super().__init__(settings, secrets)
        self.clock: Clock = clock or clock_for(settings)

    def now(self) -> datetime:
        return self.clock.now()

    def build(self, env: dict[str, str]) -> InsightApplication:
        if "POSTGRES_POOL_SIZE" in env:  # an empty store: one connection is plenty
            env = env | {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
        return InsightApplication(env)

    async def started(self) -> None:
        self.sweep = WarningSweep(
            self.app,
            self.reads,
            self.now,
            self.settings.timezone,
            self.settings.scheduler_interval_seconds,
        )
        if self.background:
            self._task = asyncio.create_task(self.sweep.run())

    async def stopping(self) -> None:
        if self._task is not None:
            self.sweep.stop()
            _, pending = await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_SECONDS)
            for task in pending:
                task.cancel()

    published: frozenset[str] | None = frozenset({"RaisedWarning.Raised"})

    def translate(self, event: Any) -> Contract | None:
        return to_contract(event)  # the warnings it raised (ADR 32)

    def consumers(self) -> Sequence[Consumer]:
        return [insight_projection(self.writes)]
