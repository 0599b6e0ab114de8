"""The problem+json bodies of representative refusals, word for word as recorded in
``tests/system/data/refusals.json`` (taken before the architecture move of issue 23): a refusal's
status, title, detail, code and extra members are part of the API and move with no layout.

``TAIZHANG_RECORD_REFUSALS=1`` writes the file again from what the server answers now."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import UNROUTED, add_units
from tests.support.infra import ServerThread, wait_for

RECORDED = Path(__file__).parent / "data" / "refusals.json"
NOBODY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from services.app import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("refusals"), api_key_cache_seconds=0)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def _answer(r: httpx.Response, case_id: str | None) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    text = r.text.replace(case_id, "{case_id}") if case_id else r.text
    return {"status": r.status_code, "body": json.loads(text)}


def refusals(api: Api) -> dict[str, dict[str, Any]]:
    office, operator = api.auth("office"), api.auth("operator", "话务员甲")
    tip = api.register(**UNROUTED)
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    case = f"/api/v1/cases/{case_id}"
    wait_for(lambda: api.get(f"{case}/dispatch", headers=office).status_code == 200, 30, "open")
    # tracking's follow-up exists once it has CaseOpened: before that feedback answers 404
    feedback = {"channel": "direct_reply", "content": "已电话告知举报人"}
    wait_for(
        lambda: api.post(f"{case}/feedback", json=feedback, headers=office).status_code != 404,
        30,
        "follow-up started",
    )
    add_units(api, "R01")
    keyed = operator | {"Idempotency-Key": "refusal-snapshot"}
    api.post("/api/v1/tips", json=UNROUTED, headers=keyed)
    accountability = {
        "target_kind": "person",
        "name": "某科长",
        "measures": ["admonishment_talk"],
        "exempted": True,
    }
    calls: dict[str, tuple[httpx.Response, str | None]] = {
        "no_token": (api.get("/api/v1/ledger"), None),
        "bad_token": (api.get("/api/v1/ledger", headers={"Authorization": "Bearer x"}), None),
        "role_may_not": (
            api.post(f"{case}/triage", json={"track": "general"}, headers=operator),
            case_id,
        ),
        "validation": (api.post("/api/v1/tips", json={"channel": "nope"}, headers=operator), None),
        "malformed_json": (
            api.post(
                "/api/v1/tips",
                content=b"{",
                headers=operator | {"Content-Type": "application/json"},
            ),
            None,
        ),
        "tip_not_found": (api.get(f"/api/v1/tips/{NOBODY}", headers=office), None),
        "case_not_found": (api.get(f"/api/v1/cases/{NOBODY}", headers=office), None),
        "dispatch_case_not_found": (
            api.get(f"/api/v1/cases/{NOBODY}/dispatch", headers=office),
            None,
        ),
        "intake_idempotency_conflict": (
            api.post("/api/v1/tips", json=UNROUTED | {"content": "另一件事"}, headers=keyed),
            None,
        ),
        "dispatch_invalid": (
            api.post(f"{case}/dispatch", json={"lead_unit": "ZZ9"}, headers=office),
            case_id,
        ),
        "dispatch_overrule_wrong_state": (
            api.post(f"{case}/overrule-return", json={"reason": "理由"}, headers=office),
            case_id,
        ),
        "dispatch_unit_exists": (
            api.post(
                "/api/v1/units",
                json={"code": "R01", "name": "测试单位R01", "kind": "department"},
                headers=api.auth("admin"),
            ),
            None,
        ),
        "dispatch_no_such_unit": (
            api.put(
                "/api/v1/units/ZZ9",
                json={"name": "无", "kind": "department"},
                headers=api.auth("admin"),
            ),
            None,
        ),
        "liaison_other_unit": (
            api.get(f"{case}/dispatch", headers=api.auth("unit_liaison", unit="R01")),
            case_id,
        ),
        "tracking_feedback_not_accepted": (
            api.post(f"{case}/feedback", json=feedback, headers=office),
            case_id,
        ),
        "tracking_accountability_invalid": (
            api.post(f"{case}/accountability", json=accountability, headers=office),
            case_id,
        ),
        "tracking_close_out_refused": (api.post(f"{case}/close-out", headers=office), case_id),
        "tracking_evaluation_unknown": (
            api.post(
                f"/api/v1/cases/{NOBODY}/evaluations",
                json={"rating": "satisfied", "evaluator_kind": "complainant"},
                headers=office,
            ),
            None,
        ),
        "public_receipt_unknown": (api.get("/public/v1/receipts/AAAA-AAAA-AAAA-AAAA"), None),
    }
    return {name: _answer(r, cid) for name, (r, cid) in calls.items()}


def test_refusals_answer_the_recorded_problem_bodies(api: Api) -> None:
    answers = refusals(api)
    if os.environ.get("TAIZHANG_RECORD_REFUSALS"):
        text = json.dumps(answers, ensure_ascii=False, indent=2, sort_keys=True)
        RECORDED.write_text(text + "\n", encoding="utf-8")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert set(answers) == set(recorded)
    for name, answer in answers.items():
        assert answer == recorded[name], name
    assert uuid.UUID(NOBODY)
