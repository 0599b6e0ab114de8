"""The embedded store's pauses under intake's load, before and after ADR 47, in one run.

    nice -n 10 .venv/bin/python -m bench.embedded_stalls                  # ~10 minutes
    nice -n 10 .venv/bin/python -m bench.embedded_stalls --watch          # + every pause counted
    .venv/bin/python -m bench.embedded_stalls --after checkpoints         # one change alone
    .venv/bin/python -m bench.embedded_stalls --quick                     # smoke run

Two all-in-one processes on SQLite (``taizhang serve intake dispatch tracking notify
insight``, as ``bench.insight_cost``'s side with insight), each in a data directory of its
own, delivery in-process (``--delivery nats``: through the machine's NATS), loaded with wrk
in interleaved rounds (A B B A …), the consumers caught up between rounds. "Before" runs
with ``TAIZHANG_SQLITE_INTAKE_SYNCHRONOUS=FULL`` and ``TAIZHANG_SQLITE_CHECKPOINT_SECONDS=0``
— main's behaviour: intake's commits flushed to the disk, SQLite's automatic checkpoints
inside whichever commit fills the log —
"after" with ``--after``'s changes (both: the defaults). Figures: throughput and p99 after
against before (baselines of the same run). Each round prints the store's files as they grow;
``--watch`` runs both under :mod:`bench.lockwatch` and prints each round's pauses of 50 ms
or more (commits, checkpoints, collections, the event loop's lag, intake's group commits)
and, at the end, every kind of pause per 1,000 requests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from bench.common import Servers, report_options, run_bench
from bench.common import deployment as new_deployment
from bench.figures import Baseline, Figure, Report, say
from bench.insight_cost import WITH, Side, pauses_table, round_of, start, waits_table
from bench.intake_steps import CLIENTS
from bench.load import ensure_wrk

BEFORE = {"TAIZHANG_SQLITE_INTAKE_SYNCHRONOUS": "FULL", "TAIZHANG_SQLITE_CHECKPOINT_SECONDS": "0"}
AFTER = {
    "both": {},
    "checkpoints": {"TAIZHANG_SQLITE_INTAKE_SYNCHRONOUS": "FULL"},
    "synchronous": {"TAIZHANG_SQLITE_CHECKPOINT_SECONDS": "0"},
}
MB = 1024 * 1024


def files_line(side: Side) -> str:
    """The store's files now: each database and its log, in MB."""
    parts = []
    for db in sorted(side.deployment.data_dir.glob("*.sqlite")):
        wal = db.with_name(db.name + "-wal")
        size = wal.stat().st_size / MB if wal.exists() else 0.0
        parts.append(f"{db.stem} {db.stat().st_size / MB:.0f}+{size:.0f}")
    return "    files (MB, database+log): " + ", ".join(parts)


def measure(report: Report, args: argparse.Namespace, srv: Servers, root: Path) -> None:
    nats = srv.nats_url if args.delivery == "nats" else None
    with (
        new_deployment(root, None, nats) as before_d,
        new_deployment(root, None, nats) as after_d,
    ):
        spies = [root / f"lockwatch-{n}.json" if args.watch else None for n in (1, 2)]
        before = Side("before", before_d, start(before_d, WITH, spies[0], BEFORE), watched=spies[0])
        after = Side(
            "after", after_d, start(after_d, WITH, spies[1], AFTER[args.after]), watched=spies[1]
        )
        posted = {before.label: 0, after.label: 0}
        for side in (before, after):  # warm both up; not counted
            round_of(side, args.warmup, posted)
            side.results.clear()
            side.cpu_ms.clear()
            side.waits.clear()
            side.loaded.clear()
        for n in range(args.rounds):
            order = (before, after) if n % 2 == 0 else (after, before)
            for side in order:
                round_of(side, args.seconds, posted)
                say(files_line(side))
        if args.watch:
            for side in (before, after):
                say(waits_table(side))
                say(pauses_table(side))
                dumped = root / f"pauses-{side.label}.json"
                dumped.write_text(json.dumps(side.loaded, ensure_ascii=False, indent=1))
        detail = f"median of {args.rounds} interleaved rounds, {CLIENTS} clients"
        w = Baseline(
            "B",
            "intake before (FULL, automatic checkpoints), all-in-one on SQLite, same run",
            before.rate(),
            "req/s",
            f"rounds {', '.join(f'{r.rate:.0f}' for r in before.results)} req/s",
        )
        report.baseline(w)
        rounds = ", ".join(f"{r.rate:.0f}" for r in after.results)
        report.figure(
            Figure(
                f"intake throughput after ({args.after})",
                after.rate(),
                "req/s",
                w,
                "≥",
                1.0,
                f"{detail}; rounds {rounds}",
            )
        )
        p = Baseline(
            "Q",
            "intake p99 before, same rounds",
            before.p99(),
            "ms",
            f"rounds {', '.join(f'{r.p99_ms:.0f}' for r in before.results)} ms",
        )
        report.baseline(p)
        worst = ", ".join(f"{r.p99_ms:.0f}" for r in after.results)
        report.figure(
            Figure(
                f"intake p99 after ({args.after})",
                after.p99(),
                "ms",
                p,
                "≤",
                1.0,
                f"{detail}; rounds {worst} ms",
            )
        )
        b = Baseline(
            "M", "the worst round's p99 before", max(r.p99_ms for r in before.results), "ms"
        )
        report.baseline(b)
        report.figure(
            Figure(
                f"the worst round's p99 after ({args.after})",
                max(r.p99_ms for r in after.results),
                "ms",
                b,
                "≤",
                1.0,
                detail,
            )
        )
        say(
            f"  CPU a request while loaded: before {statistics.median(before.cpu_ms):.2f} ms, "
            f"after {statistics.median(after.cpu_ms):.2f} ms"
        )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded_stalls", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s rounds")
    parser.add_argument("--seconds", type=float, default=10.0, help="per round (default 10)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per side (default 6)")
    parser.add_argument("--warmup", type=float, default=20.0, help="warm-up seconds per side")
    parser.add_argument(
        "--after",
        choices=sorted(AFTER),
        default="both",
        help="what 'after' changes: both (the defaults), the background checkpoints alone "
        "(synchronous FULL as before), or synchronous=NORMAL alone (automatic checkpoints)",
    )
    parser.add_argument(
        "--watch", action="store_true", help="run both under bench.lockwatch: pauses counted"
    )
    parser.add_argument(
        "--delivery",
        choices=("in-process", "nats"),
        default="in-process",
        help="between the services: in-process (the embedded default) or the machine's NATS",
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

    context = {"stores": "SQLite", "delivery": args.delivery}
    return run_bench("bench.embedded_stalls", argv, args, lambda srv: context, body)


if __name__ == "__main__":
    sys.exit(main())
