"""Issue 24: rebuilding the ledger from the full event mix, against raw reads (d) and against
COPYing the rebuild's own final rows into the same tables (C).

    nice -n 10 .venv/bin/python -m bench.rebuild                 # 1,000,000 events, ≤ 10 min
    .venv/bin/python -m bench.rebuild --quick                    # smoke run (2,000 events)
    nice -n 10 .venv/bin/python -m bench.rebuild --profile       # and a py-spy profile of it

Events: the all-in-one app (intake, dispatch, tracking in one process, the bench's private
schema) walks a few template cases of every shape through HTTP (``bench.casemix``: a tip on
the desk, a case closed out after feedback, one through a second pass, one returned and
redispatched with an extension, one merged into another, one not accepted); their events in
the three stores are then copied (``bench.clone``, COPY, new ids and case numbers) until the
stores hold ``--events``.

Baseline (d): ``select_notifications`` pages of 500 over the three stores, right before the
rebuild. The figure: ``rebuild_ledger`` — what ``taizhang projections rebuild`` runs, into
staging tables swapped in at the end — over the same events, counted by positions read as
(d) counts them. Baseline (C), after it: the rebuilt tables' rows (ledger, units, history,
the ledger's marks) written out, the tables emptied, and the rows COPYed back in (binary) with
every index in place, in one transaction — PostgreSQL's own bulk write path for exactly what
the rebuild wrote. A rebuild slower than ``--seconds`` is stopped there (its staging is
dropped) and its rate taken over the events it projected; (C) is then not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path

import psycopg

from bench import baselines as base
from bench import profile as profiling
from bench.casemix import Walker
from bench.clone import STORES, Cloner, clone, templates
from bench.common import (
    Deployment,
    Servers,
    deployment,
    pg_version,
    report_options,
    run_bench,
)
from bench.copybaseline import copy_baseline
from bench.figures import Baseline, Figure, Report, say
from bench.progress import bar
from services.app import create_app
from services.ops.rebuild import rebuild_ledger
from shared.platform.eventstore import application_env
from tests.support.api import Api
from tests.support.infra import ServerThread


class TimeUp(Exception):
    """The rebuild reached the bench's time bound."""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 events")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to rebuild from")
    parser.add_argument("--seconds", type=float, default=600.0, help="rebuild time bound")
    parser.add_argument("--read-seconds", type=float, default=30.0, help="baseline (d) length")
    parser.add_argument("--rounds", type=int, default=3, help="template cases of each shape")
    parser.add_argument("--workers", type=int, help="rebuild processes (default: one per core)")
    parser.add_argument("--profile", action="store_true", help="py-spy the rebuild (30 s)")
    report_options(parser, "logs and profiles")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.read_seconds, args.rounds = 2_000, 1.0, 1
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
            "workers": str(args.workers or os.cpu_count()),
        },
        measure,
    )


def run(report: Report, d: Deployment, args: argparse.Namespace, out: Path) -> None:
    d.create_schema()
    began = time.monotonic()
    cloner = walk_templates(d, args.rounds)
    clones = max(0, math.ceil((args.events - cloner.events_per_clone) / cloner.events_per_clone))
    with bar(f"clones → {clones:,}", clones) as advance:
        clone(d.pg_url or "", d.schema, clones, advance)
    total = store_events(d)
    report.note(
        f"{total:,} events in the three stores ({cloner.cases_per_clone * (clones + 1):,} "
        f"cases, {cloner.events_per_clone} case events a set of {cloner.cases_per_clone}) "
        f"after {time.monotonic() - began:.1f} s"
    )

    reads = all_reads(d, args.read_seconds)
    baseline = report.baseline(
        Baseline(
            "d",
            "raw event reads from the three stores",
            reads.rate,
            "events/s",
            f"select_notifications pages of 500; {reads.count:,} events read in "
            f"{reads.seconds:.1f} s",
        )
    )

    sampler = None
    if args.profile:
        output = out / "rebuild-profile.txt"
        sampler = profiling.record(
            os.getpid(), min(30.0, args.seconds), output, wall=True, children=True
        )
    projected, seconds, complete = rebuild(d, total, args.seconds, args.workers)
    if sampler is not None:
        sampler.wait(timeout=120)
        say(f"profile of the rebuild ({output}):")
        say(profiling.summarise(output))
        report.note(f"profile written to {output}")
    rate = projected / seconds if seconds else 0.0
    whole = "complete" if complete else f"stopped at the bound; all {total:,} would take"
    name = f"ledger rebuild from {total:,} events"
    detail = (
        f"{projected:,} events replayed in {seconds:.1f} s ({whole} "
        f"~{total / rate / 60 if rate else 0:.1f} min)"
    )
    report.figure(Figure(name, rate, "events/s", baseline, "≥", 0.5, detail=detail))
    if not complete:
        report.note("the rebuild did not complete: baseline (C) needs its final rows")
        return
    copied = copy_baseline(d, out)
    report.figure(
        Figure(
            name,
            rate,
            "events/s",
            report.baseline(
                Baseline(
                    "C",
                    "COPY of the rebuild's final rows into the same tables",
                    total / copied.seconds,
                    "events/s",
                    f"{copied.count:,} rows in {copied.seconds:.1f} s, indexes in place, "
                    "one transaction; counted by the rebuild's events",
                )
            ),
            "≥",
            0.8,
            detail=detail,
        )
    )


def walk_templates(d: Deployment, rounds: int) -> Cloner:
    """Template cases of every shape through the all-in-one app, the broker away (in-process
    followers); then the cloner of their events. The live ledger need not have caught up:
    the rebuild replaces it."""
    settings = d.settings.model_copy(update={"nats_url": None, "seed_directory": False})
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        walker = Walker(api, base_tip)
        walker.units()
        for _ in range(rounds):
            walker.every_shape()
    with psycopg.connect(d.pg_url or "") as conn:
        return Cloner(templates(conn, d.schema))


def store_heads(conn: psycopg.Connection, schema: str) -> dict[str, int]:
    return {
        store: int(
            conn.execute(
                f'SELECT coalesce(max(notification_id), 0) FROM "{schema}".{store}_events'
            ).fetchone()[0]  # type: ignore[index]
        )
        for store in STORES
    }


def store_events(d: Deployment) -> int:
    with psycopg.connect(d.pg_url or "") as conn:
        return sum(store_heads(conn, d.schema).values())


def all_reads(d: Deployment, seconds: float) -> base.Throughput:
    """(d) over each store in turn, for a share of the time each (a full pass at least)."""
    count, spent = 0, 0.0
    for store in STORES:
        env = application_env(d.settings, store)
        reads = base.event_reads(env, store.capitalize(), max(seconds / len(STORES), 1e-3))
        count, spent = count + reads.count, spent + reads.seconds
    return base.Throughput(count, spent)


# The bench's words that are no name in the category catalogue, by the code they file under.
CATEGORY_OF = {
    "态度生硬": "service_attitude",
    "违规办理": "irregular_handling",
    "优亲厚友": "irregular_handling",
    "私设关卡": "arbitrary_charges",
    "工作时间脱岗": "idle_lax",
    "拖欠工资": "gb_wages",
    "违规执法": "misconduct",
}


def base_tip(n: int) -> dict[str, object]:
    from bench.ledgerdata import CONDUCT, DISTRICTS, STREETS, UNITS

    word, detail = CONDUCT[n % len(CONDUCT)]
    district, street = DISTRICTS[n % len(DISTRICTS)], STREETS[n % len(STREETS)]
    unit = UNITS[n % len(UNITS)][1]
    tip: dict[str, object] = {
        "channel": "hotline_12388",
        "content": f"来电人反映:{district}{street}{unit}{detail}。希望有关部门尽快核实处理。",
        "summary": f"反映{unit}{word}问题",
        "category": CATEGORY_OF.get(word, word),  # a catalogue code or name (ADR 25)
        "external_ref": f"rebuild-{n}",
        "location": {"district": district, "street": street, "address": f"{street}附近{n}号"},
        "subject": {"unit": unit},
    }
    if n % 3 == 0:
        tip["reporter"] = {"anonymous": False, "name": "张三", "phone": "13800000000"}
    return tip


def rebuild(
    d: Deployment, total: int, bound: float, workers: int | None = None
) -> tuple[int, float, bool]:
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
            asyncio.run(rebuild_ledger(d.settings, progress, workers))
        except TimeUp:
            return sum(reached.values()), time.monotonic() - began, False
    return sum(reached.values()), time.monotonic() - began, True


if __name__ == "__main__":
    sys.exit(main())
