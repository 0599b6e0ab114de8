"""Issue 10, second round: rebuilding the ledger from 1,000,000 events against raw reads (d).

    nice -n 10 .venv/bin/python -m bench.rebuild                 # 1,000,000 events, ≤ 5 min
    .venv/bin/python -m bench.rebuild --quick                    # smoke run (2,000 events)
    nice -n 10 .venv/bin/python -m bench.rebuild --profile       # and a py-spy profile of it

Events: intake (``taizhang serve intake``, private schema, broker away) registers a few
real tips; their stored events are then cloned inside PostgreSQL into ``--events`` new tips
(new ids, new case numbers) — a million events in well under a minute, each one a
``Tip.Registered`` exactly as intake stores it.

Baseline (d): ``select_notifications`` pages of 500 over that same store, right before the
rebuild. The figure: ``rebuild_ledger`` — the code ``taizhang projections rebuild`` runs, with
its rich progress bar — over the same events. A rebuild slower than the time bound
(``--seconds``, default 300) is stopped there and its rate taken over the events it projected
(the rate of a rebuild is steady: each event is one independent case), with the time the
whole rebuild would take printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import httpx
import psycopg

from bench import baselines as base
from bench import profile as profiling
from bench.common import (
    Deployment,
    Servers,
    deployment,
    pg_version,
    report_options,
    run_bench,
    unreachable_nats_url,
)
from bench.figures import Baseline, Figure, Report, say
from bench.progress import bar
from services.ops.rebuild import rebuild_ledger
from shared.platform.eventstore import application_env

TEMPLATES = 24  # real tips registered through intake, then cloned


class TimeUp(Exception):
    """The rebuild reached the bench's time bound."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 events")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to rebuild from")
    parser.add_argument("--seconds", type=float, default=300.0, help="rebuild time bound")
    parser.add_argument("--read-seconds", type=float, default=30.0, help="baseline (d) length")
    parser.add_argument("--profile", action="store_true", help="py-spy the rebuild (30 s)")
    report_options(parser, "logs and profiles")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.read_seconds = 2_000, 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)

    def measure(report: Report, srv: Servers, out: Path) -> None:
        with deployment(out, srv.pg_url, srv.nats_url) as d:
            run(report, d, args, out)

    return run_bench(
        "bench.rebuild",
        argv,
        args,
        lambda srv: {
            "servers": f"{srv.origin}: PostgreSQL {pg_version(srv.pg_url)}",
            "events": f"{args.events:,}, rebuild bounded at {args.seconds:g} s",
        },
        measure,
    )


def run(report: Report, d: Deployment, args: argparse.Namespace, out: Path) -> None:
    d.create_schema()
    began = time.monotonic()
    register_templates(d)
    clone_events(d, args.events)
    report.note(
        f"{args.events:,} intake events in the store after {time.monotonic() - began:.1f} s"
    )

    reads = base.event_reads(application_env(d.settings, "intake"), "Intake", args.read_seconds)
    baseline = report.baseline(
        Baseline(
            "d",
            "raw event reads from intake's store",
            reads.rate,
            "events/s",
            f"select_notifications pages of 500; {reads.count:,} events read in "
            f"{reads.seconds:.1f} s",
        )
    )

    sampler = None
    if args.profile:
        output = out / "rebuild-profile.txt"
        sampler = profiling.record(os.getpid(), min(30.0, args.seconds), output, wall=True)
    projected, seconds, complete = rebuild(d, args.events, args.seconds)
    if sampler is not None:
        sampler.wait(timeout=120)
        say(f"profile of the rebuild ({output}):")
        say(profiling.summarise(output))
        report.note(f"profile written to {output}")
    rate = projected / seconds if seconds else 0.0
    whole = "complete" if complete else f"stopped at the bound; all {args.events:,} would take"
    report.figure(
        Figure(
            f"ledger rebuild from {args.events:,} events",
            rate,
            "events/s",
            baseline,
            "≥",
            0.25,
            detail=(
                f"{projected:,} events replayed in {seconds:.1f} s ({whole} "
                f"~{args.events / rate / 60 if rate else 0:.1f} min)"
            ),
        )
    )


def register_templates(d: Deployment) -> None:
    """A few tips registered by intake itself, with the broker away (nothing to publish)."""
    intake = d.start("intake", TAIZHANG_NATS_URL=unreachable_nats_url())
    headers = {"Authorization": f"Bearer {d.token()}"}
    with httpx.Client(base_url=intake.url, headers=headers, timeout=30) as client:
        for n in range(TEMPLATES):
            answer = client.post("/api/v1/tips", json=base_tip(n))
            answer.raise_for_status()
    intake.stop()


def base_tip(n: int) -> dict[str, object]:
    from bench.ledgerdata import CONDUCT, DISTRICTS, STREETS, UNITS

    word, detail = CONDUCT[n % len(CONDUCT)]
    district, street = DISTRICTS[n % len(DISTRICTS)], STREETS[n % len(STREETS)]
    unit = UNITS[n % len(UNITS)][1]
    tip: dict[str, object] = {
        "channel": "hotline_12388",
        "content": f"来电人反映:{district}{street}{unit}{detail}。希望有关部门尽快核实处理。",
        "summary": f"反映{unit}{word}问题",
        "category": word,
        "external_ref": f"rebuild-{n}",
        "location": {"district": district, "street": street, "address": f"{street}附近{n}号"},
        "subject": {"unit": unit},
    }
    if n % 3 == 0:
        tip["reporter"] = {"anonymous": False, "name": "张三", "phone": "13800000000"}
    return tip


def clone_events(d: Deployment, total: int) -> None:
    """New tips from the registered ones, inside PostgreSQL: a new id and case number each."""
    table = f'"{d.schema}".intake_events'
    with psycopg.connect(d.pg_url or "", autocommit=True) as conn:
        existing = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        missing = total - (int(existing[0]) if existing else 0)
        step = 100_000
        with bar(f"events → {total:,}", max(missing, 0)) as advance:
            for first in range(1, missing + 1, step):
                last = min(missing, first + step - 1)
                conn.execute(
                    f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
                    "SELECT gen_random_uuid(), 1, t.topic, convert_to(regexp_replace("
                    'convert_from(t.state, \'UTF8\'), \'"number":"[^"]*"\', '
                    "'\"number\":\"B-' || lpad(g::text, 7, '0') || '\"'), 'UTF8') "
                    f"FROM generate_series(%s::int, %s::int) AS g "
                    f"JOIN (SELECT topic, state, row_number() OVER () - 1 AS k FROM {table} "
                    f"WHERE topic LIKE '%%:Tip.Registered' LIMIT {TEMPLATES}) AS t "
                    f"ON t.k = g %% {TEMPLATES} ORDER BY g",
                    (first, last),
                )
                advance(last)
        conn.execute(f"ANALYZE {table}")


def rebuild(d: Deployment, total: int, bound: float) -> tuple[int, float, bool]:
    """``rebuild_ledger`` with a progress bar; (events read and projected, seconds, complete).

    Events are counted by position, as baseline (d) counts them: the store also holds the
    case-number sequence's events, which are read and skipped."""
    reached: dict[str, int] = {}
    began = time.monotonic()
    with bar("rebuild", total) as advance:

        def progress(source: str, position: int, head: int) -> None:
            reached[source] = position
            advance(sum(reached.values()))
            if time.monotonic() - began > bound:
                raise TimeUp

        try:
            asyncio.run(rebuild_ledger(d.settings, progress))
        except TimeUp:
            return sum(reached.values()), time.monotonic() - began, False
    return sum(reached.values()), time.monotonic() - began, True


if __name__ == "__main__":
    sys.exit(main())
