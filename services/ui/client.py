"""The workbench speaks to the API in-process, with the signed-in person's credential.

Every page goes through the same routes, authorization and row scope as a hotline system
calling over HTTP: a refusal the page shows is the API's own problem+json ``detail``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

# How long a page waits for the ledger to show what a command just did (read-your-writes);
# past it the page shows the case as the ledger has it so far.
CATCH_UP_SECONDS = 8.0


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
            headers=headers,
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

    async def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise ApiRefusal.of(response)
        return response.json() if response.content else {}

    async def history_length(self, case_id: str) -> int:
        return len((await self.get(f"/api/v1/cases/{case_id}/history"))["items"])

    async def wait_for_ledger(self, case_id: str, past_events: int) -> None:
        """Until the ledger holds more than ``past_events`` events of the case — so the page
        after a command shows its effect."""

        async def caught_up() -> bool:
            return await self.history_length(case_id) > past_events

        await _until(caught_up)

    async def wait_for_registration(self, case_id: str) -> None:
        """Until the ledger shows a new tip's registration (its number and time)."""

        async def registered() -> bool:
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
