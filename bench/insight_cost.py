"""Issue 25 point 3: insight costs intake nothing on its request path — measured where it
could cost most, the embedded default, where insight's consumer shares intake's process.

    nice -n 10 .venv/bin/python -m bench.insight_cost        # ~8 minutes (catch-up between rounds)
    .venv/bin/python -m bench.insight_cost --quick               # smoke run (figures are noise)
    nice -n 10 .venv/bin/python -m bench.insight_cost --watch    # + who waits for SQLite's locks
    nice -n 10 .venv/bin/python -m bench.insight_cost --store postgres   # the same on PostgreSQL

``--watch`` runs both processes under :mod:`bench.lockwatch` and prints, per 1,000 requests,
each SQLite writer's transactions, those that found the lock held, the time slept for it and
the time it was held, and each thread's CPU — counts that do not depend on the machine's
load as the throughput does (ADR 45).

Two all-in-one processes on SQLite stores (``taizhang serve intake dispatch tracking notify``
and the same with ``insight``), each in a data directory and NATS namespace of its own —
delivery through NATS because the in-process backbone refuses a process whose tracking
follows insight's warnings without insight beside it — loaded with wrk in
interleaved rounds (A B B A …, so a drift of the machine falls on both). Figures: intake's
throughput and its p99 with insight against the same without (baseline "W", same run), and
the process's CPU a request while loaded; between rounds the consumers catch up, so each
round starts with no backlog. With services apart, insight is a process of
its own and intake's is unchanged by construction (nothing of insight is imported there).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import lockwatch
from bench.common import (
    TAIZHANG,
    BenchProcess,
    Deployment,
    Servers,
    free_port,
    report_options,
    run_bench,
)
from bench.common import deployment as new_deployment
from bench.figures import Baseline, Figure, Report, say
from bench.intake_steps import CLIENTS, load
from bench.load import LoadResult, ensure_wrk

WITHOUT = ("intake", "dispatch", "tracking", "notify")
WITH = (*WITHOUT, "insight")
STORES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
SETTLE_SECONDS = 300.0  # a loaded machine: the ledger of an all-in-one catches up slowly


@dataclass
class Side:
    """One all-in-one process and what its rounds measured."""

    label: str
    deployment: Deployment
    process: BenchProcess
    results: list[LoadResult] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    watched: Path | None = None  # the process's lock and thread figures (``--watch``)
    loaded: list[dict[str, Any]] = field(default_factory=list)  # while loaded
    waits: list[dict[str, Any]] = field(default_factory=list)  # loaded and caught up

    def rate(self) -> float:
        return statistics.median(r.rate for r in self.results)

    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.results)

    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)


def start(
    d: Deployment,
    services: tuple[str, ...],
    watched: Path | None,
    env: dict[str, str] | None = None,
) -> BenchProcess:
    """``env``: settings of this side's process (``TAIZHANG_…``) beside the deployment's."""
    port = free_port()
    command = [TAIZHANG, "serve", *services, "--port", str(port)]
    if watched is not None:  # the same command under bench.lockwatch
        command = [sys.executable, "-m", "bench.lockwatch", str(watched), *command[1:]]
    environment = d.env(PYTHONUNBUFFERED="1", **(env or {}))  # its log: how far a start got
    process = BenchProcess("+".join(services), environment, d.log_dir, port, command)
    d.processes.append(process)
    return process.start(wait=True)


def rows(d: Deployment, table: str) -> int | None:
    """Rows of a read model (``None``: no such table here), read from the embedded file or
    the deployment's PostgreSQL schema."""
    if d.pg_url is not None:
        try:
            with psycopg.connect(d.pg_url, autocommit=True, connect_timeout=5) as conn:
                found = conn.execute(f'SELECT count(*) FROM "{d.schema}".{table}').fetchone()
                return int(found[0]) if found else None
        except psycopg.errors.UndefinedTable:
            return None
    path = d.data_dir / "readmodels.sqlite"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return None


def settled(side: Side, posted: int) -> None:
    """Wait until every tip posted so far is on the ledger and, where insight runs, in its
    table: the CPU of a round is then the whole cost of its tips."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        seen = rows(side.deployment, "insight_tips")
        if (rows(side.deployment, "ledger") or 0) >= posted and (seen is None or seen >= posted):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"{side.label}: the consumers did not catch up in {SETTLE_SECONDS:.0f} s "
        f"({posted} answered 201; ledger {rows(side.deployment, 'ledger')}, "
        f"insight {rows(side.deployment, 'insight_tips')})"
    )


def round_of(side: Side, seconds: float, posted: dict[str, int]) -> None:
    """One load run, then a wait until the consumers have caught up, so that every round
    starts with no backlog (the catch-up is not timed: idle timers would count in it)."""
    spy = side.watched
    before = lockwatch.observe(side.process.pid, spy) if spy is not None else None
    result = load(side.process, side.deployment, seconds)
    if spy is not None and before is not None:
        after = lockwatch.observe(side.process.pid, spy)
        side.loaded.append(difference(before, after, result.requests))
        say(pauses_line(side.loaded[-1]))
    posted[side.label] += result.ok
    side.results.append(result)
    side.cpu_ms.append(result.cpu_ms)
    say(
        f"  {side.label}: {result.rate:,.0f} req/s, p99 {result.p99_ms:.1f} ms, "
        f"{result.cpu_ms:.2f} ms CPU a request while loaded"
    )
    settled(side, posted[side.label])
    if spy is not None and before is not None:
        caught_up = lockwatch.observe(side.process.pid, spy)
        side.waits.append(difference(before, caught_up, result.requests))


def measure(report: Report, args: argparse.Namespace, srv: Servers, root: Path) -> None:
    pg_url = srv.pg_url if args.store == "postgres" else None
    with (
        new_deployment(root, pg_url, srv.nats_url) as plain_d,
        new_deployment(root, pg_url, srv.nats_url) as insight_d,
    ):
        if pg_url is not None:
            plain_d.create_schema()
            insight_d.create_schema()
        spies = [root / f"lockwatch-{n}.json" if args.watch else None for n in (1, 2)]
        plain = Side(
            "without insight", plain_d, start(plain_d, WITHOUT, spies[0]), watched=spies[0]
        )
        watched = Side(
            "with insight", insight_d, start(insight_d, WITH, spies[1]), watched=spies[1]
        )
        posted = {plain.label: 0, watched.label: 0}
        for side in (plain, watched):  # warm both up; not counted
            round_of(side, args.warmup, posted)
            side.results.clear()
            side.cpu_ms.clear()
            side.waits.clear()
            side.loaded.clear()
        for n in range(args.rounds):
            order = (plain, watched) if n % 2 == 0 else (watched, plain)
            for side in order:
                round_of(side, args.seconds, posted)
        if args.watch:
            for side in (plain, watched):
                say(waits_table(side))
                say(pauses_table(side))
                dumped = root / f"pauses-{side.label.replace(' ', '-')}.json"
                dumped.write_text(json.dumps(side.loaded, ensure_ascii=False, indent=1))
        if rows(insight_d, "insight_tips") is None or rows(plain_d, "insight_tips") is not None:
            raise RuntimeError("insight ran in the wrong process (or in neither)")
        w = Baseline(
            "W",
            f"intake without insight, all-in-one on {STORES[args.store]}, same run",
            plain.rate(),
            "req/s",
            f"median of {args.rounds} rounds, p99 {plain.p99():.1f} ms, {plain.cpu():.2f} ms CPU",
        )
        report.baseline(w)
        detail = f"median of {args.rounds} interleaved rounds, {CLIENTS} clients"
        report.figure(
            Figure("intake throughput with insight", watched.rate(), "req/s", w, "≥", 0.9, detail)
        )
        p = Baseline("P", "intake p99 without insight, same rounds", plain.p99(), "ms")
        report.baseline(p)
        report.figure(Figure("intake p99 with insight", watched.p99(), "ms", p, "≤", 1.2, detail))
        c = Baseline("U", "the process's CPU a request without insight", plain.cpu(), "ms")
        report.baseline(c)
        report.figure(
            Figure(
                "the process's CPU a request with insight, while loaded",
                watched.cpu(),
                "ms",
                c,
                "≤",
                1.2,
                "what the process spent while loaded over the requests answered: insight's "
                "consumer and sweep share it with intake's handlers",
            )
        )


def difference(before: dict[str, Any], after: dict[str, Any], requests: int) -> dict[str, Any]:
    """What a round added to the process's lock and thread figures, with its request count."""
    locks = {}
    for key, row in after["locks"].items():
        old = before["locks"].get(key, [0, 0, 0.0, 0.0])
        locks[key] = [new - was for new, was in zip(row, old, strict=True)]
    threads = {k: v - before["threads"].get(k, 0.0) for k, v in after["threads"].items()}
    pauses = {}
    for key, row in after.get("pauses", {}).items():
        old = before.get("pauses", {}).get(key, [0, 0.0, 0.0, 0])
        pauses[key] = [row[0] - old[0], row[1] - old[1], row[2], row[3] - old[3]]
    slow = [s for s in after.get("slow", []) if before["at"] <= s[0] <= after["at"]]
    return {
        "locks": locks,
        "threads": threads,
        "requests": requests,
        "pauses": pauses,
        "slow": slow,
    }


def pauses_line(round_: dict[str, Any]) -> str:
    """A round's pauses of 50 ms or more (``--watch``): how many of each kind and where,
    with the longest; the event loop's longest lag and what held it."""
    by: dict[str, list[float]] = {}
    for _, kind, where, ms, _detail in round_["slow"]:
        row = by.setdefault(f"{kind} {where}", [0, 0.0])
        row[0] += 1
        row[1] = max(row[1], ms)
    parts = [f"{key} ×{n:.0f} (≤{ms:.0f} ms)" for key, (n, ms) in sorted(by.items())]
    checkpoints = sum(
        row[0] for key, row in round_["pauses"].items() if key.startswith("checkpoint")
    )
    return f"    pauses ≥ 50 ms: {'; '.join(parts) or 'none'}; checkpoints {checkpoints:.0f}"


def waits_table(side: Side) -> str:
    """The rounds' sums, per 1,000 requests: transactions, those that found the write lock
    held, ms slept for it and ms held, per file and tables written; CPU ms per thread."""
    requests = sum(w["requests"] for w in side.waits) or 1
    locks: dict[str, list[float]] = {}
    for w in side.waits:
        for key, row in w["locks"].items():
            locks[key] = [a + b for a, b in zip(locks.get(key, [0, 0, 0.0, 0.0]), row, strict=True)]
    threads, loaded = _summed(side.waits), _summed(side.loaded)
    k = 1000 / requests
    lines = [
        f"{side.label}: {requests:,} requests; per 1,000 requests:",
        "  file and tables written | transactions | found the lock held | ms slept | ms held",
    ]
    for key, (tx, busy, slept, held) in sorted(locks.items(), key=lambda i: -i[1][3]):
        if tx:
            lines.append(
                f"  {key} | {tx * k:.1f} | {busy * k:.1f} | {slept * k:.0f} | {held * k:.0f}"
            )
    lines.append("  thread | CPU ms a request: while loaded | loaded and caught up")
    for key, cpu in sorted(threads.items(), key=lambda i: -i[1]):
        if cpu > 0:
            lines.append(
                f"  {key} | {1000 * loaded.get(key, 0.0) / requests:.3f} | "
                f"{1000 * cpu / requests:.3f}"
            )
    whole = 1000 * sum(threads.values()) / requests
    lines.append(f"  all threads | {1000 * sum(loaded.values()) / requests:.3f} | {whole:.3f}")
    return "\n".join(lines)


def pauses_table(side: Side) -> str:
    """The measured rounds' pauses while loaded, per kind and where: how many, the ms in
    all and per 1,000 requests, the longest, and how many lasted 50 ms or more."""
    requests = sum(w["requests"] for w in side.loaded) or 1
    summed: dict[str, list[float]] = {}
    for w in side.loaded:
        for key, (n, ms, longest, slow) in w["pauses"].items():
            row = summed.setdefault(key, [0, 0.0, 0.0, 0])
            row[0] += n
            row[1] += ms
            row[2] = max(row[2], longest)
            row[3] += slow
    lines = [
        f"{side.label}: pauses while loaded, {requests:,} requests",
        "  kind and where | count | ms in all | ms per 1,000 requests | longest ms | ≥ 50 ms",
    ]
    for key, (n, ms, longest, slow) in sorted(summed.items(), key=lambda i: -i[1][1]):
        if n and (ms >= 1 or slow):
            lines.append(
                f"  {key} | {n:.0f} | {ms:.0f} | {1000 * ms / requests:.1f} | "
                f"{longest:.0f} | {slow:.0f}"
            )
    return "\n".join(lines)


def _summed(rounds: list[dict[str, Any]]) -> dict[str, float]:
    summed: dict[str, float] = {}
    for w in rounds:
        for key, cpu in w["threads"].items():
            summed[key] = summed.get(key, 0.0) + cpu
    return summed


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.insight_cost", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s rounds")
    parser.add_argument("--seconds", type=float, default=10.0, help="per round (default 10)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per side (default 4)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per side")
    parser.add_argument(
        "--store",
        choices=sorted(STORES),
        default="sqlite",
        help="the embedded default (sqlite) or PostgreSQL (TAIZHANG_BENCH_PG_URL, else the "
        "machine's or an embedded one)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="run both processes under bench.lockwatch: SQLite lock waits per writer and "
        "CPU per thread, per request (counts, not timings of the machine)",
    )
    report_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.warmup = 1.0, 2, 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    ensure_wrk()

    def body(report: Report, srv: Servers, out: Path) -> None:
        measure(report, args, srv, out)

    context = {"stores": STORES[args.store], "delivery": "NATS"}
    return run_bench("bench.insight_cost", argv, args, lambda srv: context, body)


if __name__ == "__main__":
    sys.exit(main())
