"""CPU a request of the HTTP ceiling's app and the services' HTTP stack, in-process (issue 24).

    .venv/bin/python -m bench.asgi_cpu [--requests 2000] [--runs 5]

Both ASGI apps are called directly, one tip ``POST`` after the other — no sockets, no uvicorn,
no wrk — so what is left is the apps' own CPU, measured with ``time.process_time`` over
``--requests`` requests, alternately, ``--runs`` times each; the minimum is the figure, as a
ratio to the ceiling's in the same run. The access log goes to /dev/null. To compare two
checkouts run it in each (``PYTHONPATH=DIR``), one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from typing import Any

TIP = {
    "channel": "hotline_12388",
    "content": "某街道办事处违规收取办证费用,群众多次反映未果",
    "external_ref": "asgi-1",
    "summary": "违规收费",
    "category": "乱收费",
    "location": {"district": "江岸区", "street": "中南路街道", "address": "中南路1号"},
    "subject": {"unit": "某街道办事处"},
    "reporter": {"anonymous": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asgi_cpu", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("TAIZHANG_DATA_DIR", tempfile.mkdtemp(prefix="tz-asgi-"))
    from bench.ceiling import app as ceiling
    from bench.stack_ceiling import app as stack
    from shared.platform.settings import Settings, load_secrets
    from shared.web.auth import Role, issue_token

    token = issue_token(load_secrets(Settings()), role=Role.OPERATOR, name="压测话务员")
    apps = {"(e) ceiling's app": ceiling, "(s) services' HTTP stack": stack(False)}
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the access log, for the whole run)
    best = asyncio.run(measure(apps, token, args.requests, args.runs))
    ceiling_us = best["(e) ceiling's app"]
    for name, us in best.items():
        print(
            f"{name}: {us:.0f} µs a request = {us / ceiling_us:.2f} × the ceiling's",
            file=sys.stderr,
        )


async def measure(apps: dict[str, Any], token: str, n: int, runs: int) -> dict[str, float]:
    body = json.dumps(TIP, ensure_ascii=False).encode()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"authorization", b"Bearer " + token.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    best = dict.fromkeys(apps, float("inf"))
    async with contextlib.AsyncExitStack() as lifespans:
        for app in apps.values():
            await lifespans.enter_async_context(app.router.lifespan_context(app))
            await _requests(app, headers, body, 300)  # warm
        for _ in range(runs):
            for name, app in apps.items():
                started = time.process_time()
                await _requests(app, headers, body, n)
                best[name] = min(best[name], (time.process_time() - started) / n * 1e6)
    return best


async def _requests(app: Any, headers: list[tuple[bytes, bytes]], body: bytes, n: int) -> None:
    for _ in range(n):
        status = await _one(app, headers, body)
        if status != 201:
            raise RuntimeError(f"the tip was answered {status}")


async def _one(app: Any, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/tips",
        "raw_path": b"/api/v1/tips",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    messages = [{"type": "http.disconnect"}, {"type": "http.request", "body": body}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if len(messages) > 1 else messages[0]

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


if __name__ == "__main__":
    main()
