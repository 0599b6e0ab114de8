"""Issue 24: where intake's CPU per request goes, and a before/after of intake itself.

    .venv/bin/python -m bench.attribution                    # ~1 minute, 2 rounds
    .venv/bin/python -m bench.attribution --before DIR --sqlite
    # DIR: a checkout of an earlier commit (git archive <commit> | tar -x -C DIR)

Servers answer the same ``POST /api/v1/tips`` load one after the other (wrk, 16 connections,
2 s warm-up, ``--seconds`` measured): (e) the HTTP ceiling, (s) the services' own HTTP stack
storing nothing, the same building the submission, intake on PostgreSQL (and on SQLite with
``--sqlite``). Each prints its throughput and the **CPU it spent per request** (user + system
time from /proc over the load) as a ratio to the ceiling's in the same round: on a busy
machine throughput moves by 2× between minutes, CPU per request much less. With ``--before``
the HTTP stack (s) and intake from that directory run right before this checkout's, in every
round and store (``--before-pure-psycopg``: with ``PSYCOPG_IMPL=python`` there, as before
psycopg[binary]). ``--profile``: after the rounds, a py-spy profile (``--gil``) of the HTTP
stack (s) under the same load, a separate run since sampling costs CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from bench import profile as profiling
from bench.common import (
    BenchProcess,
    Deployment,
    Servers,
    deployment,
    free_port,
    report_options,
    run_bench,
)
from bench.figures import Report, say
from bench.load import post_tips

Starter = Callable[[], BenchProcess]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.attribution", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="each load (default 8)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--before-pure-psycopg", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="intake on SQLite too")
    parser.add_argument("--profile", action="store_true", help="py-spy the HTTP stack (s)")
    report_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)

    def body(report: Report, srv: Servers, out: Path) -> None:
        for n in range(args.rounds):
            say(f"-- round {n + 1}, load average {' '.join(_load())}")
            with contextlib.ExitStack() as stack:
                pg = stack.enter_context(deployment(out, srv.pg_url, srv.nats_url))
                pg.create_schema()
                lite = stack.enter_context(deployment(out, None, None)) if args.sqlite else None
                measure(servers(pg, lite, args), args.seconds)
        if args.profile:
            with deployment(out, srv.pg_url, srv.nats_url) as pg:
                pg.create_schema()
                profile(pg, out, args.seconds)

    return run_bench("bench.attribution", argv, args, lambda srv: {}, body)


def servers(
    pg: Deployment, lite: Deployment | None, args: argparse.Namespace
) -> list[tuple[str, Deployment, Starter]]:
    found: list[tuple[str, Deployment, Starter]] = [
        ("(e) HTTP ceiling", pg, lambda: _module(pg, "bench.ceiling")),
    ]
    if args.before:
        before = args.before.resolve()
        stack_before = lambda: _module(pg, "bench.stack_ceiling", root=before)  # noqa: E731
        found.append(("(s) services' HTTP stack, before", pg, stack_before))
    found += [
        ("(s) services' HTTP stack", pg, lambda: _module(pg, "bench.stack_ceiling")),
        ("(s) + the submission", pg, lambda: _module(pg, "bench.stack_ceiling", "--submission")),
    ]
    for name, d in (("PostgreSQL", pg), ("SQLite", lite)):
        if d is None:
            continue
        if args.before:
            found.append((f"intake, {name}, before", d, _before(d, args)))
        found.append((f"intake, {name}", d, lambda d=d: d.start("intake")))  # type: ignore[misc]
    return found


def measure(found: list[tuple[str, Deployment, Starter]], seconds: float) -> None:
    ceiling = 0.0
    for name, d, start in found:
        process = start()
        try:
            post_tips(process.url, d.token(), seconds=2)
            cpu = process.cpu_seconds()
            result = post_tips(process.url, d.token(), seconds=seconds)
            per_request = 1000 * (process.cpu_seconds() - cpu) / max(1, result.requests)
        finally:
            process.stop()
        ceiling = ceiling or per_request
        say(
            f"{name}: {result.rate:,.0f} req/s, CPU {per_request:.3f} ms a request "
            f"= {per_request / ceiling:.2f} × the ceiling's; p50 {result.p50_ms:.1f} ms, "
            f"errors {result.errors}"
        )


def profile(d: Deployment, out: Path, seconds: float) -> None:
    """Where the HTTP stack (s) spends the interpreter under load: py-spy, GIL samples."""
    process = _module(d, "bench.stack_ceiling")
    try:
        post_tips(process.url, d.token(), seconds=2)
        output = out / "stack-profile.txt"
        sampler = profiling.record(process.pid, seconds, output)
        result = post_tips(process.url, d.token(), seconds=seconds)
        sampler.wait(timeout=seconds + 60)
    finally:
        process.stop()
    say(f"profile of (s) at {result.rate:,.0f} req/s ({output}):")
    say(profiling.summarise(output, top=40))


def _module(d: Deployment, module: str, *extra: str, root: Path | None = None) -> BenchProcess:
    """``python -m module`` on a port of its own; from the checkout ``root`` when given."""
    port = free_port()
    command = [sys.executable, "-m", module, "--port", str(port), *extra]
    env = d.env(PYTHONPATH=str(root)) if root else d.env()
    process = BenchProcess(module, env, d.log_dir, port, command)
    if root:
        process.cwd = root
    d.processes.append(process)
    return process.start(wait=True)


def _before(d: Deployment, args: argparse.Namespace) -> Starter:
    """Intake from the other checkout: its code first on the path, run from there."""

    def start() -> BenchProcess:
        root = args.before.resolve()
        env = d.env(PYTHONPATH=str(root))
        if args.before_pure_psycopg:
            env["PSYCOPG_IMPL"] = "python"
        port = free_port()
        serve = ["serve", "intake", "--port", str(port)]
        command = [sys.executable, "-c", "from services.cli import main; main()", *serve]
        process = BenchProcess("intake-before", env, d.log_dir, port, command)
        process.cwd = root
        d.processes.append(process)
        return process.start(wait=True)

    return start


def _load() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


if __name__ == "__main__":
    sys.exit(main())
