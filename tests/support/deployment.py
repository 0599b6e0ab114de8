"""The three services as separate processes on PostgreSQL + NATS, for integration and fault
tests. Every process is started by ``taizhang serve <service>`` exactly as in production, and
every process is stopped when the test ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.api import EVALUATOR_KIND
from tests.support.infra import free_port, wait_for
from tests.support.pinned import pinned_clock

TAIZHANG = str(Path(sys.executable).parent / "taizhang")


class ServiceProcess:
    def __init__(
        self, service: str, env: dict[str, str], log_dir: Path, port: int, relay: bool = False
    ) -> None:
        """``relay``: the service's relay apart (``taizhang relay run``, ADR 48)."""
        self.service = service
        self.env = env
        self.port = port
        self.relay = relay
        self.log_path = log_dir / f"{service}{'-relay' if relay else ''}-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.command = [TAIZHANG, "relay", "run"] if relay else [TAIZHANG, "serve"]
        self.command += [service, "--port", str(port)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        def healthy() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.service} exited:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        # Two minutes: processes started together take the setup lock in turn (migrations), and
        # on CI's slower machine under load one bench's tracking once passed a minute.
        wait_for(healthy, 120, f"{self.service} to start", interval=0.1)

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no drain."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Deployment:
    """PostgreSQL schema + NATS namespace of this test's own, and its service processes."""

    def __init__(self, pg_url: str, schema: str, nats_url: str, data_dir: Path) -> None:
        self.namespace = f"t{uuid.uuid4().hex[:10]}"
        self.nats_url = nats_url
        self.settings = Settings(
            data_dir=data_dir,
            database_url=pg_url,
            database_schema=schema,
            nats_url=nats_url,
            nats_namespace=self.namespace,
            clock_file=pinned_clock(data_dir.with_name(f"{data_dir.name}-clock")),
        )
        self.secrets = load_secrets(self.settings)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
        self.env = clean | {
            "TAIZHANG_DATA_DIR": str(data_dir),
            "TAIZHANG_DATABASE_URL": pg_url,
            "TAIZHANG_DATABASE_SCHEMA": schema,
            "TAIZHANG_NATS_URL": nats_url,
            "TAIZHANG_NATS_NAMESPACE": self.namespace,
            "TAIZHANG_CLOCK_FILE": str(self.settings.clock_file),
            # A killed consumer's unacknowledged batch comes back after this long.
            "TAIZHANG_NATS_ACK_WAIT_SECONDS": "3",
        }
        self.log_dir = data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: list[ServiceProcess] = []

    def start(self, service: str, wait: bool = True, **env: str) -> ServiceProcess:
        process = ServiceProcess(service, self.env | env, self.log_dir, free_port())
        self.processes.append(process)
        return process.start(wait)

    def start_relay(self, service: str, wait: bool = True, **env: str) -> ServiceProcess:
        """``service``'s relay in a process of its own (ADR 48)."""
        process = ServiceProcess(service, self.env | env, self.log_dir, free_port(), relay=True)
        self.processes.append(process)
        return process.start(wait)

    def auth(self, role: str, name: str = "测试用户", unit: str | None = None) -> dict[str, str]:
        token = issue_token(
            self.secrets, role=Role(role), name=name, unit=unit, kind=EVALUATOR_KIND.get(role)
        )
        return {"Authorization": f"Bearer {token}"}

    def first(self, service: str) -> ServiceProcess:
        return next(
            p for p in self.processes if p.service == service and not p.relay and p.proc is not None
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.service}:{p.port}\n{p.log()[-4000:]}" for p in self.processes)

    def close(self) -> None:
        for process in self.processes:
            process.kill()
        asyncio.run(delete_streams(self.nats_url, self.namespace))


async def delete_streams(nats_url: str, namespace: str) -> None:
    import nats

    try:
        nc = await nats.connect(nats_url, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:
        return
    try:
        js = nc.jetstream()
        prefix = f"{namespace}_".upper()
        names = {f"{prefix}{source}".upper() for source in ("intake", "dispatch", "tracking")}
        with contextlib.suppress(Exception):  # and any other source's (every relay makes one)
            names |= {i.config.name for i in await js.streams_info() if i.config.name}
        for name in sorted(n for n in names if n.startswith(prefix)):
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await nc.close()


async def delete_consumer(nats_url: str, namespace: str, source: str, durable: str) -> None:
    import nats

    nc = await nats.connect(nats_url, connect_timeout=2)
    try:
        await nc.jetstream().delete_consumer(f"{namespace}_{source}".upper(), durable)
    finally:
        await nc.close()


def ledger(deployment: Deployment, tracking_url: str) -> list[dict[str, Any]]:
    """Every row of the ledger, page by page."""
    items: list[dict[str, Any]] = []
    for page in range(1, 1000):
        r = httpx.get(
            f"{tracking_url}/api/v1/ledger",
            params={"page": page, "page_size": 200},
            headers=deployment.auth("office"),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        page_items = r.json()["items"]
        items += page_items
        if len(page_items) < 200:  # the last page; ``total`` stops counting at a limit
            break
    return items
