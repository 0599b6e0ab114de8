"""Consumers on the write side: integration events in, commands on an Application.

A policy's ``handlers`` table shows at a glance which event triggers what. A handler loads
and changes aggregates and returns them; they are saved with the message's tracking record
in one transaction, so a redelivered message changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from shared.contracts import Contract, Envelope
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging import Outcome

Reaction = Callable[[Envelope], Sequence[Any]]
MAX_CONFLICT_RETRIES = 5


class NotYet(Exception):
    """The reaction needs something that has not arrived yet: deliver again later."""


class ApplicationPolicy:
    def __init__(
        self,
        name: str,
        sources: Sequence[str],
        app: ServiceApplication,
        handlers: dict[type[Contract], Reaction],
    ) -> None:
        self.name = name
        self.sources = tuple(sources)
        self.app = app
        self.handlers = handlers

    async def handle(self, envelope: Envelope) -> Outcome:
        return await asyncio.to_thread(self._handle, envelope)

    def _handle(self, envelope: Envelope) -> Outcome:
        tracking = Tracking(envelope.source, envelope.position)
        if self.app.is_tracked(tracking):
            return Outcome.DUPLICATE
        react = self.handlers.get(type(envelope.event))
        for _ in range(MAX_CONFLICT_RETRIES):
            try:
                aggregates = react(envelope) if react else ()
            except NotYet:
                return Outcome.RETRY_LATER
            try:
                saved = self.app.save_tracked(tracking, *aggregates)
            except IntegrityError:
                continue  # another writer changed the aggregate meanwhile: load again
            return Outcome.DONE if saved else Outcome.DUPLICATE
        return Outcome.RETRY_LATER

    async def last_position(self, source: str) -> int:
        position = await asyncio.to_thread(self.app.process_recorder.max_tracking_id, source)
        return int(position or 0)
