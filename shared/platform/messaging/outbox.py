"""A service's notification log read as integration events.

The application's events are the outbox: nothing is published beside a commit. Reading
translates each domain event with the service's ``contract.py``; events that are not for
other services translate to None and are skipped (their position still counts).

Every reader (the live relays and followers, ADR 48; a rebuild, ADR 41) names the domain
events the service publishes — any other is skipped by its topic, undecoded — and decodes the
rest with :class:`FastMapper`, whose fallback to the library's mapper upcasts older versions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Notification

from shared.contracts import Contract, Envelope
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging.decoding import FastMapper

Translator = Callable[[Any], Contract | None]


class Outbox:
    def __init__(
        self,
        source: str,
        app: ServiceApplication,
        translate: Translator,
        *,
        published: frozenset[str] | None = None,
        fast: bool = False,
    ) -> None:
        """``published``: the qualified names of the domain events ``translate`` may turn
        into integration events (None: any); ``fast``: decode with :class:`FastMapper`."""
        self.source = source
        self.app = app
        self.translate = translate
        self.published = published
        self.fast = FastMapper(app.mapper) if fast else None
        self._kept: dict[str, bool] = {}  # topic → published

    def read(self, after: int, limit: int = 500) -> tuple[list[Envelope], int]:
        """Envelopes after ``after``, and the last position looked at."""
        notifications = self.app.recorder.select_notifications(start=after + 1, limit=limit)
        envelopes = [e for n in notifications if (e := self.envelope(n)) is not None]
        return envelopes, notifications[-1].id if notifications else after

    def envelope(self, notification: Notification) -> Envelope | None:
        """A stored event as its integration event (None: it stays inside the service)."""
        if self.published is not None and not self.publishes(notification.topic):
            return None  # never decoded
        mapper = self.fast or self.app.mapper
        event: Any = mapper.to_domain_event(notification)
        contract = self.translate(event)
        if contract is None:
            return None
        return Envelope(
            source=self.source,
            position=notification.id,
            stream_id=event.originator_id,
            stream_version=event.originator_version,
            occurred_at=event.timestamp,
            actor=getattr(event, "actor", None),
            event=contract,
        )

    def publishes(self, topic: str) -> bool:
        """Whether events of this topic may be published (``module:Class.Event``)."""
        kept = self._kept.get(topic)
        if kept is None:
            kept = self._kept[topic] = self.published is None or (
                topic.rpartition(":")[2] in self.published
            )
        return kept

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def wakeup(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        """An event set whenever this process saves to the outbox's application."""
        news = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to wake
                loop.call_soon_threadsafe(news.set)

        self.app.add_save_listener(wake)
        return news
