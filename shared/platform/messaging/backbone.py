"""Wiring of the backbone for the services running in one process.

With ``TAIZHANG_NATS_URL``: a relay per local service (one active among replicas on
PostgreSQL; none with ``relays=False``, when they run in a process of their own, ADR 48) and
a JetStream runner per (consumer, source). Without it (the embedded
default): a follower per (consumer, source) reading the producer's outbox in this process —
which requires every producer to be local.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.platform.messaging import Consumer
from shared.platform.messaging.inprocess import InProcessFollower
from shared.platform.messaging.leadership import PostgresLeadership
from shared.platform.messaging.nats import JetStream, NatsConsumerRunner
from shared.platform.messaging.outbox import Outbox
from shared.platform.messaging.relay import Listen, NatsRelay
from shared.platform.messaging.streams import StreamRecords
from shared.platform.messaging.wakeup import listen_for_saves
from shared.platform.settings import ConfigurationError, Settings

log = structlog.get_logger(__name__)

RESTART_SECONDS = 1.0


class Backbone:
    def __init__(
        self,
        settings: Settings,
        outboxes: dict[str, Outbox],
        consumers: Sequence[Consumer],
        engine: AsyncEngine | None = None,
        *,
        relays: bool = True,
        apart: bool = False,
    ) -> None:
        """``relays``: publish the outboxes from here; ``apart``: the relays run apart from
        their services (ADR 48) — no save in this process wakes them: the store's ``NOTIFY``
        does, and they poll every ``relay_poll_seconds`` (inline: every second); after a
        batch that was not full they let events gather as long."""
        self.settings = settings
        self.relays = relays
        self.apart = apart
        self.poll_seconds = settings.relay_poll_seconds if apart else 1.0
        # The shared read database keeps each relay's record of its stream (ADR 17).
        self.engine = engine
        self.outboxes = outboxes
        self.consumers = list(consumers)
        self.stream: JetStream | None = None
        self._workers: list[Any] = []
        self._leaders: list[PostgresLeadership] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.settings.nats_url:
            self._wire_nats(self.settings.nats_url)
        else:
            self._wire_in_process()
            await asyncio.gather(*(worker.prepare() for worker in self._workers))
        for worker in self._workers:
            self._tasks.append(asyncio.create_task(self._supervised(worker)))

    def _wire_in_process(self) -> None:
        for consumer in self.consumers:
            for source in consumer.sources:
                if source not in self.outboxes:
                    raise ConfigurationError(
                        f"{consumer.name} needs {source}'s events: run it in this process "
                        "or set TAIZHANG_NATS_URL"
                    )
                self._workers.append(InProcessFollower(consumer, self.outboxes[source]))

    def _wire_nats(self, url: str) -> None:
        self.stream = JetStream(
            url,
            name="taizhang:" + "+".join(self.outboxes),
            namespace=self.settings.nats_namespace,
            replicas=self.settings.nats_replicas,
            ack_wait_seconds=self.settings.nats_ack_wait_seconds,
            duplicate_window=self.settings.nats_duplicate_window_seconds,
            faults=self.settings.faults,
        )
        self._tasks.append(asyncio.create_task(self.stream.connect_forever()))
        relayed = self.outboxes if self.relays else {}
        if relayed and self.engine is None:
            raise ConfigurationError("a relay needs the shared database for its stream records")
        records = StreamRecords(self.engine) if self.engine is not None else None
        for source, outbox in relayed.items():
            leadership = None
            if self.settings.database_url is not None:
                leader = PostgresLeadership(self.settings, f"relay:{source}")
                self._leaders.append(leader)
                leadership = leader
            assert records is not None
            listen = self._listener(outbox)
            gap = self.poll_seconds if self.apart else 0.0
            relay = NatsRelay(
                outbox, self.stream, records, leadership, self.poll_seconds, listen, gap
            )
            self._workers.append(relay)
        for consumer in self.consumers:
            for source in consumer.sources:
                self._workers.append(NatsConsumerRunner(consumer, source, self.stream))

    def _listener(self, outbox: Outbox) -> Listen | None:
        """Apart from its service (a relay polling), the store's ``NOTIFY`` wakes a relay."""
        channel = getattr(outbox.app.recorder, "channel_name", None)
        if not self.apart or channel is None or self.settings.database_url is None:
            return None
        return functools.partial(listen_for_saves, self.settings, channel)

    async def stop(self, timeout: float = 5.0) -> None:
        """Let every worker finish what it holds (acks included), then close NATS. A worker
        cancelled mid-message has committed nothing it has not acked: it is redelivered."""
        for worker in self._workers:
            worker.stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
        for leader in self._leaders:
            await leader.release()
        if self.stream is not None:
            await self.stream.close()

    def status(self) -> str:
        if self.stream is None:
            return "ok"
        return "ok" if self.stream.is_connected else "unavailable"

    def delivery(self) -> dict[str, Any]:
        """Whether events get where they go: ``degraded`` once the connection, a relay or a
        consumer has been unable to reach or verify its stream for longer than the grace.
        Reported beside readiness, never instead of it: intake keeps taking tips."""
        grace = self.settings.delivery_grace_seconds
        if self.stream is None:
            return {"status": "ok", "mode": "in-process"}
        parts = {"nats": self.stream.health.report(grace)} | {
            worker.health.worker: worker.health.report(grace)
            for worker in self._workers
            if hasattr(worker, "health")
        }
        degraded = sorted(name for name, part in parts.items() if part["status"] != "ok")
        return {
            "status": "degraded" if degraded else "ok",
            "url": self.stream.url,
            "degraded": degraded,
            "parts": parts,
        }

    async def _supervised(self, worker: Any) -> None:
        """Run a worker until it is stopped; one that dies is started again after a pause,
        so a fault nobody foresaw delays delivery instead of ending it."""
        while True:
            try:
                await worker.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("backbone_worker_died", worker=type(worker).__name__)
                await asyncio.sleep(RESTART_SECONDS)
