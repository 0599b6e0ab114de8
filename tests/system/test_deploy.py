"""deploy/local: the three services as separate processes behind one nginx base URL, started
by ``up.sh`` and stopped by ``down.sh`` — run for real against the machine's PostgreSQL and
NATS with a private run directory, ports, schema and namespace.

The tests share one stack (starting it costs seconds) and run in file order; the last one
stops it and checks that nothing else was stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest

from services.ops.edge import AVAILABLE
from shared.platform.protection import new_receipt_code
from tests.support.api import problem
from tests.support.deployment import delete_streams
from tests.support.infra import PostgresProcess, free_port, port_open, wait_for
from tests.support.local_stack import (
    DOWN,
    RELAYS_APART,
    SERVICES,
    UP,
    LocalStack,
    children,
    nginx_binary,
    process_gone,
    processes_serving,
)
from tests.support.workbench import LEAD, Workbench

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


# What the edge answers besides the services' OpenAPI paths (those are walked one by one in
# test_every_route_of_every_service_reaches_its_owner_through_the_proxy).
ROUTES = [
    Route("GET", "/ui/", "tracking"),  # the workbench lives with the ledger (ADR 9)
    Route("GET", "/ui/static/ui.css", "tracking"),
    Route("GET", "/portal/", "portal", 200),
    Route("GET", "/openapi.json", "portal", 200),  # the merged document (ADR 27)
    Route("GET", "/docs", "portal", 200),
    *(Route("GET", f"/readyz/{name}", name, 200) for name in SERVICES),
]
OWN_PATHS = ("/healthz", "/readyz", "/healthz/delivery")  # each process's own, not routed
PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture(scope="module")
def stack_postgres() -> Iterator[str]:
    """A PostgreSQL of the module's own: six processes held for the whole module took the
    machine's server to its 100 connections beside the other worker's tests."""
    server = PostgresProcess()
    with (server.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("max_connections = 200\n")
    server.start()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def stack(
    stack_postgres: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    pg_url = stack_postgres
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


def unread(bench: Workbench) -> int:
    found = re.search(r'data-unread="(\d+)"', bench.get("/ui/inbox/count").text)
    assert found
    return int(found.group(1))


def test_intakes_relay_runs_in_a_process_of_its_own_and_intake_serves_without_one(
    stack: LocalStack,
) -> None:
    """ADR 48: the tips above reached the ledger through this relay, the one active."""
    served = httpx.get(f"http://127.0.0.1:{stack.ports['intake']}/healthz/delivery", timeout=10)
    assert "relay:intake" not in served.json()["parts"]
    relay = httpx.get(f"http://127.0.0.1:{stack.relay_port}/healthz/delivery", timeout=10)
    assert relay.json()["parts"]["relay:intake"]["status"] == "ok"
    assert "leadership_acquired" in (stack.run_dir / "intake-relay.log").read_text()


def test_a_liaison_is_notified_of_a_case_dispatched_to_its_unit_apart(stack: LocalStack) -> None:
    """Issue 21: notify runs as its own process — it consumes dispatch's events from the
    backbone and the workbench (tracking's process) reads its inbox through the edge."""
    office = stack.auth("office", "办公室")
    person = {"id": "unit_liaison:联络员甲", "name": "联络员甲", "role": "liaison", "unit": LEAD}
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        unit = {"code": LEAD, "name": "武昌区积玉桥街道办事处", "kind": "street_office"}
        admin = stack.auth("admin", "管理员")  # no seeded directory on PostgreSQL
        created = client.post("/api/v1/units", json=unit, headers=admin)
        assert created.status_code == 201, created.text
        created = client.post("/api/v1/persons", json=person, headers=office)
        assert created.status_code == 201, created.text
        case_id = registered_tip(stack, client, "dispatch-to-liaison")
        for path, body in (("triage", {"track": "general"}), ("dispatch", {"lead_unit": LEAD})):
            r = client.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers=office)
            assert r.status_code == 200, r.text
    bench = Workbench(stack.base_url)
    liaison = stack.auth("unit_liaison", "联络员甲", LEAD)["Authorization"].split()[1]
    assert bench.sign_in(liaison).status_code == 200
    wait_for(lambda: unread(bench) == 1, 60, "the dispatch notice in the liaison's inbox")
    assert f'href="/ui/cases/{case_id}"' in bench.page("/ui/inbox").text


def registered_tip(stack: LocalStack, client: httpx.Client, ref: str, content: str = "") -> str:
    """A tip registered through the base URL, once dispatch has opened its case."""
    operator, office = stack.auth("operator", "话务员甲"), stack.auth("office", "办公室")
    body = {"channel": "hotline_12388", "content": content or "某局窗口人员上班时间玩手机游戏"}
    created = client.post("/api/v1/tips", json=body | {"external_ref": ref}, headers=operator)
    assert created.status_code == 201, created.text
    case_id: str = created.json()["case_id"]
    opened = lambda: client.get(f"/api/v1/cases/{case_id}/dispatch", headers=office)  # noqa: E731
    wait_for(lambda: opened().status_code == 200, 60, "dispatch to open the case")
    return case_id


def test_insight_suggests_the_earlier_tip_of_the_same_problem_apart(stack: LocalStack) -> None:
    """Issue 25: insight runs as its own process, fed by the backbone, behind the edge."""
    content = "幸福路菜市场管理处向摊贩乱收费,每月多收卫生费二百元,不给收据"
    office = stack.auth("office", "办公室")
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        first = registered_tip(stack, client, "insight-1", content)
        second = registered_tip(stack, client, "insight-2", content + "。")

        def suggested() -> bool:
            r = client.get(f"/api/v1/cases/{second}/suggestions", headers=office)
            if r.status_code == 404 and r.json()["code"] == "case_not_seen":
                return False  # insight has not consumed the second tip yet: ask again
            assert r.status_code == 200, r.text
            return first in [item["case_id"] for item in r.json()["items"]]

        try:
            wait_for(suggested, 60, "insight to suggest the earlier tip")
        except AssertionError:
            print(stack.logs())  # insight's log says whether its consumer ever started
            raise


def test_the_portal_apart_reads_the_public_api_through_the_edge_as_the_visitor(
    stack: LocalStack,
) -> None:
    """The portal owns no store: its receipt page asks tracking's public API through nginx,
    naming the visitor, whose address the rate limit and the log then see (ADR 27)."""
    visitor = "198.51.100.9"  # a documentation address: only a header
    r = httpx.post(
        f"{stack.base_url}/portal/receipt",
        data={"code": new_receipt_code()},
        headers={"X-Forwarded-For": visitor},
        timeout=30,
    )
    assert r.status_code == 404 and "没有找到该回执码" in r.text
    assert stack.access_log(r.headers["X-Request-Id"])["upstream"] == "portal"
    lines = [json.loads(line) for line in (stack.run_dir / "access.log").read_text().splitlines()]
    asked = [e for e in lines if e["uri"] == "/public/v1/receipts/{code}"]
    assert asked and asked[-1]["upstream"] == "tracking" and asked[-1]["status"] == 404
    log = stack.run_dir / "tracking.log"
    wait_for(lambda: "198.51.100.0" in log.read_text(), 10, "tracking's line with the visitor")


def test_the_edge_answers_https_with_the_certificate_made_at_the_first_run(
    stack: LocalStack,
) -> None:
    cert = stack.run_dir / "tls" / "cert.pem"
    assert (stack.run_dir / "tls" / "key.pem").stat().st_mode & 0o077 == 0  # only its owner
    trusted = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=f"https://127.0.0.1:{stack.tls_port}", verify=trusted) as tls:
        assert tls.get("/healthz").json() == {"status": "ok"}
        r = tls.get("/api/v1/ledger")
        assert r.status_code == 401  # tracking answered, over TLS
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert stack.access_log(r.headers["X-Request-Id"])["upstream"] == "tracking"
    with pytest.raises(httpx.ConnectError):  # the certificate is not trusted by default
        httpx.get(f"https://127.0.0.1:{stack.tls_port}/healthz", timeout=10)


def test_at_the_edge_a_visitors_own_forwarded_for_is_replaced_by_its_address(
    stack: LocalStack,
) -> None:
    """Over the TLS port (the browsers' edge) a claimed X-Forwarded-For would let anyone pick
    the address the rate limit and the log see: nginx sends the peer's own instead."""
    claimed = "203.0.113.77"  # a documentation address: only a header
    cert = stack.run_dir / "tls" / "cert.pem"
    trusted = ssl.create_default_context(cafile=str(cert))
    log = stack.run_dir / "tracking.log"

    def lines() -> list[str]:  # the console renderer's colours taken off
        plain = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text())
        return [x for x in plain.splitlines() if "route=/api/v1/ledger" in x]

    seen = len(lines())
    with httpx.Client(base_url=f"https://127.0.0.1:{stack.tls_port}", verify=trusted) as tls:
        r = tls.get("/api/v1/ledger", headers={"X-Forwarded-For": claimed})
    assert r.status_code == 401
    wait_for(lambda: len(lines()) > seen, 10, "its access line")
    assert "client=127.0.0.0" in lines()[-1] and "203.0.113" not in lines()[-1]


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_each_path_reaches_the_service_that_owns_it(stack: LocalStack, route: Route) -> None:
    r = httpx.request(route.method, stack.base_url + route.path, json={}, timeout=30)
    entry = stack.access_log(r.headers["X-Request-Id"])
    assert entry["upstream"] == route.service
    assert entry["upstream_addr"] == f"127.0.0.1:{stack.ports[route.service]}"
    assert entry["upstream_status"] == str(r.status_code)  # the service answered, not nginx
    if route.status is not None:
        assert r.status_code == route.status, r.text


def test_the_sms_gateway_s_reply_reaches_intake_through_the_edge(stack: LocalStack) -> None:
    """ADR 49: the gateway posts to the base URL like any client; intake takes it, and the
    edge's access line holds the route, never the phone."""
    reply = {
        "phone": "13800005555",
        "text": "TD",
        "received_at": "2026-12-08T09:30:00+08:00",
        "message_id": "edge-1",
    }
    path = "/api/v1/sms/replies"
    refused = httpx.post(stack.base_url + path, json=reply, timeout=30)
    assert refused.status_code == 403, refused.text  # intake's refusal, not the edge's
    headers = {"X-SMS-Gateway-Secret": stack.sms_reply_secret}
    r = httpx.post(stack.base_url + path, json=reply, headers=headers, timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "recorded"}, r.text
    entry = stack.access_log(r.headers["X-Request-Id"])
    assert entry["upstream"] == "intake" and entry["upstream_status"] == "200"
    assert "13800005555" not in json.dumps(entry) and stack.sms_reply_secret not in str(entry)


def own_documents(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, asked of the service itself (not through the edge)."""
    return {
        name: httpx.get(f"http://127.0.0.1:{stack.ports[name]}/openapi.json", timeout=30).json()
        for name in AVAILABLE
    }


def route_miss(r: httpx.Response) -> bool:
    """The service has no route for the path (its router's 404/405), as opposed to a 404 for
    a case or receipt the route looked up."""
    json_body = r.headers.get("content-type", "").endswith("json")
    generic = r.status_code == 404 and json_body and r.json().get("detail") == "Not Found"
    return generic or r.status_code == 405


def sample(template: str) -> str:
    """A path of the template: Open311's format is json, any other parameter 1."""
    return PARAMETER.sub("1", template.replace("{format}", "json"))


def test_every_route_of_every_service_reaches_its_owner_through_the_proxy(
    stack: LocalStack,
) -> None:
    """Issue 17 point 3: every path and method of every service's own OpenAPI, sent to the
    base URL, is answered by that service's process — which has the route — not by nginx or
    by another service."""
    sent: list[tuple[str, str, httpx.Response]] = []
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        for name, document in own_documents(stack).items():
            for template, item in document["paths"].items():
                if template in OWN_PATHS:
                    continue
                for method in item:
                    body = None if method in ("get", "delete") else {}
                    r = client.request(method, sample(template), json=body)
                    sent.append((name, f"{method.upper()} {template}", r))
    assert len(sent) > 100  # all five services' routes
    assert {name for name, _, _ in sent} == set(AVAILABLE)
    log = stack.access_log_entries([r.headers["X-Request-Id"] for _, _, r in sent])
    wrong = [
        f"{route}: {log[r.headers['X-Request-Id']]['upstream_addr'] or 'nginx'} "
        f"answered {r.status_code} (owner {name})"
        for name, route, r in sent
        if log[r.headers["X-Request-Id"]]["upstream_addr"] != f"127.0.0.1:{stack.ports[name]}"
        or log[r.headers["X-Request-Id"]]["upstream_status"] != str(r.status_code)
        or route_miss(r)
    ]
    assert wrong == []


def test_the_base_url_serves_one_openapi_document_of_every_service(stack: LocalStack) -> None:
    merged = httpx.get(f"{stack.base_url}/openapi.json", timeout=30).json()
    expected: dict[str, set[str]] = {}
    for document in own_documents(stack).values():
        for template, item in document["paths"].items():
            if template not in OWN_PATHS:
                expected.setdefault(template, set()).update(item)
    served = {template: set(item) for template, item in merged["paths"].items()}
    assert served == expected | {"/healthz": {"get"}}  # the edge answers /healthz itself
    refs = set(re.findall(r'"\$ref": ?"#/components/schemas/([^"]+)"', json.dumps(merged)))
    assert refs and refs <= set(merged["components"]["schemas"])  # every reference resolves


@pytest.mark.parametrize("path", ["/api/v1/tipsy", "/api/v1/unitsx", f"/api/v1/cases/{CASE}/x"])
def test_a_path_no_service_declares_is_the_edges_own_404(stack: LocalStack, path: str) -> None:
    r = httpx.get(stack.base_url + path, timeout=30)
    problem(r, 404)
    assert stack.access_log(r.headers["X-Request-Id"])["upstream_addr"] == ""


def test_the_edge_logs_no_query_string_no_receipt_code_and_no_whole_address(
    stack: LocalStack,
) -> None:
    """ADR 18: a receipt code in the path and an Open311 api_key in the query stay out of
    nginx's access log; the client address is truncated."""
    code = new_receipt_code()
    url = f"{stack.base_url}/public/v1/receipts/{code}?api_key=tzk_k_SECRET&name=张三"
    r = httpx.get(url, timeout=30)
    entry = stack.access_log(r.headers["X-Request-Id"])
    assert entry["uri"] == "/public/v1/receipts/{code}"
    assert entry["remote_addr"] == "127.0.0.0"
    text = (stack.run_dir / "access.log").read_text()
    assert code not in text and "tzk_k_SECRET" not in text and "api_key" not in text


def test_the_service_sees_the_original_client_through_forwarded_headers(
    stack: LocalStack,
) -> None:
    """nginx appends its peer to X-Forwarded-For; uvicorn trusts it from loopback, so the
    service logs (and would rate-limit or audit) the original client, not nginx — its network
    only (ADR 18)."""
    client = "198.51.100.7"  # a documentation address: only a header, nothing is sent there
    r = httpx.get(
        f"{stack.base_url}/api/v1/ledger", headers={"X-Forwarded-For": client}, timeout=30
    )
    assert r.status_code == 401
    log = stack.run_dir / "tracking.log"
    wait_for(lambda: "198.51.100.0" in log.read_text(), 10, "access line")
    assert client not in log.read_text()


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
    assert all(not process_gone(stack.pid(name)) for name in ("nginx", *SERVICES, *RELAYS_APART))
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
    stack: LocalStack, decoys: list[subprocess.Popen[bytes]]
) -> None:
    nginx = stack.pid("nginx")
    started = [nginx, *children(nginx), *(stack.pid(s) for s in (*SERVICES, *RELAYS_APART))]
    assert len(started) >= 2 + len(SERVICES) + 1  # nginx master, worker(s), services, relay

    result = stack.down()

    assert result.returncode == 0, result.stderr
    assert [pid for pid in started if not process_gone(pid)] == []
    ports = [stack.port, stack.relay_port, *stack.ports.values()]
    assert not any(port_open("127.0.0.1", p) for p in ports)
    assert list(stack.run_dir.glob("*.pid")) == []
    assert [p.args for p in decoys if p.poll() is not None] == []
    with psycopg.connect(stack.pg_url) as conn:  # the database it used is left running
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
    assert [processes_serving(p) for p in local.ports.values()] == [[]] * len(SERVICES)


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
