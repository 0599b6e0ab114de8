"""The baselines of issue 10, each measured on the same servers in the same run:

(a) the library's own ``save()`` of one new ``Tip`` per call, 16 threads;
(b) single-row INSERT commits on PostgreSQL over 16 connections (asyncpg);
(c) JetStream publish-with-ack, pipelined as the relay does;
(d) raw event reads from a store, ``select_notifications`` pages.
(e), the HTTP ceiling, is a server: ``bench/ceiling.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import nats
from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from services.intake.domain import Tip
from shared.platform.messaging.nats import stream_config
from shared.platform.messaging.relay import PUBLISH_BATCH

THREADS = 16


@dataclass(frozen=True)
class Throughput:
    count: int
    seconds: float
    p99_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


class RawSave(Application[uuid.UUID]):
    """Nothing but the library: its tables are ``rawsave_events`` (or rawsave.sqlite)."""


def sample_tip(n: int) -> Tip:
    """A tip as intake builds one (sealed parts are opaque strings of the same size)."""
    sealed = {"kid": "k1", "ct": "A" * 120}
    return Tip(  # type: ignore[call-arg]
        id=uuid.uuid4(),
        number=f"2026-{n:06d}",
        channel="hotline_12388",
        content="某街道办事处违规收取办证费用,群众多次反映未果",
        summary="违规收费",
        category="arbitrary_charges",
        external_ref=f"raw-{uuid.uuid4().hex}",
        occurred_at=None,
        location={"district": "武昌区", "street": "中南路街道", "address": f"中南路{n % 500}号"},
        subject={"unit": "某街道办事处"},
        anonymous=n % 3 != 0,
        reporter_sealed=sealed if n % 3 == 0 else None,
        receipt_sealed=sealed if n % 3 else None,
        receipt_digest="d" * 64 if n % 3 else None,
        fingerprint="f" * 64,
        actor={"id": "operator:压测", "name": "压测", "role": "operator", "unit": None},
        sms_consent=False,
    )


def raw_saves(env: dict[str, str], seconds: float, threads: int = THREADS) -> Throughput:
    """(a) ``app.save(Tip(...))``, one new aggregate per call, from ``threads`` threads."""
    app = RawSave(env)
    try:
        app.save(sample_tip(0))  # tables created, connections warm
        return _threaded(lambda n: app.save(sample_tip(n)), seconds, threads)
    finally:
        app.close()


def _threaded(work: Callable[[int], Any], seconds: float, threads: int) -> Throughput:
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def worker(i: int) -> None:
        start.wait()
        n = i * 10_000_000
        while time.monotonic() < deadline:
            work(n)
            n += 1
            counts[i] += 1

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    deadline = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for t in pool:
        t.join()
    return Throughput(sum(counts), time.monotonic() - began)


def pg_inserts(pg_url: str, schema: str, seconds: float, connections: int = THREADS) -> Throughput:
    """(b) one INSERT per transaction (autocommit) per connection, as fast as it goes."""
    return asyncio.run(_pg_inserts(pg_url, schema, seconds, connections))


async def _pg_inserts(pg_url: str, schema: str, seconds: float, connections: int) -> Throughput:
    table = f'"{schema}".bench_rows'
    payload = "某街道办事处违规收取办证费用" * 20  # about the size of a tip's event state
    conns = [await asyncpg.connect(pg_url) for _ in range(connections)]
    try:
        await conns[0].execute(
            f"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, payload text)"
        )
        latencies: list[float] = []
        deadline = time.monotonic() + seconds

        async def client(conn: asyncpg.Connection) -> None:
            statement = await conn.prepare(f"INSERT INTO {table} (payload) VALUES ($1)")
            while time.monotonic() < deadline:
                began = time.perf_counter()
                await statement.fetch(payload)
                latencies.append(time.perf_counter() - began)

        began = time.monotonic()
        await asyncio.gather(*(client(c) for c in conns))
        elapsed = time.monotonic() - began
    finally:
        for conn in conns:
            await conn.close()
    return Throughput(len(latencies), elapsed, percentile(latencies, 99) * 1000)


def jetstream_publishes(nats_url: str, namespace: str, seconds: float) -> Throughput:
    """(c) publish with ``Nats-Msg-Id`` and await every ack, in windows like the relay's
    (buffered: no stall timeout, so nats-py writes a window in a few writes)."""
    return asyncio.run(_jetstream_publishes(nats_url, namespace, seconds))


async def _jetstream_publishes(nats_url: str, namespace: str, seconds: float) -> Throughput:
    nc = await nats.connect(nats_url, connect_timeout=5)
    config = stream_config(namespace, "bench")
    js = nc.jetstream(timeout=10)
    payload = (b'{"type":"TipRegistered","content":"' + "某街道办事处".encode() * 60) + b'"}'
    try:
        await js.add_stream(config)
        sent = 0
        deadline = time.monotonic() + seconds
        began = time.monotonic()
        while time.monotonic() < deadline:
            acks = [
                await js.publish_async(
                    f"{namespace}.bench.TipRegistered",
                    payload,
                    headers={"Nats-Msg-Id": f"bench:{sent + i}"},
                )
                for i in range(PUBLISH_BATCH)
            ]
            await asyncio.wait_for(asyncio.gather(*acks), timeout=30)
            sent += len(acks)
        elapsed = time.monotonic() - began
        await js.delete_stream(config.name or "")
    finally:
        await nc.close()
    return Throughput(sent, elapsed)


def event_reads(env: dict[str, str], name: str, seconds: float, page: int = 500) -> Throughput:
    """(d) ``select_notifications`` pages over a store's events, passes repeated for a while."""
    factory = InfrastructureFactory.construct(Environment(name, env))
    recorder = factory.application_recorder()
    read = 0
    began = time.monotonic()
    try:
        while time.monotonic() - began < seconds:
            start = 1
            while batch := recorder.select_notifications(start=start, limit=page):
                read += len(batch)
                start = batch[-1].id + 1
            if read == 0:
                break  # an empty store
    finally:
        factory.close()
    return Throughput(read, time.monotonic() - began)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]
