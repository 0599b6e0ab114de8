"""deploy/local: the three services as separate processes behind one nginx base URL, started
by ``up.sh`` and stopped by ``down.sh`` — run for real against the machine's PostgreSQL and
NATS with a private run directory, ports, schema and namespace.

The tests share one stack (starting it costs seconds) and run in file order; the last one
stops it and checks that nothing else was stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import psycopg
import pytest

from tests.support.api import problem
from tests.support.deployment import delete_streams
from tests.support.infra import free_port, port_open, wait_for
from tests.support.local_stack import (
    DOWN,
    SERVICES,
    UP,
    LocalStack,
    children,
    nginx_binary,
    process_gone,
    processes_serving,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

CASE = "6f1c3a52-0000-5000-8000-000000000001"


@dataclass(frozen=True)
class Route:
    """A request through the base URL and the service that must answer it. ``status``: what
    that service answers today (None: not asserted, e.g. a route not built yet)."""

    method: str
    path: str
    service: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.service}"


# SPEC §6. Add a row when a service gains a path (and the path to deploy/nginx/routes.conf).
ROUTES = [
    Route("POST", "/api/v1/tips", "intake", 401),
    Route("GET", f"/api/v1/tips/{CASE}", "intake", 401),
    Route("POST", f"/api/v1/tips/{CASE}/reporter-views", "intake", 401),
    Route("GET", "/open311/v2/discovery.json", "intake", 200),
    Route("GET", "/open311/v2/services/other.xml", "intake", 200),
    Route("GET", f"/open311/v2/tokens/{CASE}.json", "intake", 404),
    Route("POST", "/open311/v2/requests.xml", "intake", 400),  # a JSON body, not a form
    Route("GET", "/readyz/intake", "intake", 200),
    Route("GET", "/api/v1/units", "dispatch"),
    Route("PUT", "/api/v1/units/WC-JYQ", "dispatch"),
    Route("PUT", "/api/v1/routing-rules", "dispatch"),
    Route("GET", "/api/v1/calendar/2027", "dispatch"),
    *(
        Route("POST", f"/api/v1/cases/{CASE}/{action}", "dispatch")
        for action in (
            "triage",
            "merge",
            "not-accepted",
            "dispatch",
            "overrule-return",
            "sign",
            "return",
            "extensions",
            "extensions/1/decision",
            "progress",
            "results",
            "results/1/review",
        )
    ),
    Route("GET", "/readyz/dispatch", "dispatch", 200),
    Route("GET", f"/api/v1/cases/{CASE}", "tracking"),
    Route("GET", f"/api/v1/cases/{CASE}/history", "tracking"),
    Route("GET", f"/api/v1/cases/{CASE}/results", "tracking"),  # reading is tracking's
    Route("GET", f"/api/v1/cases/{CASE}/extensions", "tracking"),
    *(
        Route("POST", f"/api/v1/cases/{CASE}/{action}", "tracking")
        for action in ("feedback", "evaluations", "accountability", "close-out")
    ),
    Route("GET", "/api/v1/ledger", "tracking", 401),
    Route("GET", "/api/v1/ledger.xlsx", "tracking"),
    Route("GET", "/api/v1/stats/units", "tracking"),
    Route("GET", "/api/v1/reports/monthly/2026-01", "tracking"),
    Route("GET", "/api/v1/audit", "tracking"),
    Route("GET", "/public/v1/results", "tracking"),
    Route("GET", "/ui/", "tracking"),
    Route("GET", "/docs", "tracking", 200),
    Route("GET", "/openapi.json", "tracking", 200),
    Route("GET", "/readyz/tracking", "tracking", 200),
    Route("GET", "/open311/v2/requests.json", "tracking", 200),
    Route("GET", "/open311/v2/requests/2026-000001.xml", "tracking", 404),
    # Look-alike prefixes are not the other service's.
    Route("GET", "/api/v1/tipsy", "tracking"),
    Route("GET", "/api/v1/unitsx", "tracking"),
]


@pytest.fixture(scope="module")
def stack(
    pg_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    if nginx_binary() is None:
        pytest.fail(
            "nginx is missing: apt-get install -y nginx-light (.ci/run does)", pytrace=False
        )
    schema = f"tz_deploy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    local = LocalStack(
        tmp_path_factory.mktemp("local-stack"),
        pg_url,
        schema,
        nats_url,
        f"t{uuid.uuid4().hex[:10]}",
    )
    try:
        local.up()
        yield local
    finally:
        local.down()
        asyncio.run(delete_streams(nats_url, local.namespace))
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_up_prints_one_base_url_whose_edge_answers_healthz(stack: LocalStack) -> None:
    assert stack.base_url == f"http://127.0.0.1:{stack.port}"
    r = httpx.get(f"{stack.base_url}/healthz", timeout=10)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_a_tip_registered_through_the_base_url_appears_in_the_ledger(stack: LocalStack) -> None:
    operator, office = stack.token("operator", "话务员甲"), stack.token("office", "办公室")
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        body = {"channel": "hotline_12388", "content": "某街道办事处违规收取办证费用"}
        created = client.post(
            "/api/v1/tips", json=body | {"external_ref": "deploy-1"}, headers=operator
        )
        assert created.status_code == 201, created.text
        case_id = created.json()["case_id"]
        assert client.get(f"/api/v1/tips/{case_id}", headers=operator).status_code == 200

        def in_ledger() -> dict | None:
            r = client.get("/api/v1/ledger", headers=office)
            assert r.status_code == 200, r.text
            return next((i for i in r.json()["items"] if i["case_id"] == case_id), None)

        try:
            entry = wait_for(in_ledger, 60, "the tip to reach tracking's ledger", interval=0.2)
        except AssertionError:
            print(stack.logs())
            raise
    assert entry["number"] == created.json()["number"]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_each_path_reaches_the_service_that_owns_it(stack: LocalStack, route: Route) -> None:
    r = httpx.request(route.method, stack.base_url + route.path, json={}, timeout=30)
    entry = stack.access_log(r.headers["X-Request-Id"])
    assert entry["upstream"] == route.service
    assert entry["upstream_addr"] == f"127.0.0.1:{stack.ports[route.service]}"
    assert entry["upstream_status"] == str(r.status_code)  # the service answered, not nginx
    if route.status is not None:
        assert r.status_code == route.status, r.text


def test_the_service_sees_the_original_client_through_forwarded_headers(
    stack: LocalStack,
) -> None:
    """nginx appends its peer to X-Forwarded-For; uvicorn trusts it from loopback, so the
    service logs (and would rate-limit or audit) the original client, not nginx."""
    client = "198.51.100.7"  # a documentation address: only a header, nothing is sent there
    r = httpx.get(
        f"{stack.base_url}/api/v1/ledger", headers={"X-Forwarded-For": client}, timeout=30
    )
    assert r.status_code == 401
    log = stack.run_dir / "tracking.log"
    wait_for(lambda: f'{client}:0 - "GET /api/v1/ledger' in log.read_text(), 10, "access line")


def test_the_edge_refuses_bodies_over_the_services_limit_as_problem_json(stack: LocalStack) -> None:
    url = f"{stack.base_url}/api/v1/tips"
    headers = {"Content-Type": "application/json"}
    at_limit = httpx.post(url, content=b"{}" + b" " * 65534, headers=headers, timeout=30)
    entry = stack.access_log(at_limit.headers["X-Request-Id"])
    # Passed nginx, and intake's own limit too: intake answered (who is calling? what tip?).
    assert (entry["upstream"], entry["upstream_status"]) == ("intake", str(at_limit.status_code))
    assert at_limit.status_code != 413
    over = httpx.post(url, content=b" " * 65537, headers=headers, timeout=30)
    problem(over, 413)
    assert stack.access_log(over.headers["X-Request-Id"])["upstream_addr"] == ""


def test_up_refuses_to_start_a_second_copy_and_leaves_the_first_running(
    stack: LocalStack,
) -> None:
    again = stack.run(UP)
    assert again.returncode == 1
    assert "already running" in again.stderr
    assert all(not process_gone(stack.pid(name)) for name in ("nginx", *SERVICES))
    assert httpx.get(f"{stack.base_url}/healthz", timeout=10).status_code == 200


def test_a_service_that_is_gone_is_a_503_problem_with_retry_after(stack: LocalStack) -> None:
    dispatch = stack.pid("dispatch")
    subprocess.run(["kill", "-TERM", str(dispatch)], check=True)
    wait_for(lambda: process_gone(dispatch), 60, "dispatch to stop")
    r = httpx.post(f"{stack.base_url}/api/v1/cases/{CASE}/triage", json={}, timeout=30)
    problem(r, 503)
    assert r.headers["Retry-After"] == "5"
    assert httpx.get(f"{stack.base_url}/readyz/tracking", timeout=30).status_code == 200


@pytest.fixture
def decoys(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes that look like the stack's (another nginx, a `taizhang serve intake`): a
    down.sh that stops by name would stop them too."""
    conf = tmp_path / "decoy-nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/decoy.pid; error_log {tmp_path}/decoy-error.log;\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/body; proxy_temp_path "
        f"{tmp_path}/proxy; server {{ listen 127.0.0.1:{free_port()}; return 204; }} }}\n"
    )
    nginx = [str(nginx_binary()), "-p", f"{tmp_path}/", "-c", str(conf), "-g", "daemon off;"]
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)", "taizhang", "serve", "intake"]
    # Each in its own process group: killing nginx's master alone would orphan its worker.
    processes = [subprocess.Popen(cmd, start_new_session=True) for cmd in (nginx, sleeper)]
    try:
        yield processes
    finally:
        for p in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


def test_down_stops_exactly_what_up_started(
    stack: LocalStack, decoys: list[subprocess.Popen[bytes]], pg_url: str
) -> None:
    nginx = stack.pid("nginx")
    started = [nginx, *children(nginx), *(stack.pid(s) for s in SERVICES)]
    assert len(started) >= 5  # nginx master, its worker(s), three services

    result = stack.down()

    assert result.returncode == 0, result.stderr
    assert [pid for pid in started if not process_gone(pid)] == []
    assert not any(port_open("127.0.0.1", p) for p in [stack.port, *stack.ports.values()])
    assert list(stack.run_dir.glob("*.pid")) == []
    assert [p.args for p in decoys if p.poll() is not None] == []
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert asyncio.run(nats_answers(stack.nats_url))
    again = subprocess.run(["bash", str(DOWN)], env=stack.env, capture_output=True, text=True)
    assert again.returncode == 0
    assert "stopped 0 process(es)" in again.stderr


async def nats_answers(url: str) -> bool:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        await nc.flush(timeout=5)
        return nc.is_connected
    finally:
        await nc.close()


def test_up_stops_what_it_started_when_a_service_cannot_start(tmp_path: Path) -> None:
    """A database that does not answer: intake exits during start-up, and up.sh leaves
    nothing behind."""
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    local = LocalStack(
        tmp_path / "run", unreachable, "tz_nowhere", "nats://127.0.0.1:4222", "tnowhere"
    )
    result = local.run(UP)
    assert result.returncode == 1
    assert "intake exited during start-up" in result.stderr
    assert result.stdout == ""  # no base URL
    assert list(local.run_dir.glob("*.pid")) == []
    assert [processes_serving(p) for p in local.ports.values()] == [[], [], []]


def test_up_refuses_ports_in_use_before_starting_anything(tmp_path: Path) -> None:
    local = LocalStack(
        tmp_path / "run", "postgresql://unused", "tz_unused", "nats://unused", "tunused"
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", local.ports["dispatch"]))
        busy.listen()
        result = local.run(UP)
    assert result.returncode == 1
    assert f"port {local.ports['dispatch']} is in use" in result.stderr
    assert not (local.run_dir / "intake.log").exists()
