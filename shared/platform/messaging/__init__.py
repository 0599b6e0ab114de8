"""The event backbone: how one service's events reach another.

Producer side: a service's notification log *is* its outbox (:mod:`.outbox`). A relay
(:mod:`.nats`) publishes it to NATS JetStream; in the embedded mode a follower
(:mod:`.inprocess`) reads it directly. Consumer side: the same :class:`Consumer` object is fed
by either, so there is one code path for reacting to events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Protocol

import structlog

from shared.contracts import Envelope

log = structlog.get_logger(__name__)


class Outcome(Enum):
    DONE = "done"  # effect committed: ack
    DUPLICATE = "duplicate"  # processed before: ack, change nothing
    RETRY_LATER = "retry_later"  # an earlier event of the same stream is not applied yet


class Consumer(Protocol):
    """Reacts to integration events; must be idempotent (redelivery is normal)."""

    @property
    def name(self) -> str:
        """Durable consumer name stem, e.g. ``ledger``."""
        ...

    @property
    def sources(self) -> Sequence[str]:
        """Producing services it listens to."""
        ...

    async def handle(self, envelope: Envelope) -> Outcome: ...

    async def last_position(self, source: str) -> int:
        """Highest position of ``source`` processed (where an in-order follower resumes)."""
        ...


BatchHandler = Callable[[Sequence[Envelope]], Awaitable[list[Outcome]]]


def batch_handler(consumer: Consumer) -> BatchHandler | None:
    """The consumer's own ``handle_batch(envelopes) -> outcomes`` if it has one: it applies
    a fetched batch in one transaction (one commit instead of one per event) and answers an
    outcome per envelope, in order. Optional, so consumers that commit elsewhere (an
    :class:`~shared.platform.messaging.policy.ApplicationPolicy`) need not know about it."""
    handler = getattr(consumer, "handle_batch", None)
    return handler if callable(handler) else None


async def handle_each(consumer: Consumer, envelopes: Sequence[Envelope]) -> list[Outcome]:
    """Outcomes of a batch: the consumer's ``handle_batch``, or ``handle`` one at a time.
    A failure is that envelope's ``RETRY_LATER`` (logged), never the others' loss."""
    batch = batch_handler(consumer)
    if batch is not None:
        try:
            return await batch(envelopes)
        except Exception:
            log.exception("consumer_batch_failed", consumer=consumer.name, size=len(envelopes))
            return [Outcome.RETRY_LATER] * len(envelopes)
    return [await handle_one(consumer, envelope) for envelope in envelopes]


async def handle_one(consumer: Consumer, envelope: Envelope) -> Outcome:
    try:
        return await consumer.handle(envelope)
    except Exception:
        log.exception("consumer_failed", consumer=consumer.name, message=envelope.message_id)
        return Outcome.RETRY_LATER


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any event is set or the timeout passes (a stop request never waits)."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
