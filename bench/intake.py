"""Issue 10, first round: intake, the store, the broker and HTTP — each against baselines
measured in the same run on the same servers.

    .venv/bin/python -m bench.intake            # about 5 minutes (memory: 60 s short form)
    .venv/bin/python -m bench.intake --long     # memory over the full 10 minutes
    .venv/bin/python -m bench.intake --quick    # smoke run (< 1 minute; figures are noise)
    .venv/bin/python -m bench.intake --profile  # also a py-spy profile of intake under load
    .venv/bin/python -m bench.intake --relay apart   # intake's relay in its own process (ADR 48)

Starts what it needs on loopback (services as ``taizhang serve intake`` processes with a
private schema and NATS namespace) and stops all of it at the end, on Ctrl-C or on failure.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from bench import intake_steps as steps
from bench.common import (
    machine,
    nats_version,
    pg_version,
    report_options,
    servers,
    stopped_on_sigterm,
)
from bench.figures import Report, err, say
from bench.load import WrkMissing, ensure_wrk


def plan(args: argparse.Namespace) -> steps.Plan:
    apart, only = args.relay == "apart", args.only_postgres
    if args.quick:
        return steps.Plan(1, 1, 4, 2, 1, args.profile, apart, only)
    memory = args.memory_seconds or (600.0 if args.long else 60.0)
    return steps.Plan(args.seconds, 3, memory, memory / 5, args.seconds, args.profile, apart, only)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: ~1 s per figure")
    parser.add_argument("--long", action="store_true", help="memory over 10 minutes")
    parser.add_argument("--seconds", type=float, default=15.0, help="per figure (default 15)")
    parser.add_argument("--memory-seconds", type=float, help="memory run length (default 60)")
    parser.add_argument("--profile", action="store_true", help="py-spy intake under load")
    parser.add_argument(
        "--relay",
        choices=("inline", "apart"),
        default="inline",
        help="intake's relay in its process (default) or apart: `taizhang relay run` (ADR 48)",
    )
    parser.add_argument(
        "--only-postgres",
        action="store_true",
        help="the PostgreSQL figures only (no backlog drain, no SQLite): for interleaved rounds",
    )
    report_options(parser, "logs and profiles")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        ensure_wrk()
    except WrkMissing as e:
        err(str(e))
        return 2
    the_plan = plan(args)
    out = args.out or Path(tempfile.mkdtemp(prefix="tz-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(
        ["python", "-m", "bench.intake", *(sys.argv[1:] if argv is None else argv)]
    )
    try:
        with stopped_on_sigterm(), servers() as srv:
            report = Report(
                "bench.intake",
                command,
                machine()
                | {
                    "servers": f"{srv.origin}: PostgreSQL {pg_version(srv.pg_url)}, "
                    f"nats-server {nats_version(srv.nats_url)} at {srv.nats_url}",
                    "memory figure": the_plan.memory_form,
                    "output": str(out),
                },
            )
            report.header()
            run(report, the_plan, srv, out)
    except KeyboardInterrupt:
        err("interrupted: everything started was stopped")
        return 130
    met = report.summary()
    if args.json:
        report.write_json(args.json)
    if args.markdown:
        args.markdown.write_text(report.markdown())
    return 1 if args.strict and not met else 0


def run(report: Report, p: steps.Plan, srv: steps.Servers, out: Path) -> None:
    capacity = steps.postgres(report, p, srv, out)
    if p.only_postgres:
        return
    steps.relay(report, p, srv, out, capacity)
    steps.sqlite(report, p, out)
    if p.profile:
        steps.profile(report, p, srv, out)
    say(f"logs: {out / 'logs'}")


if __name__ == "__main__":
    sys.exit(main())
