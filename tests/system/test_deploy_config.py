"""deploy/compose.yaml and its NATS and nginx configs: parsed and checked here, the NATS
configs run as a real three-node JetStream cluster on loopback, the nginx config checked by
``nginx -t``. (No container engine is needed.)"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml
from nats.js.errors import APIError

from services.ops import edge
from shared.platform.messaging.nats import stream_config
from tests.support.infra import free_port, nats_server_binary, port_open, wait_for
from tests.support.local_stack import REPO, nginx_binary

DEPLOY = REPO / "deploy"
APP_SERVICES = edge.PROCESSES  # every service and the portal: each its own container
NATS_NODES = (1, 2, 3)
SECRET = re.compile(r"\$\{(\w+):\?[^}]*\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return parsed


def version(tag: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", tag.split(":", 1)[1].split("-")[0]))


def test_compose_runs_every_part_of_the_system(compose: dict[str, Any]) -> None:
    services = compose["services"]
    monitoring = {"prometheus", "grafana"}  # started on request (profile `monitoring`)
    assert set(services) == {
        "postgres",
        "nginx",
        *APP_SERVICES,
        "intake-relay",  # intake's relay apart (ADR 48)
        *(f"nats-{i}" for i in NATS_NODES),
        *monitoring,
    }
    assert all(services[name]["profiles"] == ["monitoring"] for name in monitoring)
    for name in [*APP_SERVICES, "intake-relay"]:
        service = services[name]
        command = ["relay", "run", "intake"] if name == "intake-relay" else ["serve", name]
        assert service["command"] == command
        assert service["user"] == "10001:10001"  # never root (issue 26)
        assert service["cap_drop"] == ["ALL"]
        assert "attachments:/var/lib/taizhang/attachments" in service["volumes"]  # ADR 22
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        env = service["environment"]
        assert env["TAIZHANG_ENVIRONMENT"] == "production"
        assert env["TAIZHANG_NATS_REPLICAS"] == "3"
        assert env["TAIZHANG_DATABASE_URL"].startswith("postgresql://")
        assert env["TAIZHANG_METRICS_PORT"] == "9100"  # what deploy/prometheus scrapes
        # the operator's notification settings (SMS credentials) from deploy/.env, optional
        assert env["TAIZHANG_NOTIFY"] == "${TAIZHANG_NOTIFY:-}"
        assert env["TAIZHANG_PORTAL_URL"] == "${TAIZHANG_PORTAL_URL:-}"  # ADR 44, optional
        # the attachments' bucket (ADR 39), optional; its secret key from deploy/.env too
        assert env["TAIZHANG_ATTACHMENT_S3_SECRET_KEY"] == "${TAIZHANG_ATTACHMENT_S3_SECRET_KEY:-}"
    # intake serves without a relay; one process of its own publishes its outbox (ADR 48)
    assert services["intake"]["environment"]["TAIZHANG_RELAY"] == "apart"
    assert "TAIZHANG_RELAY" not in services["intake-relay"]["environment"]
    assert services["intake-relay"]["depends_on"]["intake"]["condition"] == "service_healthy"
    assert services["dispatch"]["deploy"]["replicas"] == 2
    assert services["tracking"]["deploy"]["replicas"] == 2
    # The workbench served by tracking reaches intake and dispatch through the edge.
    ui_api = services["tracking"]["environment"]["TAIZHANG_UI_API_URL"]
    assert ui_api == "http://nginx:8081" and "nginx" in services
    # Fresh databases are created by one service at a time (see compose.yaml).
    assert services["dispatch"]["depends_on"]["intake"]["condition"] == "service_healthy"
    assert services["tracking"]["depends_on"]["dispatch"]["condition"] == "service_healthy"


def test_compose_takes_every_secret_from_the_uncommitted_env_file(compose: dict[str, Any]) -> None:
    secrets = {
        "TAIZHANG_JWT_SECRET",
        "TAIZHANG_REPORTER_KEYS",
        "TAIZHANG_RECEIPT_SECRET",
        "POSTGRES_PASSWORD",
        "NATS_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    }
    text = (DEPLOY / "compose.yaml").read_text()
    assert set(SECRET.findall(text)) == secrets  # required: compose refuses to start without
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        for key in ("TAIZHANG_JWT_SECRET", "TAIZHANG_REPORTER_KEYS", "TAIZHANG_RECEIPT_SECRET"):
            assert SECRET.fullmatch(env[key]), f"{name}: {key} must come from deploy/.env"
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(example) == secrets
    assert set(example.values()) == {""}  # no sample secret that could be deployed as is
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=REPO)
    assert ignored.returncode == 0, "deploy/.env must be ignored by git"


def test_compose_pins_nats_and_nginx_versions_that_have_what_we_rely_on(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for i in NATS_NODES:
        node = services[f"nats-{i}"]
        assert version(node["image"]) >= (2, 12, 3)  # fixes for streams lost on a crash
        assert f"./nats/nats-{i}.conf:/etc/nats/nats-server.conf:ro" in node["volumes"]
        assert node["networks"]["default"]["aliases"] == ["nats"]
    nginx = services["nginx"]
    assert version(nginx["image"]) >= (1, 27, 3)  # `resolve` in upstream blocks
    assert nginx["image"].startswith("nginxinc/nginx-unprivileged:")  # not root (issue 26)
    mounts = dict(v.rsplit(":", 2)[:2] for v in nginx["volumes"])
    assert mounts["./nginx/routes.conf"] == "/etc/nginx/taizhang/routes.conf"
    assert mounts["./nginx/http.conf"] == "/etc/nginx/taizhang/http.conf"
    assert mounts["${TAIZHANG_TLS_DIR:-./tls}"] == "/etc/nginx/tls"  # the operator's files
    assert {p.split(":")[-1] for p in nginx["ports"]} == {"8443", "8080"}  # 8081 stays inside


def test_the_image_runs_as_an_unprivileged_user() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users == ["10001:10001"]
    assert "--uid 10001" in text


def test_routes_conf_is_what_the_services_routers_generate() -> None:
    """ADR 27: a route a service gains reaches the proxy by regenerating routes.conf
    (`python -m services.ops.edge > deploy/nginx/routes.conf`); this fails until then."""
    assert (DEPLOY / "nginx" / "routes.conf").read_text() == edge.nginx_routes()


def test_the_routing_table_gives_every_route_to_the_service_that_declares_it() -> None:
    """By the proxy's own rules (first regex in file order): each service's declared
    paths and methods, the page trees and the documents."""
    paths = edge.table()
    for name in edge.AVAILABLE:
        for template, item in edge.service_paths(name).items():
            sample = edge.PARAMETER.sub("1", template)
            for method in item:
                assert edge.owner(paths, method.upper(), sample) == name, f"{method} {template}"
    assert edge.owner(paths, "GET", "/ui/ledger") == "tracking"
    assert edge.owner(paths, "POST", "/portal/receipt") == "portal"
    assert edge.owner(paths, "GET", "/openapi.json") == "portal"
    assert edge.owner(paths, "GET", "/api/v1/tipsy") is None  # the edge's own 404


def test_the_local_stack_starts_every_process_the_routes_name() -> None:
    common = (DEPLOY / "local" / "common.sh").read_text()
    listed = re.search(r"^services=\(([^)]*)\)", common, re.M)
    assert listed is not None
    assert tuple(listed.group(1).split()) == edge.PROCESSES


@pytest.mark.parametrize("config", ["compose.conf", "../local/nginx.conf.template"])
def test_both_nginx_configs_include_the_same_shared_routes(config: str) -> None:
    text = (DEPLOY / "nginx" / config).read_text()
    assert re.search(r'include "?\S*/http\.conf"?;', text)
    assert re.search(r'include "?\S*/routes\.conf"?;', text)
    assert "proxy_pass" not in text  # routes live only in routes.conf
    assert re.search(r'include "?\S*/tls\.conf"?;', text)  # and TLS is ended the same way
    if config == "compose.conf":
        for service in APP_SERVICES:
            assert re.search(rf"upstream {service}\s*{{", text)
    else:  # deploy/local/up.sh writes one upstream per process of common.sh
        assert "@UPSTREAMS@" in text


def test_compose_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    """nginx -t on compose.conf, with the container's paths and names made local (and
    `resolve`, which Debian's nginx 1.22 predates, left out)."""
    nginx = nginx_binary()
    assert nginx, "nginx is missing: apt-get install -y nginx-light (.ci/run does)"
    text = (DEPLOY / "nginx" / "compose.conf").read_text()
    text = text.replace("/etc/nginx/taizhang/", f"{DEPLOY}/nginx/")
    text = text.replace(" resolve;", ";").replace("pid /tmp/nginx.pid;", f"pid {tmp_path}/n.pid;")
    for port in (8443, 8080, 8081):
        text = text.replace(f"listen {port}", f"listen 127.0.0.1:{free_port()}")
    text = re.sub(r"server (\w+):8000", "server 127.0.0.1:9", text)
    keys = ["-keyout", f"{tmp_path}/key.pem", "-out", f"{tmp_path}/cert.pem"]
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t"]
    subprocess.run(["openssl", *request, *keys], check=True, capture_output=True)
    text = text.replace("/etc/nginx/tls/", f"{tmp_path}/")
    text = text.replace(
        "http {",
        f"http {{\n  client_body_temp_path {tmp_path}/b;\n  proxy_temp_path {tmp_path}/p;",
        1,
    )
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("node", NATS_NODES)
def test_nats_node_config_is_a_durable_member_of_a_three_node_cluster(node: int) -> None:
    text = (DEPLOY / "nats" / f"nats-{node}.conf").read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.M)
    assert re.search(rf"^server_name:\s*nats-{node}\s*$", text, re.M)
    routes = re.findall(r"nats-route://(nats-\d):6222", text)
    assert sorted(routes) == ["nats-1", "nats-2", "nats-3"]
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(DEPLOY / "nats" / f"nats-{node}.conf")],
        env={"NATS_PASSWORD": "x" * 32},
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr


class Cluster:
    """The three configs as written, on loopback ports and temporary store directories."""

    PASSWORD = "cluster-test-password-0123456789"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = {i: free_port() for i in NATS_NODES}
        self.routes = {i: free_port() for i in NATS_NODES}
        self.monitor = {i: free_port() for i in NATS_NODES}
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def config(self, i: int) -> Path:
        text = (DEPLOY / "nats" / f"nats-{i}.conf").read_text()
        local = [
            ("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{self.client[i]}"),
            ("http: 0.0.0.0:8222", f"http: 127.0.0.1:{self.monitor[i]}"),
            ("store_dir: /data", f'store_dir: "{self.root}/store-{i}"'),
            ("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{self.routes[i]}"),
            *((f"nats-{j}:6222", f"127.0.0.1:{self.routes[j]}") for j in NATS_NODES),
        ]
        for old, new in local:
            assert text.count(old) == 1, f"nats-{i}.conf: expected one {old!r}"
            text = text.replace(old, new)
        path = self.root / f"nats-{i}.conf"
        path.write_text(text)
        return path

    def start(self) -> Cluster:
        for i in NATS_NODES:
            self.procs[i] = subprocess.Popen(
                [nats_server_binary(), "-c", str(self.config(i))],
                env={"NATS_PASSWORD": self.PASSWORD},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for i in NATS_NODES:
            wait_for(lambda i=i: port_open("127.0.0.1", self.client[i]), 15, f"nats-{i}")
        return self

    def stop(self, i: int) -> None:
        proc = self.procs[i]
        if proc.poll() is None:
            proc.terminate()
            proc.wait(20)

    def jetstream_config(self, i: int) -> dict[str, Any]:
        """What the running node says of its JetStream settings (monitoring endpoint)."""
        config: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.monitor[i]}/jsz").json()[
            "config"
        ]
        return config

    def url(self, i: int) -> str:
        return f"nats://taizhang:{self.PASSWORD}@127.0.0.1:{self.client[i]}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path).start()
    try:
        yield running
    finally:
        for i in NATS_NODES:
            running.stop(i)


async def until(action: Any, timeout: float = 60) -> Any:
    """Retry until the action answers something true; JetStream refuses requests (503) while
    the cluster elects its leaders."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await action()
            if result:
                return result
        except (APIError, nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError):
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s")
        await asyncio.sleep(0.5)


async def test_the_cluster_keeps_r3_streams_and_accepts_writes_with_a_node_down(
    cluster: Cluster,
) -> None:
    nc = await nats.connect(cluster.url(1), connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        config = stream_config("tzcluster", "intake", replicas=3)  # what the services create
        await until(lambda: js.add_stream(config))
        headers = {"Nats-Msg-Id": "intake:1"}
        first = await until(
            lambda: js.publish("tzcluster.intake.TipRegistered", b"{}", headers=headers)
        )
        again = await js.publish("tzcluster.intake.TipRegistered", b"{}", headers=headers)
        assert (first.seq, again.seq, again.duplicate) == (1, 1, True)

        async def replicated() -> bool:
            info = await js.stream_info("TZCLUSTER_INTAKE")
            peers = info.cluster.replicas if info.cluster else None
            return bool(info.cluster and info.cluster.leader and peers and len(peers) == 2)

        assert await until(replicated)
        assert [cluster.jetstream_config(i)["sync_always"] for i in NATS_NODES] == [True] * 3
        cluster.stop(3)  # two of three remain: still a quorum
        headers = {"Nats-Msg-Id": "intake:2"}
        second = await until(
            lambda: js.publish("tzcluster.intake.TipRegistered", b"{}", headers=headers)
        )
        assert second.seq == 2
    finally:
        await nc.close()


def test_only_our_own_callers_forwarded_for_is_carried_on() -> None:
    """The public TLS server replaces a visitor's X-Forwarded-For with its address; only the
    compose network's own port (the portal and workbench calling for a visitor) carries it."""
    shared = (DEPLOY / "nginx" / "http.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $tz_forwarded_for;" in shared
    assert "$proxy_add_x_forwarded_for" in shared.split("map $tz_trust_forwarded")[1]
    compose = (DEPLOY / "nginx" / "compose.conf").read_text()
    servers = compose.split("server {")[1:]
    public = next(s for s in servers if "listen 8443" in s)
    internal = next(s for s in servers if "listen 8081" in s)
    assert "tz_trust_forwarded" not in public
    assert "set $tz_trust_forwarded 1;" in internal


def test_an_empty_optional_setting_is_an_unset_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose passes ``${TAIZHANG_NOTIFY:-}`` as "" when deploy/.env leaves it out."""
    from shared.platform.settings import Settings

    monkeypatch.setenv("TAIZHANG_NOTIFY", "")
    assert Settings().notify.sms_url is None
    monkeypatch.setenv("TAIZHANG_NOTIFY", '{"digest_hour": 7}')
    assert Settings().notify.digest_hour == 7
    monkeypatch.setenv("TAIZHANG_PORTAL_URL", "")
    assert Settings().portal_url is None


@pytest.mark.parametrize(
    "url",
    [
        "jf.example.gov.cn/portal/",  # no scheme: a phone would not link it
        "https://jf.example.gov.cn/portal/?from=sms",  # a query
        "https://纠风.example.cn/portal/",  # not ASCII: where it ends is unclear in a text
        "https://" + "a" * 60 + ".cn/",  # too long for a text
    ],
)
def test_the_portal_address_told_by_sms_is_short_plain_and_linkable(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    from pydantic import ValidationError

    from shared.platform.settings import Settings

    monkeypatch.setenv("TAIZHANG_PORTAL_URL", "https://jf.example.gov.cn/portal/")
    assert Settings().portal_url == "https://jf.example.gov.cn/portal/"
    monkeypatch.setenv("TAIZHANG_PORTAL_URL", url)
    with pytest.raises(ValidationError, match="portal_url"):
        Settings()
