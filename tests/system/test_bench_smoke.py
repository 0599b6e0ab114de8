"""The benchmarks run end to end in their smoke form.

Benchmarks are not tests: nothing here looks at a figure's value (that is the bench's own
verdict, on a machine left alone). This only proves that each ``python -m bench.…`` starts
what it needs, measures every target, prints one figure line for each, and cleans up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import PostgresProcess

ROOT = Path(__file__).resolve().parents[2]

TARGETS = [
    ("intake throughput, 16 clients, PostgreSQL", "a"),
    ("intake throughput, 16 clients, PostgreSQL", "b"),
    ("intake throughput, 16 clients, PostgreSQL", "e"),
    ("intake p99 at half load", "b"),
    ("intake RSS after", "M"),
    ("relay to NATS, draining a backlog", "T"),
    ("intake throughput, 16 clients, embedded SQLite", "a"),
]
FIGURE_LINE = re.compile(
    r"^FIGURE (?P<name>.+?): [\d,.]+ \S+ / \((?P<key>\w)\) [\d,.]+ .+ = [\d.]+(e[+-]?\d+)?"
    r"  target (≥ [\d.]+|≤ [\d.]+|1 ± [\d.]+)  (PASS|FAIL)$"
)


# Each script at tiny sizes, one line per target, everything cleaned up. In CI the four that
# start a few services and measure for a second or two (~10 s each alone), two at a time:
# five at once kept one bench's tracking from starting within its minute on CI's machine.
PAIRS = [
    [
        (
            ["bench.ledger", "--cases", "1200", "--reference", "400", "--rounds", "1"],
            [
                ("ledger query p95", "R"),
                ("ledger q= Chinese search p95", "R"),
                ("ledger person= p95", "R"),
                ("statistics p95", "R"),
                ("monthly circular p95", "R"),
            ],
        ),
        (["bench.xlsx", "--rows", "300"], [("tracking peak RSS exporting 300 rows", "L")]),
        (
            ["bench.insight_writes", "--quick"],  # in-process, no services: a few seconds
            [
                ("statements a thousand events, set-based", "S"),
                ("the event loop's CPU an event, set-based", "C"),
                ("the read-model file's write lock held an event, set-based", "H"),
            ],
        ),
    ],
    [
        (
            ["bench.rebuild", "--events", "300", "--read-seconds", "0.2", "--rounds", "1"],
            [("ledger rebuild from", "d"), ("ledger rebuild from", "C")],
        ),
        (
            ["bench.pipeline", "--quick"],
            [("intake → ledger p99", "N"), ("projection lag back to 0", "L")],
        ),
    ],
]

# Those whose smoke form alone takes 45–55 s (intake's seven figures with its HTTP ceilings;
# two all-in-one processes with and without insight, or before and after ADR 47) run one
# after the other under TAIZHANG_SOAK=1: together they were 96 of the suite's 927 s on an idle machine, 218 on CI's.
SLOW = [
    (["bench.intake", "--quick"], TARGETS),
    (
        ["bench.insight_cost", "--quick"],
        [
            ("intake throughput with insight", "W"),
            ("intake p99 with insight", "P"),
            ("the process's CPU a request with insight", "U"),
        ],
    ),
    (
        ["bench.embedded_stalls", "--quick"],
        [
            ("intake throughput after (both)", "B"),
            ("intake p99 after (both)", "Q"),
            ("the worst round's p99 after (both)", "M"),
        ],
    ),
]


@pytest.fixture
def own_postgres() -> Iterator[str]:
    """A PostgreSQL of the test's own: benches side by side, each with its services and
    workers, held more connections than the machine's server allows beside the other tests."""
    server = PostgresProcess()
    with (server.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("max_connections = 300\n")
    server.start()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.mark.postgres
@pytest.mark.nats
def test_every_bench_runs_and_prints_a_line_per_target(
    tmp_path: Path, own_postgres: str, nats_url: str
) -> None:
    """Two scripts at a time (each mostly waits for its services to start), each with its own
    output directory; then each one's figure lines and JSON are checked."""
    env = os.environ | {"TAIZHANG_BENCH_PG_URL": own_postgres}
    for pair in PAIRS:
        check(together(pair, env, tmp_path))


@pytest.mark.soak
@pytest.mark.postgres
@pytest.mark.nats
def test_the_slow_benches_run_and_print_a_line_per_target(
    tmp_path: Path, own_postgres: str, nats_url: str
) -> None:
    """bench.intake and bench.insight_cost in their smoke form, one after the other (each
    loads the machine with wrk). The CI test above proves the shared bench machinery."""
    env = os.environ | {"TAIZHANG_BENCH_PG_URL": own_postgres}
    for bench in SLOW:
        check(together([bench], env, tmp_path))


def check(runs: list[Run]) -> None:
    for command, process, out, targets, output in runs:
        assert process.returncode == 0, output
        lines = [line for line in output.splitlines() if line.startswith("FIGURE ")]
        assert len(lines) == len(targets), output
        for line, (name, key) in zip(lines, targets, strict=True):
            match = FIGURE_LINE.match(line)
            assert match, line
            assert match["name"].startswith(name) and match["key"] == key, line
        recorded = json.loads((out / "f.json").read_text())
        assert [f["baseline"]["key"] for f in recorded["figures"]] == [k for _, k in targets]
        assert not list(out.glob("data-*")), "the deployment's data directory was left behind"
        if command[0] == "bench.intake":  # its baselines and the memory figure's form
            assert {b["key"] for b in recorded["baselines"]} >= {"a", "b", "c", "d", "e"}
            assert "memory figure" in recorded["context"]


Run = tuple[list[str], subprocess.Popen[str], Path, list[tuple[str, str]], str]


def together(
    benches: list[tuple[list[str], list[tuple[str, str]]]], env: dict[str, str], tmp_path: Path
) -> list[Run]:
    """Start the benches at once and wait for all of them; each with its output directory."""
    started = []
    for command, targets in benches:
        out = tmp_path / command[0]
        out.mkdir()
        process = subprocess.Popen(
            [sys.executable, "-m", *command, "--out", str(out), "--json", str(out / "f.json")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append((command, process, out, targets))
    try:
        outputs = [process.communicate(timeout=240)[0] for _, process, _, _ in started]
    finally:
        for _, process, _, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [(*run, output) for run, output in zip(started, outputs, strict=True)]
