"""The ``taizhang`` command as a newcomer uses it: serve, token, apikey — one data directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.infra import free_port, wait_for

TAIZHANG = str(Path(sys.executable).parent / "taizhang")
TIP = {"channel": "district_hotline", "content": "小区垃圾清运不及时"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TAIZHANG, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    return clean | {"TAIZHANG_DATA_DIR": str(tmp_path / "data"), "TAIZHANG_PORT": str(free_port())}


class Served:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['TAIZHANG_PORT']}"
        self.proc = subprocess.Popen(
            [TAIZHANG, "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def wait_ready(self) -> None:
        def up() -> bool:
            assert self.proc.poll() is None, self.stop()
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "taizhang serve to answer /healthz", interval=0.2)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=30)
        self.output += out or ""
        return self.output


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[Served]:
    server = Served(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_serve_answers_health_and_prints_the_docs_url(served: Served) -> None:
    assert httpx.get(f"{served.url}/readyz").json()["status"] == "ready"
    assert httpx.get(f"{served.url}/docs").status_code == 200
    output = served.stop()
    assert f"{served.url}/docs" in output
    # Its output goes to a pipe (a log file in deploy/local): no token, only how to get one.
    assert "admin token" not in output and "taizhang token --role admin" in output
    assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", output)


def test_a_printed_token_is_accepted_by_the_server_on_the_same_data_dir(
    served: Served, env: dict[str, str]
) -> None:
    printed = run(env, "token", "--role", "operator", "--name", "话务员丙")
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert printed.stdout == token + "\n"  # only the secret, so scripts can capture it
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", token)
    r = httpx.post(
        f"{served.url}/api/v1/tips", json=TIP, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text


def test_a_created_api_key_works_until_revoked(served: Served, env: dict[str, str]) -> None:
    created = run(env, "apikey", "create", "--role", "operator", "--name", "区长专线系统")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and key.startswith("tzk_")
    r = httpx.post(f"{served.url}/api/v1/tips", json=TIP, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    listed = run(env, "apikey", "list")
    assert "区长专线系统" in listed.stdout and key not in listed.stdout
    assert run(env, "apikey", "revoke", key.split("_")[1]).returncode == 0
    assert "revoked" in run(env, "apikey", "list").stdout
    # Each request made with a key is logged with the key's name (never the key itself).
    logged = [line for line in served.stop().splitlines() if "api_key_request" in line]
    assert logged and "区长专线系统" in logged[0] and "/api/v1/tips" in logged[0]
    assert key not in served.output


def test_an_evaluator_key_names_its_kind_and_rates_as_it(
    served: Served, env: dict[str, str]
) -> None:
    """ADR 20: the kind is the credential's — a key's too."""
    refused = run(env, "token", "--role", "evaluator", "--name", "代表")
    assert refused.returncode != 0 and "--kind" in refused.stderr
    created = run(
        env,
        "apikey",
        "create",
        "--role",
        "evaluator",
        "--name",
        "政协委员王某",
        "--kind",
        "cppcc_member",
    )
    assert created.returncode == 0, created.stderr
    headers = {"X-API-Key": created.stdout.strip()}
    r = httpx.get(f"{served.url}/api/v1/evaluations/worklist", headers=headers)
    assert r.status_code == 200, r.text
    assert (r.json()["evaluator_kind"], r.json()["evaluator_label"]) == ("cppcc_member", "政协委员")


def test_a_liaison_token_needs_a_unit(env: dict[str, str]) -> None:
    refused = run(env, "token", "--role", "unit_liaison", "--name", "联络员")
    assert refused.returncode != 0
    assert "--unit" in refused.stderr


def test_production_mode_refuses_to_start_without_its_own_secrets(env: dict[str, str]) -> None:
    prod = env | {"TAIZHANG_ENVIRONMENT": "production"}
    refused = run(prod, "serve")
    assert refused.returncode == 2
    assert "TAIZHANG_RECEIPT_SECRET" in refused.stderr
    weak = prod | {
        "TAIZHANG_JWT_SECRET": "changeme",
        "TAIZHANG_RECEIPT_SECRET": "x" * 40,
        "TAIZHANG_REPORTER_KEYS": "k1:" + "A" * 43 + "=",
    }
    refused = run(weak, "serve")
    assert refused.returncode == 2
    assert "JWT_SECRET" in refused.stderr
    assert not (Path(env["TAIZHANG_DATA_DIR"]) / "secrets.json").exists()


def test_a_relay_apart_is_refused_on_the_embedded_default_which_has_no_broker(
    env: dict[str, str],
) -> None:
    """ADR 48: apart, a relay publishes to NATS and keeps its record in PostgreSQL."""
    relay = run(env, "relay", "run", "intake")
    assert relay.returncode == 2
    assert "needs TAIZHANG_NATS_URL and PostgreSQL" in relay.stderr
