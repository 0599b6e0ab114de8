"""The workbench speaks to the API in-process, with the signed-in person's credential.

Every page goes through the same routes, authorization and row scope as a hotline system
calling over HTTP: a refusal the page shows is the API's own problem+json ``detail``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI, Response

# How long a page waits for the ledger to show what a command just did (read-your-writes);
# past it the page shows the case as the ledger has it so far.
CATCH_UP_SECONDS = 8.0


# A case's commands under /api/v1/cases/{id}/ that tracking answers (the rest are dispatch's):
# whose log a command's ``position`` counts in.
TRACKING_COMMANDS = ("feedback", "evaluations", "second-pass", "close-out", "accountability")


def source_of(path: str) -> str:
    """The service whose log a case command's event lands in."""
    after = path.split("/cases/", 1)[-1].split("/", 1)[-1]
    return "tracking" if after.startswith(TRACKING_COMMANDS) else "dispatch"


# What a handed-on file keeps of the API's answer.
DOCUMENT_HEADERS = (
    "content-type",
    "content-disposition",
    "x-content-type-options",
    "cache-control",
)


class ApiRefusal(Exception):
    """The API said no: its status and the message an operator can act on."""

    def __init__(self, status: int, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = body or {}

    @classmethod
    def of(cls, response: httpx.Response) -> ApiRefusal:
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, str) or not detail:
            detail = f"请求未成功 (HTTP {response.status_code})"
        return cls(response.status_code, detail, body if isinstance(body, dict) else {})


class Api:
    """One person's view of the API, for one page request."""

    def __init__(self, app: FastAPI, credential: str, api_url: str | None = None) -> None:
        headers = (
            {"X-API-Key": credential}
            if credential.startswith("tzk_")
            else {"Authorization": f"Bearer {credential}"}
        )
        # In-process unless the services run apart (then through the proxy that joins them).
        transport = None if api_url else httpx.ASGITransport(app=app)
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=api_url or "http://workbench.internal",
            headers=headers | {"Accept-Language": "zh-CN"},  # refusals in Chinese only
            timeout=60,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await self._http.get(path, params=_present(params or {}))
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        return response.json()

    async def raw(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        return await self._http.get(path, params=_present(params or {}))

    async def found(self, path: str) -> Any:
        """Like :meth:`get`, but None where the API knows no such thing (404)."""
        response = await self._http.get(path)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        return response.json()

    async def document(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """A file the API produced (a document, an export, an attachment), handed on as it
        came with the headers that describe it, under this person's credential."""
        response = await self.raw(path, params)
        if response.status_code != 200:
            raise ApiRefusal.of(response)
        headers = {k: v for k, v in response.headers.items() if k.lower() in DOCUMENT_HEADERS}
        return Response(content=response.content, headers=headers)

    async def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        return response.json() if response.content else {}

    async def upload(self, path: str, file: tuple[str, bytes, str], fields: dict[str, str]) -> Any:
        """A multipart upload (an attachment), answered like :meth:`send`."""
        response = await self._http.post(path, files={"file": file}, data=fields)
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        return response.json()

    async def register(
        self, tip: dict[str, Any], files: list[tuple[str, bytes, str]] | None = None
    ) -> tuple[dict[str, Any], int | None]:
        """登记 — with the tip's evidence in the same request when there are files (multipart:
        the tip's JSON and files) — and where intake's log holds it (None: not said)."""
        if files:
            response = await self._http.post(
                "/api/v1/tips/with-attachments",
                data={"tip": json.dumps(tip, ensure_ascii=False)},
                files=[("files", f) for f in files],
            )
        else:
            response = await self._http.post("/api/v1/tips", json=tip)
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        position = response.headers.get("Taizhang-Log-Position", "")
        return response.json(), int(position) if position.isdigit() else None

    async def mark(self) -> dict[str, int]:
        """How far the ledger has read each service's events, before a command: the cheap,
        unaudited ``/ledger/positions`` (a case's history is audited, ADR 26)."""
        found = await self.raw("/api/v1/ledger/positions")
        return dict(found.json()) if found.status_code == 200 else {}

    async def wait_for_position(
        self, mark: dict[str, int], answer: Any, source: str = "dispatch"
    ) -> None:
        """Until the ledger has read the command's event — so the page after it shows its
        effect. A command answers with the ``position`` of its service's log; an answer
        without one is waited for until the ledger reads anything more of ``source``."""
        position = answer.get("position") if isinstance(answer, dict) else None
        target = int(position) if isinstance(position, int) else mark.get(source, 0) + 1

        async def caught_up() -> bool:
            found = await self.raw("/api/v1/ledger/positions")
            if found.status_code != 200:
                return True  # cannot tell: go on
            # a fresh ledger that has read nothing yet answers {}: wait on
            return int(found.json().get(source, 0)) >= target

        await _until(caught_up)

    async def wait_for_registration(
        self, case_id: str, mark: dict[str, int], position: int | None = None
    ) -> None:
        """Until the ledger shows a new tip's registration (its number and time). Given where
        intake's log holds it, the unaudited positions are polled until the ledger has read
        that far — no look at the case, which nobody saw yet. Without (a replay), the case
        is read (an audited view) only when the ledger has read more of intake's log since
        the last look."""
        if position is not None:
            await self.wait_for_position(mark, {"position": position}, source="intake")
            return
        seen = mark.get("intake", 0)

        async def registered() -> bool:
            nonlocal seen
            positions = await self.mark()
            reached = positions.get("intake", 0)
            if positions and reached <= seen:
                return False
            seen = reached
            return bool((await self.get(f"/api/v1/cases/{case_id}")).get("registered_at"))

        await _until(registered)


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll, bounded: past the bound the page shows what the ledger has so far."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while time.monotonic() < deadline:
        try:
            if await condition():
                return
        except ApiRefusal as refusal:
            if refusal.status != 404:  # 404: not projected yet
                return
        await asyncio.sleep(0.1)


def _present(params: dict[str, Any]) -> dict[str, Any]:
    """Blank filters are no filters."""
    return {k: v for k, v in params.items() if v not in (None, "")}
