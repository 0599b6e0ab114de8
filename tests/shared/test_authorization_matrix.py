"""Who sees what, per role and per read path (issue 7): one case led by unit A with co-unit B,
registered by operator 甲; a liaison of unrelated unit C must learn nothing of it — 404 from
every single-case path, absent from every list, export, search and statistic."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest

from tests.support.api import Api
from tests.support.dispatch import add_units, ok
from tests.support.infra import wait_for

A, B, C = "MX-LEAD", "MX-CO", "MX-OTHER"
WORD = "矩阵测试专用关键字"

ROLES: dict[str, dict[str, Any]] = {
    "operator_registrant": {"role": "operator", "name": "话务员甲"},
    "operator_other": {"role": "operator", "name": "话务员乙"},
    "office": {"role": "office", "name": "纠风办"},
    "supervisor": {"role": "supervisor", "name": "纪委"},
    "admin": {"role": "admin", "name": "管理员"},
    "liaison_lead": {"role": "unit_liaison", "name": "联络员A", "unit": A},
    "liaison_co": {"role": "unit_liaison", "name": "联络员B", "unit": B},
    "liaison_other": {"role": "unit_liaison", "name": "联络员C", "unit": C},
    "evaluator": {"role": "evaluator", "name": "人大代表"},
}

# Single-case paths: "see" = 200, else the refusal's status.
SINGLE = {
    #                     tip    case   history  dispatch view
    "operator_registrant": (200, 200, 200, 404),  # dispatch's working view is staff's
    "operator_other": (404, 404, 404, 404),
    "office": (200, 200, 200, 200),
    "supervisor": (200, 200, 200, 200),
    "admin": (403, 200, 200, 200),
    "liaison_lead": (403, 200, 200, 200),
    "liaison_co": (403, 200, 200, 200),
    "liaison_other": (403, 404, 404, 404),
    "evaluator": (403, 404, 404, 404),
}
# Lists: True = the case is listed, False = absent, or the refusal's status.
LISTS = {
    #                     ledger  search  xlsx   unit stats  status stats  audit
    "operator_registrant": (403, 403, 403, 403, 403, 403),
    "operator_other": (403, 403, 403, 403, 403, 403),
    "office": (True, True, True, True, True, 403),
    "supervisor": (True, True, True, True, True, True),
    "admin": (True, True, True, True, True, 403),
    "liaison_lead": (True, True, True, True, True, 403),
    "liaison_co": (True, True, True, False, True, 403),  # unit KPIs are the lead unit's
    "liaison_other": (False, False, False, False, False, 403),
    "evaluator": (403, 403, 403, 403, 403, 403),
}


@pytest.fixture(scope="module")
def api(module_api: Api) -> Api:
    """One case for every role (each role only reads it): a case walked to 已交办 for each of
    eighteen parameters cost most of this module's minute."""
    return module_api


@pytest.fixture(scope="module")
def case(api: Api) -> dict[str, str]:
    add_units(api, A, B, C)
    tip = api.register(name="话务员甲", content=f"{WORD}:某科室推诿扯皮", summary="推诿扯皮")
    case_id, number = tip.json()["case_id"], tip.json()["number"]
    office = api.auth("office", "纠风办")
    wait_for(
        lambda: api.get(f"/api/v1/cases/{case_id}/dispatch", headers=office).status_code == 200,
        30,
        "opened",
    )
    ok(api.post(f"/api/v1/cases/{case_id}/triage", json={"track": "general"}, headers=office))
    ok(
        api.post(
            f"/api/v1/cases/{case_id}/dispatch",
            json={"lead_unit": A, "co_units": [B]},
            headers=office,
        )
    )
    wait_for(
        lambda: (
            (r := api.get(f"/api/v1/cases/{case_id}", headers=office)).status_code == 200
            and r.json()["status"] == "dispatched"
            and WORD in (r.json()["content"] or "")  # intake's part comes on its own stream
        ),
        30,
        "the ledger to show it dispatched",
    )
    return {"id": case_id, "number": number}


@pytest.mark.parametrize("who", list(ROLES))
def test_each_role_sees_exactly_what_it_may(api: Api, case: dict[str, str], who: str) -> None:
    headers = api.auth(**ROLES[who])
    case_id, number = case["id"], case["number"]

    single = [
        api.get(f"/api/v1/tips/{case_id}", headers=headers),
        api.get(f"/api/v1/cases/{case_id}", headers=headers),
        api.get(f"/api/v1/cases/{case_id}/history", headers=headers),
        api.get(f"/api/v1/cases/{case_id}/dispatch", headers=headers),
    ]
    assert tuple(r.status_code for r in single) == SINGLE[who], [r.text[:120] for r in single]

    ledger = api.get("/api/v1/ledger", headers=headers)
    search = api.get("/api/v1/ledger", params={"q": WORD}, headers=headers)
    xlsx = api.get("/api/v1/ledger.xlsx", params={"q": WORD}, headers=headers)
    stats = api.get("/api/v1/stats/units", headers=headers)
    statuses = api.get("/api/v1/stats/statuses", headers=headers)  # the only case: counted?
    audit = api.get("/api/v1/audit", headers=headers)
    seen = (
        _listed(ledger, lambda r: any(i["number"] == number for i in r.json()["items"])),
        _listed(search, lambda r: any(i["number"] == number for i in r.json()["items"])),
        _listed(xlsx, lambda r: number in _cells(r.content)),
        _listed(stats, lambda r: any(u["unit"]["code"] == A for u in r.json()["items"])),
        _listed(statuses, lambda r: any(s["status"] == "dispatched" for s in r.json()["items"])),
        _listed(audit, lambda r: any(case_id == str(e.get("case_id")) for e in r.json()["items"])),
    )
    assert seen == LISTS[who]
    for answer in (*single, ledger, search, stats, statuses, audit):
        if answer.status_code != 200:
            assert answer.headers["content-type"].startswith("application/problem+json")


def _listed(response: Any, contains: Any) -> bool | int:
    return contains(response) if response.status_code == 200 else response.status_code


def _cells(content: bytes) -> str:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
