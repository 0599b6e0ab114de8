"""Helpers for dispatch tests: open a case through intake, act on it as any role."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.api import Api, feedback_taken, problem, stored_notifications
from tests.support.infra import wait_for

# A tip that no seeded routing rule matches: it waits on the office's desk.
UNROUTED = {
    "channel": "conduct_hotline",
    "content": "某局工作人员上班时间玩手机游戏,群众排队无人理会",
}


def add_units(api: Api, *codes: str) -> None:
    for code in codes:
        body = {"code": code, "name": f"测试单位{code}", "kind": "department"}
        r = api.post("/api/v1/units", json=body, headers=api.auth("admin"))
        assert r.status_code in (201, 409), r.text


def open_case(api: Api, **tip: Any) -> str:
    """Register a tip and wait until dispatch has opened its case; returns the case id."""
    r = api.register(**(UNROUTED | tip))
    assert r.status_code == 201, r.text
    case_id: str = r.json()["case_id"]
    wait_for(lambda: view(api, case_id, check=False).status_code == 200, 30, "case opened")
    return case_id


def view(api: Api, case_id: str, check: bool = True, **who: Any) -> Any:
    headers = api.auth(**(who or {"role": "office"}))
    r = api.get(f"/api/v1/cases/{case_id}/dispatch", headers=headers)
    if not check:
        return r
    assert r.status_code == 200, r.text
    return r.json()


def act(
    api: Api, case_id: str, path: str, role: str, unit: str | None = None, **body: Any
) -> httpx.Response:
    headers = api.auth(role, unit=unit)
    return api.post(f"/api/v1/cases/{case_id}/{path}", json=body, headers=headers)


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def case_events(api: Api, case_id: str) -> list[str]:
    return [
        n.topic.rsplit(":", 1)[-1]
        for n in stored_notifications(api.settings, "dispatch")
        if str(n.originator_id) == case_id
    ]


def refused(
    api: Api, case_id: str, status: int, path: str, role: str, unit: str | None = None, **body: Any
) -> dict[str, Any]:
    """Act, expect a problem+json refusal with ``status``, and check that nothing changed."""
    before, events = view(api, case_id), case_events(api, case_id)
    answer = problem(act(api, case_id, path, role, unit, **body), status)
    assert view(api, case_id) == before
    assert case_events(api, case_id) == events
    return answer


def publish_online(api: Api, case_id: str) -> None:
    """网上公示 of an accepted result, sent until tracking's follow-up takes it."""
    body = {"channel": "online_publication", "content": "已整改"}
    feedback_taken(lambda: act(api, case_id, "feedback", "office", **body))
