"""Embedded delivery: a follower reads a producer's outbox in this process and feeds a
consumer in order, resuming after restarts from the consumer's own recorded position."""

from __future__ import annotations

import asyncio

import structlog

from shared.contracts import Envelope
from shared.platform.messaging import Consumer, Outcome, batch_handler, handle_each, wait_any
from shared.platform.messaging.outbox import Outbox

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0  # also picks up events written by another process (e.g. the CLI)
MAX_BACKOFF_SECONDS = 5.0
PREPARE_PATIENCE_SECONDS = 60.0  # then the start fails, as it should with no database


class InProcessFollower:
    def __init__(self, consumer: Consumer, outbox: Outbox) -> None:
        self.consumer = consumer
        self.outbox = outbox
        self._stopping = asyncio.Event()
        self._resume_at: int | None = None

    async def prepare(self) -> None:
        """Read where to resume before the process reports itself started: an envelope
        applied right after start (by this follower or any other path) cannot then move
        the recorded position past events this follower has not read yet.

        A database slow to take a connection (a loaded server took over its 5 s connect
        timeout once, and the start failed) is asked again for a while: reading a position
        changes nothing, so a retry is harmless."""
        waited = 0.0
        while True:
            try:
                self._resume_at = await self.consumer.last_position(self.outbox.source)
                return
            except Exception as error:
                if waited >= PREPARE_PATIENCE_SECONDS:
                    raise
                log.warning(
                    "resume point not read yet",
                    consumer=self.consumer.name,
                    source=self.outbox.source,
                    error=type(error).__name__,
                )
                delay = min(MAX_BACKOFF_SECONDS, 0.5 + waited / 2)
                await asyncio.sleep(delay)
                waited += delay

    async def run(self) -> None:
        news = self.outbox.wakeup(asyncio.get_running_loop())
        position = self._resume_at
        self._resume_at = None  # a restart after a failure reads it afresh
        if position is None:
            position = await self.consumer.last_position(self.outbox.source)
        while not self._stopping.is_set():
            news.clear()
            try:
                envelopes, last = await asyncio.to_thread(self.outbox.read, position)
            except Exception as e:  # e.g. the store is busy or away: read again shortly
                log.warning("outbox_read_failed", source=self.outbox.source, error=repr(e))
                await wait_any(self._stopping, timeout=POLL_SECONDS)
                continue
            if not await self._deliver_page(envelopes):
                return
            if last == position:
                await wait_any(news, self._stopping, timeout=POLL_SECONDS)
            position = last

    async def _deliver_page(self, envelopes: list[Envelope]) -> bool:
        """A consumer that applies batches gets the page at once (one transaction), then
        those it could not apply yet one at a time, in order, until it has them. Any other
        gets one envelope after the other, as its recorded position assumes."""
        if batch_handler(self.consumer) is None or not envelopes:
            pending = envelopes
        else:
            outcomes = await handle_each(self.consumer, envelopes)
            pending = [
                e for e, o in zip(envelopes, outcomes, strict=True) if o is Outcome.RETRY_LATER
            ]
        for envelope in pending:
            if not await self._deliver(envelope):
                return False
        return True

    async def _deliver(self, envelope: Envelope) -> bool:
        """Deliver until the consumer has it; False if stopped meanwhile."""
        backoff = 0.05
        while not self._stopping.is_set():
            try:
                if await self.consumer.handle(envelope) is not Outcome.RETRY_LATER:
                    return True
            except Exception:
                log.exception(
                    "consumer_failed", consumer=self.consumer.name, message=envelope.message_id
                )
            await wait_any(self._stopping, timeout=backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        return False

    def stop(self) -> None:
        self._stopping.set()
