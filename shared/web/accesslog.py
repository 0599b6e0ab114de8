"""The access log (ADR 18): one line per request with its method, *route template*, status and
the client's network (truncated address: uvicorn has already applied trusted forwarded headers).

Never the path the client sent (a receipt code is a path segment), never its query string (an
Open311 client may put its ``api_key`` and a reporter's name there), never a body or a header.
Uvicorn's own access log is off (``services.cli.run_server``).
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.platform.logpolicy import truncated_address

log = structlog.get_logger("taizhang.access")

UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/public/v1/receipts/{code}``), or a fixed
    word when none did: never what the client sent."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    return scope.get("root_path", "") + template if template.startswith("/") else UNMATCHED


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            log.info(
                "request",
                method=scope["method"],
                route=route_template(scope),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
                client=truncated_address((scope.get("client") or (None, 0))[0]),
            )
