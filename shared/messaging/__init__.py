"""The event backbone: how one service's events reach another.

Producer side: a service's notification log *is* its outbox (:mod:`.outbox`). A relay
(:mod:`.nats`) publishes it to NATS JetStream; in the embedded mode a follower
(:mod:`.inprocess`) reads it directly. Consumer side: the same :class:`Consumer` object is fed
by either, so there is one code path for reacting to events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from shared.contracts import Envelope


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


async def wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any event is set or the timeout passes (a stop request never waits)."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
