"""A workbench session without a browser: cookies, the CSRF token of the last page, forms."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support.api import Api
from tests.support.infra import wait_for

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
LEAD, OTHER = "WC-JYQ", "WC-YY"  # two seeded street offices


class Workbench(httpx.Client):
    """One person at the workbench; ``csrf`` is the token the last page's forms carried."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url=base_url, timeout=60, follow_redirects=True)
        self.csrf = ""

    def page(self, path: str, **params: Any) -> httpx.Response:
        response = self.get(path, params=params)
        self._remember(response)
        return response

    def submit(self, path: str, **fields: Any) -> httpx.Response:
        response = self.post(path, data={"csrf": self.csrf, **fields})
        self._remember(response)
        return response

    def sign_in(self, credential: str) -> httpx.Response:
        self.page("/ui/login")
        return self.submit("/ui/login", credential=credential, next="/ui/ledger")

    def _remember(self, response: httpx.Response) -> None:
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1)


def case_in_ledger(api: Api, case_id: str, status: str) -> dict[str, Any]:
    """Wait until the ledger shows the case in ``status``."""

    def reached() -> dict[str, Any] | None:
        r = api.get(f"/api/v1/cases/{case_id}", headers=api.auth("office"))
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None

    found: dict[str, Any] = wait_for(reached, 30, f"the ledger to show {status}", interval=0.1)
    return found


def dispatched_case(api: Api, lead: str = LEAD) -> str:
    """A tip the office triaged and dispatched to ``lead``, as the ledger shows it."""
    tip = api.register(
        channel="conduct_hotline",
        content="某局工作人员上班时间玩手机游戏,群众排队无人理会",
        summary="窗口人员玩手机",
    )
    assert tip.status_code == 201, tip.text
    case_id: str = tip.json()["case_id"]
    case_in_ledger(api, case_id, "registered")
    office = api.auth("office", "办公室乙")

    def triaged() -> httpx.Response | None:
        # The ledger and dispatch follow intake's stream apart: the ledger can show the case
        # registered before dispatch has opened it, and until then triage answers 404.
        r = api.post(f"/api/v1/cases/{case_id}/triage", json={"track": "general"}, headers=office)
        return None if r.status_code == 404 else r

    r = wait_for(triaged, 30, "dispatch to take the tip")
    assert r.status_code == 200, r.text
    body = {"lead_unit": lead, "co_units": []}
    r = api.post(f"/api/v1/cases/{case_id}/dispatch", json=body, headers=office)
    assert r.status_code == 200, r.text
    case_in_ledger(api, case_id, "dispatched")
    return case_id
