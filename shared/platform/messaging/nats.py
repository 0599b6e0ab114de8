"""NATS JetStream between services.

Streams — one per producing service, set here in code (``tz`` is the default namespace,
``TAIZHANG_NATS_NAMESPACE``):

    name ``TZ_<SOURCE>`` · subjects ``tz.<source>.<ContractType>`` · file storage ·
    retention by limits with no age or size limit (the stream is the replayable history) ·
    duplicate window 10 minutes (``TAIZHANG_NATS_DUPLICATE_WINDOW_SECONDS``) ·
    replicas from ``TAIZHANG_NATS_REPLICAS`` (3 in a cluster).

Relay: publishes the outbox in order with ``Nats-Msg-Id = "<source>:<position>"`` and waits
for every publish ack before recording its position in the producer's own tracking table;
a crash in between re-sends at most one batch, which JetStream drops as duplicates inside
the window (and consumers' tracking drops after it).

Consumers: durable pull consumers ``<consumer>__<source>`` on the source's stream, explicit
ack *after* the effect committed, negative ack with back-off when an earlier event must come
first. Replicas of a service share one durable consumer, so they split the work.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import nats
import structlog
from eventsourcing.persistence import IntegrityError, Tracking
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from shared.contracts import Envelope, UnknownContract, decode
from shared.platform.faults import CONSUMER_EXIT_AFTER_COMMIT, RELAY_EXIT_AFTER_PUBLISH, crash_if
from shared.platform.messaging import Consumer, Outcome, batch_handler, handle_each, wait_any
from shared.platform.messaging.leadership import Leadership
from shared.platform.messaging.outbox import Outbox

log = structlog.get_logger(__name__)

FETCH_BATCH = 100
# A consumer that applies a batch set-based gets more at once: a fetch returns what is there
# (up to this), so batches grow only under a backlog, which is when they pay (ADR 14).
FETCH_BATCH_SETS = 500
PUBLISH_BATCH = 500
MAX_ACK_PENDING = 2000
ACK_TIMEOUT_SECONDS = 30.0


def stream_name(namespace: str, source: str) -> str:
    return f"{namespace}_{source}".upper()


def subject(namespace: str, envelope: Envelope) -> str:
    return f"{namespace}.{envelope.source}.{envelope.type}"


def stream_config(
    namespace: str, source: str, replicas: int = 1, duplicate_window: float = 600.0
) -> StreamConfig:
    return StreamConfig(
        name=stream_name(namespace, source),
        subjects=[f"{namespace}.{source}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=0,
        max_bytes=-1,
        max_msgs=-1,
        duplicate_window=duplicate_window,
        num_replicas=replicas,
    )


class JetStream:
    """This process's NATS connection; connects in the background and keeps reconnecting,
    so a service starts (and intake accepts tips) while NATS is away."""

    def __init__(
        self,
        url: str,
        name: str,
        namespace: str = "tz",
        replicas: int = 1,
        ack_wait_seconds: float = 10.0,
        duplicate_window: float = 600.0,
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self.url = url
        self.name = name
        self.namespace = namespace
        self.replicas = replicas
        self.ack_wait_seconds = ack_wait_seconds
        self.duplicate_window = duplicate_window
        self.faults = faults
        self.nc: Client | None = None
        self._js: JetStreamContext | None = None
        self.connected = asyncio.Event()
        # Counts lost connections: a publish ack owed across one never comes.
        self.disconnects = 0
        self._ensured: set[str] = set()

    async def connect_forever(self) -> None:
        delay = 0.2
        while self.nc is None:
            try:
                self.nc = await nats.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    drain_timeout=5,
                    disconnected_cb=self._disconnected,
                )
            except Exception as e:
                log.warning("nats_unavailable", url=self.url, error=repr(e))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.connected.set()

    async def _disconnected(self) -> None:
        self.disconnects += 1

    @property
    def js(self) -> JetStreamContext:
        """One context per connection: each new one subscribes its own reply inbox on its
        first publish_async and never drops it (a subscription leaked per relay batch)."""
        assert self.nc is not None
        if self._js is None:
            self._js = self.nc.jetstream(timeout=10)
        return self._js

    @property
    def is_connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def ensure_stream(self, source: str) -> None:
        if source in self._ensured:
            return
        config = stream_config(self.namespace, source, self.replicas, self.duplicate_window)
        try:
            await self.js.stream_info(config.name or "")
            await self.js.update_stream(config)
        except NotFoundError:
            await self.js.add_stream(config)
        self._ensured.add(source)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()


class NatsRelay:
    """Publishes one service's outbox to its stream; one active relay per service."""

    TRACKING_NAME = "relay:nats"

    def __init__(
        self,
        outbox: Outbox,
        stream: JetStream,
        leadership: Leadership | None = None,
    ) -> None:
        self.outbox = outbox
        self.stream = stream
        self.leadership = leadership
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        news = self.outbox.wakeup(asyncio.get_running_loop())
        await self.stream.connected.wait()
        position = await self._lead()
        while not self._stopping.is_set():
            news.clear()
            if self.leadership is not None and not await self.leadership.held():
                position = await self._lead()
            try:
                position, moved = await self._relay_once(position)
            except Exception as e:
                log.warning("relay_retrying", source=self.outbox.source, error=repr(e))
                await wait_any(self._stopping, timeout=1.0)
                # Another relay may have gone further meanwhile: resume from there.
                with contextlib.suppress(Exception):
                    position = max(position, await asyncio.to_thread(self._recorded_position))
                continue
            if not moved:
                await wait_any(news, self._stopping, timeout=1.0)

    async def _lead(self) -> int:
        """Become the active relay (at once without replicas); where to resume from."""
        if self.leadership is not None:
            await self.leadership()
        while True:
            try:
                return await asyncio.to_thread(self._recorded_position)
            except Exception as e:  # the database is away: leadership will be re-checked
                log.warning("relay_position_unavailable", source=self.outbox.source, error=repr(e))
                await asyncio.sleep(1.0)

    async def _relay_once(self, position: int) -> tuple[int, bool]:
        envelopes, last = await asyncio.to_thread(self.outbox.read, position, PUBLISH_BATCH)
        if last == position:
            return position, False
        await self.stream.ensure_stream(self.outbox.source)
        js = self.stream.js
        # No wait_stall: with a timeout nats-py yields to the loop on every publish, whose
        # flusher then writes each message alone (a syscall and a server wake-up each);
        # without it the batch is buffered and written in a few writes. A batch is far below
        # nats-py's 4,000 pending publishes, and the acks are awaited with a timeout below.
        connection = self.stream.disconnects
        acks = [
            await js.publish_async(
                subject(self.stream.namespace, e),
                e.encode(),
                headers={"Nats-Msg-Id": e.message_id},
            )
            for e in envelopes
        ]
        if acks:
            await self._acknowledged(asyncio.gather(*acks), connection)
        crash_if(RELAY_EXIT_AFTER_PUBLISH, self.stream.faults)
        await asyncio.to_thread(self._record_position, last)
        return last, True

    async def _acknowledged(self, acks: asyncio.Future[Any], connection: int) -> None:
        """Every publish ack, or an error as soon as the connection they were owed on is
        lost (the batch is sent again at once, not after the full timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_TIMEOUT_SECONDS
        while not acks.done():
            await asyncio.wait({acks}, timeout=0.25)
            if acks.done():
                break
            if self.stream.disconnects != connection or loop.time() > deadline:
                acks.cancel()
                raise ConnectionError("publish acks lost: NATS connection dropped or too slow")
        acks.result()

    def _recorded_position(self) -> int:
        return self.outbox.app.process_recorder.max_tracking_id(self.TRACKING_NAME) or 0

    def _record_position(self, position: int) -> None:
        # A relay that led a moment ago may have recorded it: the same messages, same ids.
        with contextlib.suppress(IntegrityError):
            self.outbox.app.process_recorder.insert_tracking(Tracking(self.TRACKING_NAME, position))

    def stop(self) -> None:
        self._stopping.set()


class NatsConsumerRunner:
    """Feeds one consumer from one source's stream through a shared durable consumer."""

    def __init__(self, consumer: Consumer, source: str, stream: JetStream) -> None:
        self.consumer = consumer
        self.source = source
        self.stream = stream
        self._stopping = asyncio.Event()

    @property
    def durable(self) -> str:
        return f"{self.consumer.name}__{self.source}"

    async def run(self) -> None:
        await self.stream.connected.wait()
        subscription = None
        size = FETCH_BATCH_SETS if batch_handler(self.consumer) else FETCH_BATCH
        while not self._stopping.is_set():
            try:
                if subscription is None:
                    subscription = await self._subscribe()
                messages = await subscription.fetch(size, timeout=1)
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as e:
                log.warning("consumer_fetch_failed", durable=self.durable, error=repr(e))
                subscription = None
                await wait_any(self._stopping, timeout=1.0)
                continue
            await self._handle(messages)
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        await self.stream.ensure_stream(self.source)
        subjects = f"{self.stream.namespace}.{self.source}.>"
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.stream.ack_wait_seconds,
            max_deliver=-1,
            max_ack_pending=MAX_ACK_PENDING,
            filter_subject=subjects,
        )
        return await self.stream.js.pull_subscribe(
            subjects,
            durable=self.durable,
            stream=stream_name(self.stream.namespace, self.source),
            config=config,
        )

    async def _handle(self, messages: list[Msg]) -> None:
        """Apply a fetched batch, then ack or nak each message: nothing is acked before
        its effects are committed. A consumer that applies batches gets the whole batch in
        one transaction; any other commits each message itself, so each is settled as soon
        as it is (a batch of slow ones must not outlive the ack wait)."""
        known: list[tuple[Msg, Envelope]] = []
        for message in messages:
            try:
                known.append((message, decode(message.data)))
            except UnknownContract as e:
                log.warning("unknown_contract_skipped", durable=self.durable, type=str(e))
                await message.ack()
        batches = [known] if batch_handler(self.consumer) else [[item] for item in known]
        for batch in batches:
            if batch:
                outcomes = await handle_each(self.consumer, [envelope for _, envelope in batch])
                await self._settle(batch, outcomes)

    async def _settle(self, batch: list[tuple[Msg, Envelope]], outcomes: list[Outcome]) -> None:
        if Outcome.DONE in outcomes:
            crash_if(CONSUMER_EXIT_AFTER_COMMIT, self.stream.faults)
        for (message, _), outcome in zip(batch, outcomes, strict=True):
            if outcome is Outcome.RETRY_LATER:
                delivered = message.metadata.num_delivered if message.reply else 1
                await message.nak(delay=min(0.1 * 2 ** min(delivered, 6), 5.0))
            else:
                await message.ack()

    def stop(self) -> None:
        self._stopping.set()
