"""Which deployment a ``taizhang`` command works on (issue 17, point 5).

Run beside a deployment, a command used to fall back silently on the embedded default (new
secrets, a new SQLite file): a token the services refuse, a ``verify`` that crashes on a
missing table. Now a command takes the deployment's settings from ``--env-file`` (the file
``deploy/local/up.sh`` writes, ``run/local/taizhang.env``) or ``TAIZHANG_ENV_FILE``; the
environment still wins over the file. A command pointed at a deployment it cannot reach
refuses to run rather than make an embedded one of its own.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dotenv import dotenv_values

from shared.platform.settings import Settings, postgres_params

LOCAL_ENV_FILE = Path("run/local/taizhang.env")  # where deploy/local/up.sh writes it


class Unreachable(RuntimeError):
    """The deployment named by the settings does not answer."""


def load_env_file(path: Path) -> list[str]:
    """The file's ``TAIZHANG_*`` settings into this process's environment (those already
    set stay); the names taken."""
    if not path.is_file():
        raise Unreachable(f"no env file at {path}")
    taken = []
    for name, value in dotenv_values(path).items():
        if name.startswith("TAIZHANG_") and value is not None and name not in os.environ:
            os.environ[name] = value
            taken.append(name)
    return taken


def unnoticed_deployment() -> Path | None:
    """A local deployment's env file in the working directory that this command does not
    use (so that it can say so instead of working on the embedded default unawares)."""
    if os.environ.get("TAIZHANG_DATABASE_URL") or os.environ.get("TAIZHANG_ENV_FILE"):
        return None
    return LOCAL_ENV_FILE if LOCAL_ENV_FILE.is_file() else None


def check_reachable(settings: Settings, source: str, timeout: float = 3.0) -> None:
    """Refuse a deployment whose database does not answer, naming where it was looked for
    (host and port are configuration, not secrets; the password is never shown)."""
    if settings.database_url is None:
        return
    pg = postgres_params(settings.database_url)
    if pg.host.startswith("/"):
        return  # a Unix socket: the driver says itself what is wrong
    try:
        with socket.create_connection((pg.host, pg.port), timeout=timeout):
            return
    except OSError as e:
        raise Unreachable(
            f"cannot reach the deployment's PostgreSQL at {pg.host}:{pg.port} (settings from "
            f"{source}): {e.strerror or e}; refusing to fall back to the embedded default"
        ) from None
