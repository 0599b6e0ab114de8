"""HTTP edge shared by every service: body limits, security headers, infrastructure errors."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.platform.blobs import BlobStoreUnavailable
from shared.web.problems import PROBLEM_JSON, Problem, problem_response
from shared.web.reads import ReadNotRecorded

RETRY_AFTER_SECONDS = 5


# Room for a multipart upload's boundaries and part headers beside the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# The paths whose bodies are uploads: a case's attachments, a tip with its files, an Open311
# request with its photos (ADR 22).
UPLOAD_PATHS = (
    "/attachments",
    "/api/v1/tips/with-attachments",
    "/open311/v2/requests.xml",
    "/open311/v2/requests.json",
    "/ui/intake",  # the workbench's 登记 form, with the tip's files
)


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413 before they are read whole; an upload (a path
    ending in one of :data:`UPLOAD_PATHS`) may carry up to ``upload_bytes`` plus its multipart
    framing."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    # Answer now; the app sees a client that went away and stops reading.
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _limit(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        if self.upload_bytes is not None and path.rstrip("/").endswith(UPLOAD_PATHS):
            return max(self.max_bytes, self.upload_bytes + MULTIPART_OVERHEAD_BYTES)
        return self.max_bytes

    async def _refuse(self, send: Send, limit: int) -> None:
        body = Problem(
            413,
            "Content Too Large",
            f"请求体超过 {limit} 字节上限 (request body over {limit} bytes)",
        ).body()
        payload = json.dumps(body, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def unavailable(detail: str, code: str | None = None) -> Problem:
    return Problem(
        503,
        "Service Unavailable",
        detail,
        code=code,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


# What a database that is down, restarting or out of connections raises, whichever driver.
STORE_DOWN: tuple[type[Exception], ...] = (
    ConnectionError,  # asyncpg lets a refused connect through unwrapped
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg_pool.PoolTimeout,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
)


# SQLSTATE classes of a database that cannot serve now: 08 connection exception, 53 insufficient
# resources ("too many clients"), 57P01–57P03 shut down or starting up. asyncpg's errors reach
# us as SQLAlchemy's plain DBAPIError (only some of its classes are translated), so a full
# server answered 500 where it meant "retry later" — seen in a test run on a shared server.
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def store_unavailable(exc: BaseException) -> bool:
    """A driver error carrying one of :data:`UNAVAILABLE_SQLSTATES`."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(UNAVAILABLE_SQLSTATES)


def store_down() -> Problem:
    return unavailable("数据库暂不可用,请稍后重试 (database unavailable, retry later)")


def attachments_down() -> Problem:
    """The attachment store (a directory or a bucket, ADR 39) did not keep or give a file;
    every service that reaches it answers alike. Files are kept before the event that names
    them, so nothing was registered: the same request may be sent again."""
    return unavailable(
        "附件存储暂不可用,请稍后重试 (attachment store unavailable, retry later)",
        code="attachment_store_unavailable",
    )


def audit_unwritten() -> Problem:
    """An export whose audit row could not be committed (ADR 26): nothing was served."""
    return unavailable(
        "访问记录暂时无法写入,本次导出未提供数据,请稍后重试 "
        "(the read audit could not be written; nothing was exported, retry later)",
        code="read_audit_unavailable",
    )


def install_infrastructure_handlers(app: FastAPI) -> None:
    """A database or an attachment store that is down or slow is a 503 with Retry-After,
    never a 500 or a hang."""

    async def on_store_down(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(store_down(), request.url.path, request)

    async def on_attachments_down(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(attachments_down(), request.url.path, request)

    async def on_audit_unwritten(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(audit_unwritten(), request.url.path, request)

    async def on_timeout(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(
            unavailable(
                "处理超时,请用同一 Idempotency-Key 重试 (timed out; retry with the same key)"
            ),
            request.url.path,
            request,
        )

    async def on_bad_value(request: Request, exc: Exception) -> JSONResponse:
        # SQLSTATE class 22 (NUL byte, number out of range …) slipped past validation.
        return problem_response(
            Problem(
                422,
                "Invalid request",
                "请求中含有数据库无法保存的值 (unstorable value)",
                code="unstorable_value",
            ),
            request.url.path,
            request,
        )

    async def on_driver_error(request: Request, exc: Exception) -> JSONResponse:
        if store_unavailable(exc):
            return await on_store_down(request, exc)
        raise exc  # anything else stays the 500 it was (and is logged as one)

    handlers: list[tuple[Any, Any]] = [
        *((exc_class, on_store_down) for exc_class in STORE_DOWN),
        (sa_exc.DBAPIError, on_driver_error),
        (TimeoutError, on_timeout),
        (sa_exc.DataError, on_bad_value),
        (BlobStoreUnavailable, on_attachments_down),
        (ReadNotRecorded, on_audit_unwritten),
    ]
    for exc_class, handler in handlers:
        app.add_exception_handler(exc_class, handler)
