"""The load generator: wrk with ``bench/tips.lua`` (realistic tips, optional pacing).

wrk is a C event loop, so on this small machine the client costs a fraction of what a
Python client would, and its latency histogram is its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "tips.lua"


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int  # socket errors, timeouts and answers ≥ 400
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: float = 0.0  # the server's CPU time per request, when the caller measured it
    relay_cpu_ms: float = 0.0  # its relay's, when that runs apart (ADR 48)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.requests - self.errors


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(
            "wrk is not installed: run `apt-get install -y wrk` (Debian/Ubuntu, as root) "
            "or `brew install wrk`, then run the bench again"
        )
    return found


def ensure_wrk() -> str:
    """wrk, installed from Debian's packages when missing and we are root."""
    try:
        return wrk_binary()
    except WrkMissing:
        if shutil.which("apt-get") is None or not _is_root():
            raise
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    return wrk_binary()


def _is_root() -> bool:
    return os.geteuid() == 0


def post_tips(
    url: str,
    token: str,
    *,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    rate: float = 0.0,
    tag: str | None = None,
) -> LoadResult:
    """POST tips to ``url`` for ``seconds`` with ``connections`` open; paced when ``rate``."""
    threads = min(threads, connections)
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "15s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        token,
        f"{rate:.3f}",
        tag or uuid.uuid4().hex[:8],
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return _parse(done.stdout)


def _parse(output: str) -> LoadResult:
    line = next(
        (line for line in reversed(output.splitlines()) if line.startswith("{")),
        None,
    )
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    raw = json.loads(line)
    errors = sum(
        raw[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=errors,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )
