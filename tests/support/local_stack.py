"""``deploy/local/up.sh`` and ``down.sh`` driven from a test: a private run directory, free
ports, a private schema and NATS namespace, so the copy shares nothing but the machine's
PostgreSQL and NATS servers with anyone else."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.api import EVALUATOR_KIND
from tests.support.deployment import TAIZHANG
from tests.support.infra import ensure_debian_package, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
UP = REPO / "deploy" / "local" / "up.sh"
DOWN = REPO / "deploy" / "local" / "down.sh"
SERVICES = ("intake", "dispatch", "tracking", "notify", "insight", "portal")
RELAYS_APART = ("intake-relay",)  # up.sh's default TAIZHANG_LOCAL_RELAYS_APART (ADR 48)


def nginx_binary() -> str | None:
    return ensure_debian_package("nginx", "nginx-light", "nginx")


@dataclass
class LocalStack:
    run_dir: Path
    pg_url: str
    schema: str
    nats_url: str
    namespace: str
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    relay_port: int = field(default_factory=free_port)  # intake's relay apart: its health
    base_url: str = ""
    # The SMS gateway's secret (ADR 49): the stack takes replies, so the webhook can be walked.
    sms_reply_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    stopped: subprocess.CompletedProcess[str] | None = None
    tokens: dict[tuple[str, str, str | None], dict[str, str]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
        return clean | {
            "TAIZHANG_LOCAL_RUN_DIR": str(self.run_dir),
            "TAIZHANG_LOCAL_PORT": str(self.port),
            "TAIZHANG_LOCAL_TLS_PORT": str(self.tls_port),
            **{f"TAIZHANG_LOCAL_{s.upper()}_PORT": str(p) for s, p in self.ports.items()},
            "TAIZHANG_LOCAL_INTAKE_RELAY_PORT": str(self.relay_port),
            "TAIZHANG_BIN": TAIZHANG,
            "TAIZHANG_DATABASE_URL": self.pg_url,
            "TAIZHANG_DATABASE_SCHEMA": self.schema,
            "TAIZHANG_NATS_URL": self.nats_url,
            "TAIZHANG_NATS_NAMESPACE": self.namespace,
            "TAIZHANG_SMS_REPLY_SECRET": self.sms_reply_secret,
            "TAIZHANG_CLOCK_FILE": os.environ[
                "TAIZHANG_CLOCK_FILE"
            ],  # pinned (tests/support/pinned.py)
        }

    def run(self, script: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(script)], env=self.env, capture_output=True, text=True, timeout=180
        )

    def up(self) -> str:
        result = self.run(UP)
        assert result.returncode == 0, f"up.sh failed:\n{result.stderr}"
        self.base_url = result.stdout.strip()
        return self.base_url

    def down(self) -> subprocess.CompletedProcess[str]:
        """Run down.sh once; later calls return the first result."""
        if self.stopped is None:
            self.stopped = self.run(DOWN)
        return self.stopped

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text().strip())

    def token(self, role: str, name: str = "测试用户", unit: str | None = None) -> dict[str, str]:
        """A token printed by ``taizhang token`` with the settings up.sh wrote for the
        commands beside it (``--env-file``), and nothing else; one per person (the command
        takes seconds to start)."""
        if (role, name, unit) in self.tokens:
            return self.tokens[role, name, unit]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
        env_file = str(self.run_dir / "taizhang.env")
        result = subprocess.run(
            [TAIZHANG, "--env-file", env_file, "token", "--role", role, "--name", name]
            + (["--unit", unit] if unit else []),
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.tokens[role, name, unit] = {"Authorization": f"Bearer {result.stdout.strip()}"}
        return self.tokens[role, name, unit]

    def access_log(self, request_id: str) -> dict[str, Any]:
        """nginx's access-log line of one request (written just after the answer)."""

        def find() -> dict[str, Any] | None:
            path = self.run_dir / "access.log"
            for line in path.read_text().splitlines() if path.exists() else []:
                entry: dict[str, Any] = json.loads(line)
                if entry["request_id"] == request_id:
                    return entry
            return None

        return wait_for(find, 10, f"access log line of {request_id}")

    def auth(self, role: str, name: str = "测试用户", unit: str | None = None) -> dict[str, str]:
        """A token signed in this process with the secrets up.sh's services share (the data
        directory's development secrets): :meth:`token` without a command's start-up."""
        secrets = load_secrets(Settings(data_dir=self.data_dir))
        token = issue_token(
            secrets, role=Role(role), name=name, unit=unit, kind=EVALUATOR_KIND.get(role)
        )
        return {"Authorization": f"Bearer {token}"}

    def access_log_entries(self, request_ids: list[str]) -> dict[str, dict[str, Any]]:
        """nginx's access-log lines of many requests, by request id (once all are written)."""

        def find() -> dict[str, dict[str, Any]] | None:
            path = self.run_dir / "access.log"
            lines = path.read_text().splitlines() if path.exists() else []
            entries = {e["request_id"]: e for e in map(json.loads, lines)}
            return entries if all(i in entries for i in request_ids) else None

        return wait_for(find, 10, f"access log lines of {len(request_ids)} requests")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.run_dir.glob("*.log"))
        )


def process_gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet (it holds nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"


def processes_serving(port: int) -> list[str]:
    """Command lines of live processes started with ``--port <port>``."""
    out = subprocess.run(["ps", "-ww", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    return [
        line
        for line in out.splitlines()
        if not line.lstrip().startswith("Z") and f"--port {port}" in line
    ]


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]
