"""Issue 10, second round: the ledger's queries at 1,000,000 cases against the same at 10,000.

    nice -n 10 .venv/bin/python -m bench.ledger            # 15–40 minutes (1,000,000 cases)
    .venv/bin/python -m bench.ledger --quick               # smoke run (20,000 vs 2,000)
    .venv/bin/python -m bench.ledger --cases 200000        # a smaller large ledger
    .venv/bin/python -m bench.ledger --count-limit 100     # tracking's total counts to 100

Two tracking services (``taizhang serve tracking``), each with a private schema on the same
PostgreSQL: one ledger filled to the reference size, the other to the full size; then the
very same requests are timed on both, their passes alternating between the two (ADR 43: on
a shared machine the load moved between a measurement of one size and the other's minutes
later), so the baseline is the same query on the same server in the same minutes. Each
request is timed by the client (sequential: one at a time, no queueing), p95 per kind.
With ``--explain`` the slowest requests' SQL is run under EXPLAIN ANALYZE — the profile of a
query lives in the database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.dialects import postgresql

from bench import ledgerdata
from bench.baselines import percentile
from bench.common import (
    Deployment,
    Servers,
    deployment,
    pg_version,
    report_options,
    run_bench,
)
from bench.figures import Baseline, Figure, Report, say
from bench.progress import bar
from services.tracking.ledger import queries
from shared.platform.settings import Settings
from shared.web.auth import Principal, Role

PAGE_SIZE = 20
COUNT_LIMIT: int = Settings.model_fields["ledger_count_limit"].default

# (kind, query parameters); the same list at both sizes
FILTERED: list[dict[str, Any]] = [
    {"status": "in_progress", "page": 1},
    {"status": "closed_out", "channel": "hotline_12388", "page": 2},
    {"unit": "jyj", "page": 1},
    {"track": "supervised", "status": "awaiting_feedback", "page": 3},
    {"channel": "petition", "page": 1},
    {"status": "dispatched", "unit": "scj", "page": 1},
]
SEARCHES: list[dict[str, Any]] = [{"q": term, "page": 1} for term in ledgerdata.SEARCH_TERMS]
PERSONS: list[dict[str, Any]] = [{"person": t, "page": 1} for t in ledgerdata.PERSON_TERMS]
STATS = ["units", "channels", "categories", "statuses"]  # /api/v1/stats/…, the last 30 days
LEDGER = "/api/v1/ledger"


def requests_of(kind: str, today: date) -> list[tuple[str, dict[str, Any]]]:
    """The (path, parameters) of one kind; the same list at both sizes."""
    if kind == "filtered":
        return [(LEDGER, params) for params in FILTERED]
    if kind == "search":
        return [(LEDGER, params) for params in SEARCHES]
    if kind == "person":
        return [(LEDGER, params) for params in PERSONS]
    if kind == "stats":
        period = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
        return [(f"/api/v1/stats/{by}", period) for by in STATS]
    last_month = today.replace(day=1) - timedelta(days=1)  # the monthly circular
    return [(f"/api/v1/reports/monthly/{last_month:%Y-%m}", {"format": "md"})]


KINDS = {
    "filtered": "ledger query p95 (filtered, sorted, page of 20)",
    "search": "ledger q= Chinese search p95 (page of 20)",
    "person": "ledger person= p95 (被反映人, page of 20)",
    "stats": "statistics p95 (units, channels, categories, statuses; last 30 days)",
    "monthly": "monthly circular p95 (last month, Markdown)",
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 vs 2,000 cases")
    parser.add_argument("--cases", type=int, default=1_000_000, help="the large ledger")
    parser.add_argument("--reference", type=int, default=10_000, help="the small ledger")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the requests")
    parser.add_argument("--report-rounds", type=int, default=2, help="monthly circulars timed")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest")
    parser.add_argument(
        "--count-limit",
        type=int,
        default=COUNT_LIMIT,
        help=f"tracking's TAIZHANG_LEDGER_COUNT_LIMIT (default {COUNT_LIMIT}, as shipped)",
    )
    report_options(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.cases, args.reference, args.rounds = 20_000, 2_000, 2
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)

    def measure(report: Report, srv: Servers, out: Path) -> None:
        with (
            deployment(out, srv.pg_url, srv.nats_url) as small,
            deployment(out, srv.pg_url, srv.nats_url) as large,
        ):
            run(report, small, large, args)

    return run_bench(
        "bench.ledger",
        argv,
        args,
        lambda srv: {
            "servers": f"{srv.origin}: PostgreSQL {pg_version(srv.pg_url)}",
            "sizes": f"{args.cases:,} vs {args.reference:,} cases",
            "count limit": f"{args.count_limit:,}",
        },
        measure,
    )


def run(report: Report, small: Deployment, large: Deployment, args: argparse.Namespace) -> None:
    """The small and the large ledger each in a deployment (schema and tracking service) of
    its own, filled first; then each kind's timed passes alternate between them, so that
    the machine's load (other engineers' runs) weighs on both sizes alike."""
    clients, started = [], []
    for d in (small, large):
        assert d.pg_url is not None
        d.create_schema()
        limit = str(args.count_limit)
        started.append(d.start("tracking", wait=False, TAIZHANG_LEDGER_COUNT_LIMIT=limit))
    for d, tracking in zip((small, large), started, strict=True):
        tracking.wait_ready()  # the two start-ups overlap
        clients.append(
            httpx.Client(
                base_url=tracking.url,
                headers={"Authorization": f"Bearer {d.token('office', '压测纠风办')}"},
                timeout=1800,  # a monthly circular at 1,000,000 cases takes minutes
            )
        )
    with clients[0], clients[1]:
        _fill(report, small, args.reference)
        _fill(report, large, args.cases)
        timings = {kind: interleaved(clients, kind, args) for kind in KINDS}
    for kind, name in KINDS.items():
        at_small, at_large = timings[kind]
        baseline = report.baseline(
            Baseline(
                "R",
                f"the same requests at {args.reference:,} cases, p95 (interleaved)",
                at_small.p95,
                "ms",
                at_small.detail(),
            )
        )
        report.figure(
            Figure(
                f"{name} at {args.cases:,} cases",
                at_large.p95,
                "ms",
                baseline,
                "≤",
                2,
                detail=at_large.detail(),
            )
        )
    if args.explain:
        for kind in ("filtered", "search", "person"):  # the ledger's own queries
            explain(large, timings[kind][1].slowest, args.count_limit)


class Timings:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seconds: list[float] = []
        self.slowest: tuple[float, dict[str, Any]] = (0.0, {})
        self.totals: dict[str, str] = {}
        self.each: dict[str, list[float]] = {}

    def add(self, params: dict[str, Any], seconds: float, total: str) -> None:
        self.seconds.append(seconds)
        self.totals[_label(params)] = total
        self.each.setdefault(_label(params), []).append(seconds)
        if seconds > self.slowest[0]:
            self.slowest = (seconds, params)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 95) * 1000

    def detail(self) -> str:
        matched = ", ".join(
            f"{k}: {v} ({percentile(self.each[k], 50) * 1000:.0f} ms)"
            for k, v in self.totals.items()
        )
        return (
            f"{len(self.seconds)} requests, p50 {percentile(self.seconds, 50) * 1000:.1f} ms, "
            f"max {max(self.seconds) * 1000:.1f} ms; totals (median time) {matched}"
        )


def interleaved(
    clients: list[httpx.Client], kind: str, args: argparse.Namespace
) -> tuple[Timings, Timings]:
    """Each request once on each ledger to warm up, then ``rounds`` timed passes over the
    list on each, alternating (the small one first in even rounds, the large one in odd); the
    four statistics twice as many passes (their p95 then has as many samples as a search's).
    The monthly circular, which takes minutes at 1,000,000 cases, is timed ``report_rounds``
    times and not warmed up."""
    requests = requests_of(kind, datetime.now(UTC).date())
    timings = (Timings(kind), Timings(kind))
    if kind != "monthly":
        for client in clients:
            for path, params in requests:
                _get(client, path, params)
    passes = {"stats": 2 * args.rounds, "monthly": args.report_rounds}.get(kind, args.rounds)
    for n in range(passes):
        for size in (0, 1) if n % 2 == 0 else (1, 0):
            for path, params in requests:
                began = time.perf_counter()
                total = _get(clients[size], path, params)
                timings[size].add(_labelled(path, params), time.perf_counter() - began, total)
    return timings


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> str:
    """A ledger page's ``total`` as the workbench shows it ("1,000+" past the count limit);
    for statistics the number of rows, for a report its size."""
    extra = {"page_size": PAGE_SIZE} if path == LEDGER else {}
    answer = client.get(path, params=params | extra)
    if path != LEDGER and answer.status_code >= 500:  # e.g. 503: a statement past 30 s
        return f"HTTP {answer.status_code}"  # timed as it is: what the office waits for
    answer.raise_for_status()
    if path != LEDGER:
        items = answer.json().get("items") if "json" in answer.headers["content-type"] else None
        return f"{len(items)} rows" if items is not None else f"{len(answer.content):,} bytes"
    body = answer.json()
    return f"{body['total']:,}" + ("" if body["total_exact"] else "+")


def _labelled(path: str, params: dict[str, Any]) -> dict[str, Any]:
    return params if path == LEDGER else {"path": path.removeprefix("/api/v1/")} | params


def _label(params: dict[str, Any]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items() if k != "page")


def _fill(report: Report, d: Deployment, total: int) -> None:
    assert d.pg_url is not None
    with bar(f"ledger → {total:,}", total) as advance:
        made = asyncio.run(ledgerdata.fill(d.pg_url, d.schema, total, progress=advance))
    report.note(
        f"generated {made.rows:,} ledger rows in {made.seconds:.1f} s "
        f"({made.rows / made.seconds:,.0f} rows/s; "
        f"indexes, KPI counters, VACUUM and ANALYZE {made.index_seconds:.1f} s)"
    )


def explain(d: Deployment, slowest: tuple[float, dict[str, Any]], count_limit: int) -> None:
    """EXPLAIN ANALYZE of the count and the page the tracking service ran for ``params``."""
    seconds, params = slowest
    f = queries.LedgerFilter(
        status=params.get("status"),
        unit=params.get("unit"),
        channel=params.get("channel"),
        track=params.get("track"),
        q=params.get("q"),
        person=params.get("person"),
    )
    office = Principal(id="bench", name="bench", role=Role.OFFICE, unit=None)
    now = datetime.now(UTC)
    query = queries.counted_query(office, f, now, "postgresql")
    paged = queries.ledger_query(office, f, now, "postgresql", paged=True)
    ordered = paged.order_by(*queries.order_of(f))
    page = ordered.limit(PAGE_SIZE).offset(PAGE_SIZE * (params["page"] - 1))
    statements = {"count": queries.capped_count(query, count_limit), "page": page}
    say(f"EXPLAIN of the slowest request ({seconds * 1000:.0f} ms): {_label(params)}")
    assert d.pg_url is not None
    with psycopg.connect(d.pg_url) as conn:
        conn.execute(f'SET search_path TO "{d.schema}"')
        for name, statement in statements.items():
            compiled = statement.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled),  # type: ignore[arg-type]
                compiled.params,
            ).fetchall()
            say(f"-- {name}:")
            say("\n".join("   " + str(line[0]) for line in plan))


if __name__ == "__main__":
    sys.exit(main())
