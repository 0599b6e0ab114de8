"""Issue 16: what recording reads costs (ADR 26) — the case view, a ledger page and the ledger
export, p95 with the read audit on and off, in one run, on one store. The export's row is
committed before it leaves (a write of its own on the request's path, ADR 26's third
addendum); the looks' rows are batched.

    nice -n 10 .venv/bin/python -m bench.audit                      # SQLite, ~1 minute
    nice -n 10 .venv/bin/python -m bench.audit --store postgres     # TAIZHANG_BENCH_PG_URL, else
                                                                    # the machine's PostgreSQL

The all-in-one app is served in this process (uvicorn in a thread); ``--cases`` tips are
registered through the API and projected. Then, in ``--rounds`` rounds whose order alternates
(on, off / off, on, so drift on a shared machine falls on both), ``--requests`` sequential
requests of each route are timed by the client with the audit on, and as many with
``audit.record`` replaced by a no-op — the same code path otherwise. There is no switch to
turn the audit off in a deployment: this replacement exists only here.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.baselines import percentile
from bench.common import _embedded_pg
from services.app import create_app
from services.tracking.ledger import audit
from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.infra import SHARED_PG, ServerThread, wait_for

ROUTES = ("case view", "ledger page", "ledger export")
EXPORTS_PER_LOOK = 10  # an export costs ~10 looks: fewer of them, so a round stays short


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--own-pg", action="store_true", help="a PostgreSQL of this run's own (embedded wheel)"
    )
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--requests", type=int, default=200, help="per route, mode and round")
    parser.add_argument("--rounds", type=int, default=4)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    root = Path(tempfile.mkdtemp(prefix="tz-bench-audit-"))
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        chosen = os.environ.get("TAIZHANG_BENCH_PG_URL") or SHARED_PG
        pg_url = stack.enter_context(_embedded_pg()) if args.own_pg else chosen
        if args.store == "postgres":
            settings = Settings(data_dir=root, database_url=pg_url, database_schema=schema)
        else:
            settings = Settings(data_dir=root)
        try:
            with ServerThread(create_app(settings)) as server:
                results = measure(server.url, settings, args)
        finally:
            if args.store == "postgres":
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    report(results, args)
    return 0


def measure(url: str, settings: Settings, args: argparse.Namespace) -> dict[str, list[float]]:
    secrets = load_secrets(settings)

    def auth(role: str) -> dict[str, str]:
        token = issue_token(secrets, role=Role(role), name=f"压测{role}")
        return {"Authorization": f"Bearer {token}"}

    office = auth("office")
    with httpx.Client(base_url=url, timeout=60) as client:
        ids = [register(client, auth("operator"), n) for n in range(args.cases)]
        wait_for(
            lambda: client.get(f"/api/v1/cases/{ids[-1]}", headers=office).status_code == 200,
            120,
            "the ledger",
        )
        pick = random.Random(16)
        requests: dict[str, Callable[[], httpx.Response]] = {
            "case view": lambda: client.get(f"/api/v1/cases/{pick.choice(ids)}", headers=office),
            "ledger page": lambda: client.get(
                "/api/v1/ledger",
                params={"status": "registered", "page_size": 20},
                headers=office,
            ),
            "ledger export": lambda: client.get(
                "/api/v1/ledger.xlsx", params={"status": "registered"}, headers=office
            ),
        }
        # Warm up both paths with a whole round: a quarter round left the first "on" round
        # cold (p50 15 ms while the consumers still worked through the tips) — it was the
        # whole of an earlier p95 ratio of 4.7 (docs/BENCHMARKS.md).
        for mode in ("on", "off"):
            with audit_off() if mode == "off" else contextlib.nullcontext():
                for send in requests.values():
                    timed(send, args.requests)
        seconds: dict[str, list[float]] = {f"{r} {m}": [] for r in ROUTES for m in ("on", "off")}
        for round_no in range(args.rounds):
            modes = ("on", "off") if round_no % 2 == 0 else ("off", "on")
            for mode in modes:
                with audit_off() if mode == "off" else contextlib.nullcontext():
                    for route, send in requests.items():
                        seconds[f"{route} {mode}"] += timed(send, count(route, args))
            print(f"round {round_no + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
    return seconds


def count(route: str, args: argparse.Namespace) -> int:
    return max(1, args.requests // EXPORTS_PER_LOOK) if route == "ledger export" else args.requests


def register(client: httpx.Client, headers: dict[str, str], n: int) -> str:
    body = {
        "channel": "hotline_12388",
        "content": f"某所违规收取资料费第{n}起",
        "external_ref": f"b{n}",
    }
    r = client.post("/api/v1/tips", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def timed(send: Callable[[], httpx.Response], n: int) -> list[float]:
    found = []
    for _ in range(n):
        start = time.perf_counter()
        r = send()
        found.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
    return found


class audit_off:
    """``audit.record`` as a no-op while inside: the API modules look it up at each call."""

    def __enter__(self) -> None:
        self.kept: Any = audit.record

        async def nothing(*args: Any, **kwargs: Any) -> None:
            return None

        audit.record = nothing

    def __exit__(self, *exc: object) -> None:
        audit.record = self.kept


def report(seconds: dict[str, list[float]], args: argparse.Namespace) -> None:
    print(f"store {args.store}, {args.cases} cases, {args.rounds} rounds × {args.requests}")
    for route in ROUTES:
        on, off = seconds[f"{route} on"], seconds[f"{route} off"]
        p95_on, p95_off = percentile(on, 95) * 1000, percentile(off, 95) * 1000
        print(
            f"{route:13} p50 on {percentile(on, 50) * 1000:6.2f} ms, off "
            f"{percentile(off, 50) * 1000:6.2f} ms; p95 on {p95_on:6.2f} ms, off "
            f"{p95_off:6.2f} ms; p95 ratio on/off {p95_on / p95_off:.3f} ({len(on)} each)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
