"""Issue 10, second round: the pipeline, intake → NATS → the ledger, at a steady load.

    nice -n 10 .venv/bin/python -m bench.pipeline          # ~2 minutes (60 s of steady load)
    .venv/bin/python -m bench.pipeline --quick             # smoke run (1 s of load)

Intake and tracking as ``taizhang serve`` processes (private schema and NATS namespace).
Intake's capacity is measured first (16 wrk connections, full speed); then tips are offered
at half of it, paced, for ``--seconds``. For each of those tips the ledger row's insertion
moment is recorded by the database itself (a column the bench adds to its private copy of
the ledger, defaulting to ``clock_timestamp()``; the projection never names it), so
intake → ledger is ``inserted - registered_at`` — the tip's registration moment in intake to
its ledger row, through the outbox, the relay, JetStream and the projection.

Baselines in the same run: (N) the PostgreSQL LISTEN/NOTIFY round trip at the same rate —
one hop through the same database, the floor of any database-mediated pipeline; and the
issue's limit of 5 s for the projection lag (events intake has stored that the ledger has not
applied) to come back to zero once the load stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import nats
import psycopg

from bench.baselines import percentile
from bench.common import (
    Deployment,
    Servers,
    deployment,
    nats_version,
    pg_version,
    report_options,
    run_bench,
)
from bench.figures import Baseline, Figure, Report, err, say
from bench.intake_steps import load
from bench.load import WrkMissing, ensure_wrk
from shared.contracts import decode
from shared.contracts.intake import TipRegistered
from shared.platform.messaging.nats import stream_name

LAG_LIMIT_S = 5.0
MARK = "bench_inserted_at"


@dataclass(frozen=True)
class Plan:
    seconds: float  # the steady load
    capacity_seconds: float
    warmup: float


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s of load")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady load (default 60)")
    report_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    try:
        ensure_wrk()
    except WrkMissing as e:
        err(str(e))
        return 2
    plan = Plan(1, 1, 0) if args.quick else Plan(args.seconds, 15, 3)

    def measure(report: Report, srv: Servers, out: Path) -> None:
        with deployment(out, srv.pg_url, srv.nats_url) as d:
            run(report, d, plan)

    return run_bench(
        "bench.pipeline",
        argv,
        args,
        lambda srv: {
            "servers": f"{srv.origin}: PostgreSQL {pg_version(srv.pg_url)}, "
            f"nats-server {nats_version(srv.nats_url)} at {srv.nats_url}",
            "steady load": f"{plan.seconds:g} s at half of intake's capacity",
        },
        measure,
    )


def run(report: Report, d: Deployment, p: Plan) -> None:
    assert d.pg_url is not None
    d.create_schema()
    intake, _ = d.start_together("intake", "tracking")
    mark_insertions(d)
    if p.warmup:
        load(intake, d, p.warmup)
    full = load(intake, d, p.capacity_seconds)
    say(
        f"intake capacity: {full.rate:,.1f} req/s, {full.requests:,} requests, {full.errors} errors"
    )
    rate = full.rate / 2
    caught_up(d, timeout=max(120.0, full.requests / 20))  # the steady load starts from lag 0

    notify = notify_round_trips(d.pg_url, rate, min(p.seconds, 15))
    baseline = report.baseline(
        Baseline(
            "N",
            "LISTEN/NOTIFY round trip p99",
            notify.p99_ms,
            "ms",
            f"asyncpg, {notify.count:,} notifications at {rate:,.0f}/s, p50 {notify.p50_ms:.2f} ms",
        )
    )

    lag = LagWatch(d).start()
    began = _db_now(d)
    steady = load(intake, d, p.seconds, rate=rate)
    stopped = time.monotonic()
    ended = _db_now(d)
    back_to_zero = caught_up(d, timeout=max(60.0, LAG_LIMIT_S * 6)) - stopped
    lag.stop()
    latency = intake_to_ledger(d, began, ended)
    say(stages(d, began, ended))
    report.figure(
        Figure(
            f"intake → ledger p99 at {steady.rate:,.0f} tips/s for {p.seconds:g} s",
            latency.p99_ms,
            "ms",
            baseline,
            "≤",
            10,
            detail=(
                f"{latency.count:,} tips, p50 {latency.p50_ms:.1f} ms, "
                f"max {latency.max_ms:.1f} ms; "
                f"offered {steady.requests:,} requests, {steady.errors} errors, "
                f"intake p99 {steady.p99_ms:.1f} ms"
            ),
        )
    )
    report.figure(
        Figure(
            "projection lag back to 0 after the load stops",
            max(back_to_zero, 0.0),
            "s",
            Baseline("L", "the issue's limit", LAG_LIMIT_S, "s"),
            "≤",
            1,
            detail=f"largest lag during the load: {lag.largest:,} events",
        )
    )


def mark_insertions(d: Deployment) -> None:
    """The bench's copy of the ledger records when each row was inserted (not updated)."""
    with psycopg.connect(d.pg_url or "", autocommit=True) as conn:
        conn.execute(
            f'ALTER TABLE "{d.schema}".ledger '
            f"ADD COLUMN {MARK} timestamptz DEFAULT clock_timestamp()"
        )


def lag_events(conn: psycopg.Connection, schema: str) -> int:
    """Events intake has stored beyond the ledger's position in intake's log."""
    row = conn.execute(
        f'SELECT (SELECT coalesce(max(notification_id), 0) FROM "{schema}".intake_events) - '
        f'coalesce((SELECT position FROM "{schema}".projection_positions '
        "WHERE consumer = 'ledger' AND source = 'intake'), 0)"
    ).fetchone()
    return int(row[0]) if row else 0


def caught_up(d: Deployment, timeout: float) -> float:
    """Waits for lag 0; returns the monotonic moment it was seen."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(d.pg_url or "", autocommit=True) as conn:
        while time.monotonic() < deadline:
            if lag_events(conn, d.schema) <= 0:
                return time.monotonic()
            time.sleep(0.05)
    raise RuntimeError(f"the ledger did not catch up with intake within {timeout:g} s")


class LagWatch:
    """The largest lag seen while the load runs (sampled every 0.5 s)."""

    def __init__(self, d: Deployment) -> None:
        self.d = d
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LagWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with psycopg.connect(self.d.pg_url or "", autocommit=True) as conn:
            while not self._stop.wait(0.5):
                self.largest = max(self.largest, lag_events(conn, self.d.schema))


def _db_now(d: Deployment) -> object:
    with psycopg.connect(d.pg_url or "") as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0]


@dataclass(frozen=True)
class Latencies:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def intake_to_ledger(d: Deployment, began: object, ended: object) -> Latencies:
    """Registration → ledger row, for the tips registered during the steady load."""
    with psycopg.connect(d.pg_url or "") as conn:
        row = conn.execute(
            "SELECT count(*), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), max(lag) "
            f"FROM (SELECT extract(epoch FROM {MARK} - registered_at) * 1000 AS lag "
            f'FROM "{d.schema}".ledger WHERE registered_at >= %s AND registered_at < %s) AS l',
            (began, ended),
        ).fetchone()
    assert row is not None
    if not row[0]:
        raise RuntimeError("no tip of the steady load reached the ledger")
    return Latencies(int(row[0]), float(row[1]), float(row[2]), float(row[3]))


def stages(d: Deployment, began: object, ended: object, samples: int = 400) -> str:
    """Where the time between registration and the ledger row goes: each sampled tip's
    ``TipRegistered`` message carries the moment JetStream stored it, so the path splits into
    intake → JetStream (the group commit, the outbox read, the relay's publish) and
    JetStream → ledger (delivery, the consumer's fetch, the batch's transaction)."""
    published = asyncio.run(_published(d, samples))
    if not published:
        return "stages: no TipRegistered message found in the stream"
    with psycopg.connect(d.pg_url or "") as conn:
        rows = conn.execute(
            f'SELECT case_id, registered_at, {MARK} FROM "{d.schema}".ledger '
            "WHERE case_id = ANY(%s) AND registered_at >= %s AND registered_at < %s",
            (list(published), began, ended),
        ).fetchall()
    if not rows:
        return "stages: no sampled tip fell in the steady window"
    first = [(published[c] - r).total_seconds() for c, r, _ in rows]
    second = [(m - published[c]).total_seconds() for c, _, m in rows]

    def ms(values: list[float]) -> str:
        p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
        return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"

    return (
        f"stages of {len(rows)} sampled tips: intake → JetStream {ms(first)}; "
        f"JetStream → ledger {ms(second)}"
    )


async def _published(d: Deployment, samples: int) -> dict[object, datetime]:
    """case id → the moment JetStream stored its ``TipRegistered``, for evenly spaced
    messages of intake's stream."""
    nc = await nats.connect(d.nats_url or "")
    try:
        js = nc.jetstream()
        name = stream_name(d.namespace, "intake")
        state = (await js.stream_info(name)).state
        step = max(1, (state.last_seq - state.first_seq + 1) // samples)
        found: dict[object, datetime] = {}
        for seq in range(state.first_seq, state.last_seq + 1, step):
            message = await js.get_msg(name, seq)
            envelope = decode(message.data or b"")
            if isinstance(envelope.event, TipRegistered) and message.time is not None:
                found[envelope.event.case_id] = message.time
        return found
    finally:
        await nc.close()


@dataclass(frozen=True)
class RoundTrips:
    count: int
    p50_ms: float
    p99_ms: float


def notify_round_trips(pg_url: str, rate: float, seconds: float) -> RoundTrips:
    """NOTIFY on one connection, paced at ``rate``; timed until LISTEN on another hears it."""
    return asyncio.run(_notify_round_trips(pg_url, rate, seconds))


async def _notify_round_trips(pg_url: str, rate: float, seconds: float) -> RoundTrips:
    listener, sender = await asyncpg.connect(pg_url), await asyncpg.connect(pg_url)
    sent: dict[str, float] = {}
    heard: list[float] = []
    all_heard = asyncio.Event()

    def hear(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        heard.append(time.perf_counter() - sent.pop(payload))
        if not sent:
            all_heard.set()

    try:
        await listener.add_listener("bench_round_trip", hear)
        interval = 1 / max(rate, 1.0)
        began = time.monotonic()
        n = 0
        while time.monotonic() - began < seconds:
            slot = began + n * interval
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            key = str(n)
            sent[key] = time.perf_counter()
            await sender.execute(f"NOTIFY bench_round_trip, '{key}'")
            n += 1
        if sent:
            all_heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_heard.wait(), timeout=10)
    finally:
        await listener.close()
        await sender.close()
    return RoundTrips(len(heard), percentile(heard, 50) * 1000, percentile(heard, 99) * 1000)


if __name__ == "__main__":
    sys.exit(main())
