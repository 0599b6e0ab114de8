"""NATS JetStream between services.

Streams — one per producing service, set here in code (``tz`` is the default namespace,
``TAIZHANG_NATS_NAMESPACE``):

    name ``TZ_<SOURCE>`` · subjects ``tz.<source>.<ContractType>`` · file storage ·
    retention by limits with no age or size limit (the stream is the replayable history) ·
    duplicate window 10 minutes (``TAIZHANG_NATS_DUPLICATE_WINDOW_SECONDS``) ·
    replicas from ``TAIZHANG_NATS_REPLICAS`` (3 in a cluster).

Relay (:mod:`.relay`): publishes the outbox in order with ``Nats-Msg-Id =
"<source>:<position>"`` and records its position only once the stream is seen to hold the
batch (ADR 17).

Consumers: durable pull consumers ``<consumer>__<source>`` on the source's stream, explicit
ack *after* the effect committed, negative ack with back-off when an earlier event must come
first. Replicas of a service share one durable consumer, so they split the work.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats
import structlog
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
from shared.platform.faults import CONSUMER_EXIT_AFTER_COMMIT, crash_if
from shared.platform.messaging import Consumer, Outcome, batch_handler, handle_each, wait_any
from shared.platform.messaging.health import Health

log = structlog.get_logger(__name__)

FETCH_BATCH = 100
# A consumer that applies a batch set-based gets more at once: a fetch returns what is there
# (up to this), so batches grow only under a backlog, which is when they pay (ADR 14).
FETCH_BATCH_SETS = 500
MAX_ACK_PENDING = 2000
IDLE_CHECKS = 5  # an idle consumer checks its durable after this many empty fetches


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


PING_SECONDS = 3


def servers(url: str) -> list[str]:
    """``TAIZHANG_NATS_URL`` may list a cluster's members, comma-separated (more are found
    from the servers' own announcements)."""
    return [u.strip() for u in url.split(",") if u.strip()]


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
        self.health = Health("nats")

    async def connect_forever(self) -> None:
        """Connect, retrying with a growing pause; the URL (configuration, not personal) is
        named once when it cannot be reached, not once per attempt."""
        while self.nc is None:
            try:
                self.nc = await nats.connect(
                    servers(self.url),
                    name=self.name,
                    connect_timeout=2,
                    # A server cut off by a partition answers nothing: notice within seconds
                    # (not nats-py's two minutes) and go to another member of the cluster.
                    ping_interval=PING_SECONDS,
                    max_outstanding_pings=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    drain_timeout=5,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
            except Exception as e:
                await asyncio.sleep(self.health.failing("unreachable", url=self.url, error=repr(e)))
        self.health.fine()
        self.connected.set()

    async def _disconnected(self) -> None:
        self.disconnects += 1
        self.health.failing("disconnected", url=self.url)

    async def _reconnected(self) -> None:
        self.health.fine()

    async def _error(self, e: Exception) -> None:
        """nats-py's default logs a traceback per failed reconnect attempt; the health
        says it once."""
        self.health.failing("connection_error", url=self.url, error=type(e).__name__)

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

    def forget(self, source: str) -> None:
        """The stream may be gone (deleted, another server): look for it again next time."""
        self._ensured.discard(source)

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()


class NatsConsumerRunner:
    """Feeds one consumer from one source's stream through a shared durable consumer."""

    def __init__(self, consumer: Consumer, source: str, stream: JetStream) -> None:
        self.consumer = consumer
        self.source = source
        self.stream = stream
        self.health = Health(f"consumer:{self.durable}")
        self._stopping = asyncio.Event()

    @property
    def durable(self) -> str:
        return f"{self.consumer.name}__{self.source}"

    async def run(self) -> None:
        await self.stream.connected.wait()
        subscription = None
        size = FETCH_BATCH_SETS if batch_handler(self.consumer) else FETCH_BATCH
        idle = 0
        while not self._stopping.is_set():
            try:
                if subscription is None:
                    subscription = await self._subscribe()
                messages = await subscription.fetch(size, timeout=1)
            except (NatsTimeout, TimeoutError):
                idle += 1
                if idle % IDLE_CHECKS == 0 and not await self._still_there():
                    subscription = None
                continue
            except Exception as e:
                subscription = None
                self.stream.forget(self.source)
                pause = self.health.failing(
                    type(e).__name__, durable=self.durable, url=self.stream.url, error=repr(e)
                )
                await wait_any(self._stopping, timeout=pause)
                continue
            idle = 0
            self.health.fine()
            await self._handle(messages)
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _still_there(self) -> bool:
        """An idle consumer looks for its durable now and then: a deleted (or recreated)
        stream takes it along, and a fetch on it only ever times out."""
        try:
            await self.stream.js.consumer_info(
                stream_name(self.stream.namespace, self.source), self.durable
            )
        except NotFoundError:
            self.stream.forget(self.source)
            self.health.failing("consumer_gone", durable=self.durable, url=self.stream.url)
            return False
        except Exception as e:
            self.health.failing(type(e).__name__, durable=self.durable, url=self.stream.url)
            return True
        self.health.fine()
        return True

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
