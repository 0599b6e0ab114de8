"""The steps of ``bench.intake``; each measures its baselines right before its figures."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import nats
import psycopg
from nats.js.errors import NotFoundError

from bench import baselines as base
from bench import profile as profiling
from bench.common import BenchProcess, Deployment, Servers, deployment, unreachable_nats_url
from bench.figures import Baseline, Figure, Report, say
from bench.load import LoadResult, post_tips
from shared.platform.eventstore import application_env
from shared.platform.messaging.nats import stream_name

CLIENTS = 16

__all__ = ["Plan", "Servers", "postgres", "profile", "relay", "sqlite"]


@dataclass(frozen=True)
class Plan:
    seconds: float  # each throughput or latency figure
    warmup: float
    memory_seconds: float
    memory_reference: float  # when the reference RSS is read ("minute 2")
    backlog_seconds: float  # how long tips are registered while NATS is away
    profile: bool
    relay_apart: bool = False  # intake's relay in a process of its own (ADR 48)
    only_postgres: bool = False  # no backlog drain, no SQLite (interleaved rounds)

    @property
    def memory_form(self) -> str:
        form = "the full 10-minute form" if self.memory_seconds >= 600 else "short form"
        return (
            f"{self.memory_seconds:g} s constant load, reference at "
            f"{self.memory_reference:g} s ({form})"
        )


def postgres(report: Report, p: Plan, srv: Servers, root: Path) -> float:
    """Figures on PostgreSQL + NATS; returns intake's capacity (requests/s)."""
    with deployment(root, srv.pg_url, srv.nats_url) as d:
        d.create_schema()
        b = _insert_baseline(report, d, p)
        _publish_baseline(report, d, p)
        e = _ceiling_baseline(report, d, p)
        a = _save_baseline(report, d, p, "PostgreSQL")
        intake, relay = start_intake(d, p)
        load(intake, d, p.warmup)
        full = load(intake, d, p.seconds, relay=relay)
        _throughput_figures(report, full, a, b, e)
        half = load(intake, d, p.seconds, rate=full.rate / 2, relay=relay)
        report.figure(
            Figure(
                f"intake p99 at half load ({half.rate:,.0f} req/s paced), PostgreSQL",
                half.p99_ms,
                "ms",
                Baseline("b", b.name + " p99", b.detail_p99, "ms"),
                "≤",
                10,
                detail=f"p50 {half.p50_ms:.1f} ms, max {half.max_ms:.1f} ms, errors {half.errors}",
            )
        )
        _read_baseline(report, d, p)
        _memory_figure(report, intake, d, p, full.rate / 2)
        return full.rate


def relay(report: Report, p: Plan, srv: Servers, root: Path, capacity: float) -> None:
    """How fast the relay drains a backlog built while NATS was away."""
    with deployment(root, srv.pg_url, srv.nats_url) as d:
        away, _ = start_intake(d, p, TAIZHANG_NATS_URL=unreachable_nats_url())
        load(away, d, p.backlog_seconds)
        away.stop()
        backlog = _registered_tips(d)
        restarted = time.monotonic()
        if p.relay_apart:
            d.start_relay("intake")
        else:
            d.start("intake")
        drained, seconds = asyncio.run(_watch_stream(d, backlog, restarted))
        capacity_baseline = Baseline("T", "intake capacity (above)", capacity, "tips/s")
        report.figure(
            Figure(
                "relay to NATS, draining a backlog",
                drained / seconds if seconds else 0.0,
                "events/s",
                capacity_baseline,
                "≥",
                2,
                detail=f"{drained:,} of {backlog:,} events timed over {seconds:.2f} s",
            )
        )


def sqlite(report: Report, p: Plan, root: Path) -> None:
    """Intake on the embedded default (SQLite, in-process delivery) against save() on SQLite."""
    with deployment(root, None, None) as d:
        a = _save_baseline(report, d, p, "SQLite")
        intake = d.start("intake")
        load(intake, d, p.warmup)
        result = load(intake, d, p.seconds)
        report.figure(
            Figure(
                f"intake throughput, {CLIENTS} clients, embedded SQLite",
                result.rate,
                "req/s",
                a,
                "≥",
                1,
                detail=_load_detail(result),
            )
        )


def profile(report: Report, p: Plan, srv: Servers, root: Path) -> None:
    """A py-spy profile of intake at full load (a separate run: sampling costs CPU)."""
    with deployment(root, srv.pg_url, srv.nats_url) as d:
        intake, _ = start_intake(d, p)
        load(intake, d, p.warmup)
        output = root / "intake-profile.txt"
        sampler = profiling.record(intake.pid, p.seconds, output)
        result = load(intake, d, p.seconds)
        sampler.wait(timeout=p.seconds + 60)
        say(f"profile of intake at {result.rate:,.0f} req/s ({output}):")
        say(profiling.summarise(output))
        report.note(f"profile written to {output}")


# --- pieces --------------------------------------------------------------------------------


def start_intake(d: Deployment, p: Plan, **env: str) -> tuple[BenchProcess, BenchProcess | None]:
    """Intake, and with ``--relay apart`` its relay in a process of its own (ADR 48)."""
    if not p.relay_apart:
        return d.start("intake", True, **env), None
    intake = d.start("intake", True, **(env | {"TAIZHANG_RELAY": "apart"}))
    if "TAIZHANG_NATS_URL" in env:  # NATS is away: the backlog waits for a relay
        return intake, None
    return intake, d.start_relay("intake")


def load(
    target: BenchProcess,
    d: Deployment,
    seconds: float,
    rate: float = 0.0,
    relay: BenchProcess | None = None,
) -> LoadResult:
    """wrk against ``target``; the result knows the CPU the target (and its relay apart)
    spent per request."""
    cpu = target.cpu_seconds()
    relay_cpu = relay.cpu_seconds() if relay is not None else 0.0
    result = post_tips(target.url, d.token(), seconds=seconds, connections=CLIENTS, rate=rate)
    spent = target.cpu_seconds() - cpu
    relay_spent = relay.cpu_seconds() - relay_cpu if relay is not None else 0.0
    per = 1000 / result.requests if result.requests else 0.0
    return replace(result, cpu_ms=spent * per, relay_cpu_ms=relay_spent * per)


def _load_detail(result: LoadResult) -> str:
    relay = f" (+ {result.relay_cpu_ms:.2f} ms its relay apart)" if result.relay_cpu_ms else ""
    return (
        f"{result.requests:,} requests in {result.seconds:.1f} s, errors {result.errors}, "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"CPU {result.cpu_ms:.2f} ms a request{relay}"
    )


def _throughput_figures(
    report: Report, full: LoadResult, a: Baseline, b: Baseline, e: Baseline
) -> None:
    name = f"intake throughput, {CLIENTS} clients, PostgreSQL"
    detail = _load_detail(full)
    for baseline, factor in ((a, 3), (b, 0.3), (e, 0.5)):
        report.figure(Figure(name, full.rate, "req/s", baseline, "≥", factor, detail=detail))


@dataclass(frozen=True)
class InsertBaseline(Baseline):
    detail_p99: float = 0.0


def _insert_baseline(report: Report, d: Deployment, p: Plan) -> InsertBaseline:
    assert d.pg_url is not None
    result = base.pg_inserts(d.pg_url, d.schema, p.seconds)
    baseline = InsertBaseline(
        "b",
        f"single-row INSERT commits, {CLIENTS} connections",
        result.rate,
        "rows/s",
        f"asyncpg, autocommit; p99 {result.p99_ms:.2f} ms",
        detail_p99=result.p99_ms or 0.0,
    )
    report.baseline(baseline)
    return baseline


def _publish_baseline(report: Report, d: Deployment, p: Plan) -> Baseline:
    assert d.nats_url is not None
    result = base.jetstream_publishes(d.nats_url, d.namespace, p.seconds)
    return report.baseline(
        Baseline(
            "c",
            "JetStream publish-with-ack",
            result.rate,
            "msgs/s",
            "nats-py publish_async in windows of 500, every ack awaited",
        )
    )


def _ceiling_baseline(report: Report, d: Deployment, p: Plan) -> Baseline:
    ceiling = d.start_ceiling()
    try:
        load(ceiling, d, p.warmup)
        result = load(ceiling, d, p.seconds)
    finally:
        ceiling.stop()
    return report.baseline(
        Baseline(
            "e",
            "HTTP ceiling (TipIn validated, nothing stored)",
            result.rate,
            "req/s",
            f"bench/ceiling.py; {_load_detail(result)}",
        )
    )


def _save_baseline(report: Report, d: Deployment, p: Plan, store: str) -> Baseline:
    result = base.raw_saves(application_env(d.settings, "rawsave"), p.seconds)
    return report.baseline(
        Baseline(
            "a",
            f"raw save() of one Tip, {base.THREADS} threads, {store}",
            result.rate,
            "saves/s",
            "eventsourcing Application.save(), one new aggregate per call",
        )
    )


def _read_baseline(report: Report, d: Deployment, p: Plan) -> Baseline:
    result = base.event_reads(application_env(d.settings, "intake"), "Intake", p.seconds)
    return report.baseline(
        Baseline(
            "d",
            "raw event reads from intake's store",
            result.rate,
            "events/s",
            f"select_notifications pages of 500; {result.count:,} events read",
        )
    )


def _memory_figure(
    report: Report, intake: BenchProcess, d: Deployment, p: Plan, rate: float
) -> None:
    """RSS under constant load: at the reference moment and at the end."""
    loader = threading.Thread(
        target=load, args=(intake, d, p.memory_seconds), kwargs={"rate": rate}, daemon=True
    )
    began = time.monotonic()
    loader.start()
    reference = None
    while loader.is_alive():
        if reference is None and time.monotonic() - began >= p.memory_reference:
            reference = intake.rss_mb()
        loader.join(timeout=0.5)
    final = intake.rss_mb()
    report.figure(
        Figure(
            f"intake RSS after {p.memory_seconds:g} s at {rate:,.0f} req/s",
            final,
            "MiB",
            Baseline("M", f"its RSS at {p.memory_reference:g} s", reference or final, "MiB"),
            "±",
            0.1,
            detail=p.memory_form,
        )
    )


def _registered_tips(d: Deployment) -> int:
    assert d.pg_url is not None
    with psycopg.connect(d.pg_url) as conn:
        row = conn.execute(
            f'SELECT count(*) FROM "{d.schema}".intake_events WHERE topic LIKE %s',
            ("%:Tip.Registered",),
        ).fetchone()
    return int(row[0]) if row else 0


async def _watch_stream(d: Deployment, backlog: int, restarted: float) -> tuple[int, float]:
    """Events published between the first one seen in the stream and the last, and how long.

    A backlog so small that it lands between two looks is timed from the restart instead
    (start-up included: a floor, good enough for a smoke run)."""
    assert d.nats_url is not None
    nc = await nats.connect(d.nats_url, connect_timeout=5)
    js = nc.jetstream()
    name = stream_name(d.namespace, "intake")
    first: tuple[int, float] | None = None
    deadline = time.monotonic() + max(60.0, backlog / 50)
    try:
        while time.monotonic() < deadline:
            try:
                last = (await js.stream_info(name)).state.last_seq
            except NotFoundError:
                last = 0
            now = time.monotonic()
            if last and first is None:
                first = (last, now)
            if first is not None and last >= backlog:
                if last == first[0]:
                    return last, now - restarted
                return last - first[0], now - first[1]
            await asyncio.sleep(0.02)
    finally:
        await nc.close()
    raise RuntimeError(f"the relay did not publish {backlog} events in time")
