"""The catalogue downstream of intake (ADR 25): dispatch and the ledger learn the office's
changes; the ledger names categories in Chinese (retired ones too), filters by a category and
its subtree and by district, finds a case by its number, and refuses unknown parameters."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook

from tests.support.api import Api, problem
from tests.support.infra import wait_for


def _ledger(api: Api, **params: Any) -> Any:
    return api.get("/api/v1/ledger", params=params, headers=api.auth("office"))


def _listed(api: Api, case_id: str, **params: Any) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        items = _ledger(api, **params).json()["items"]
        return next((i for i in items if i["case_id"] == case_id), None)

    listed: dict[str, Any] = wait_for(found, 30, f"case in the ledger with {params}", interval=0.1)
    return listed


def test_an_office_category_is_named_filtered_and_kept_when_retired(api: Api) -> None:
    office = api.auth("office")
    added = api.post(
        "/api/v1/categories",
        json={"code": "banquets", "name": "违规吃喝", "parent": "four_winds"},
        headers=office,
    )
    assert added.status_code == 201, added.text
    tip = api.register(category="违规吃喝", location={"district": "洪山区"})
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    row = _listed(api, case_id, category="four_winds")  # the parent's filter holds its subtree
    assert (row["category"], row["category_name"]) == ("banquets", "违规吃喝")
    assert _listed(api, case_id, category="四风问题", district="洪山区")["case_id"] == case_id
    assert case_id not in {i["case_id"] for i in _ledger(api, district="武昌区").json()["items"]}

    # dispatch knows the office's category too (its copy arrives through the stream)
    def triaged() -> bool:
        r = api.post(
            f"/api/v1/cases/{case_id}/triage",
            json={"track": "general", "category": "违规吃喝"},
            headers=office,
        )
        return r.status_code == 200 and r.json()["category"] == "banquets"

    wait_for(triaged, 30, "dispatch to take the office's category", interval=0.2)
    api.post("/api/v1/categories/banquets/changes", json={"change": "retired"}, headers=office)

    def named_after_retiring() -> bool:
        found = _ledger(api, category="banquets").json()["items"]
        return bool(found) and found[0]["category_name"] == "违规吃喝"

    wait_for(named_after_retiring, 30, "the retired category still filtered and named")
    sheet = api.get("/api/v1/ledger.xlsx", params={"category": "banquets"}, headers=office)
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    header = next(r for r in rows if "问题类别" in r)
    (line,) = rows[rows.index(header) + 1 :]
    assert line[header.index("问题类别")] == "违规吃喝"


def test_an_unknown_category_filter_is_a_422_with_close_matches(api: Api) -> None:
    details = problem(_ledger(api, category="收费"), 422)
    assert details["errors"][0]["field"] == "category"
    assert "乱收费 (arbitrary_charges)" in details["matches"]


def test_a_case_number_finds_its_case_by_path_and_by_q(api: Api) -> None:
    tip = api.register(summary="办证乱收费", category="乱收费").json()
    number, case_id = tip["number"], tip["case_id"]
    # (filtered by category too: the row holds intake's event, not only dispatch's CaseOpened)
    assert _listed(api, case_id, q=number, category="arbitrary_charges")["number"] == number
    others = api.register(summary="另一件").json()
    _listed(api, others["case_id"])
    assert [i["number"] for i in _ledger(api, q=number).json()["items"]] == [number]
    found = api.get(f"/api/v1/cases/by-number/{number}", headers=api.auth("office"))
    assert found.status_code == 200 and found.json()["case_id"] == case_id
    assert found.json()["category_name"] == "乱收费"
    missing = api.get("/api/v1/cases/by-number/1999-000001", headers=api.auth("office"))
    assert missing.status_code == 404
    assert api.get("/api/v1/cases/by-number/abc", headers=api.auth("office")).status_code == 422


def test_unknown_parameters_on_the_lists_are_a_422_but_the_cache_buster(api: Api) -> None:
    for path in ("/api/v1/ledger", "/api/v1/ledger.xlsx", "/api/v1/stats/units", "/api/v1/audit"):
        refused = api.get(path, params={"as_of": "2026-01-01"}, headers=api.auth("supervisor"))
        assert "as_of" in {e["field"].split(".")[-1] for e in problem(refused, 422)["errors"]}, path
    assert _ledger(api, _="1712345678").status_code == 200
    assert api.get("/public/v1/results", params={"utm_source": "x"}).status_code == 200


def test_stats_per_category_carry_the_chinese_name(api: Api) -> None:
    api.register(category="buck_passing")

    def counted() -> dict[str, Any] | None:  # once intake's event (the category) is applied
        items = api.get("/api/v1/stats/categories", headers=api.auth("office")).json()["items"]
        return next((i for i in items if i["category"] == "buck_passing"), None)

    row = wait_for(counted, 30, "the category counted")
    assert row["category_name"] == "办事效率与推诿扯皮"


def test_dates_and_patterns_are_refused_in_chinese(api: Api) -> None:
    office = api.auth("office")
    for path, params in (
        ("/api/v1/ledger", {"from": "昨天"}),
        ("/api/v1/cases/by-number/2026-12", {}),
    ):
        (error,) = problem(api.get(path, params=params, headers=office), 422)["errors"]
        assert not error["message"].startswith(("Input should", "String should")), error
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error


def test_the_ledger_filters_by_the_person_complained_about_and_the_reporter_kind(
    api: Api,
) -> None:
    named = api.register(
        subject={"unit": "某街道办事处", "person": "王某某", "position": "科长"},
        reporter={"anonymous": False, "name": "李四", "phone": "13800000000"},
    ).json()
    anonymous = api.register(subject={"person": "赵某_%"}).json()
    _listed(api, named["case_id"], person="王某")
    _listed(api, anonymous["case_id"], person="赵某_%")  # LIKE's wildcards taken literally
    ids = {i["case_id"] for i in _ledger(api, person="王某").json()["items"]}
    assert ids == {named["case_id"]}
    assert {i["case_id"] for i in _ledger(api, person="某_").json()["items"]} == {
        anonymous["case_id"]
    }
    by_kind = {
        kind: {i["case_id"] for i in _ledger(api, reporter=kind, page_size=200).json()["items"]}
        for kind in ("named", "anonymous")
    }
    assert named["case_id"] in by_kind["named"] - by_kind["anonymous"]
    assert anonymous["case_id"] in by_kind["anonymous"] - by_kind["named"]
    sheet = api.get("/api/v1/ledger.xlsx", params={"person": "王某"}, headers=api.auth("office"))
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    header = next(r for r in rows if "问题类别" in r)
    assert len(rows[rows.index(header) + 1 :]) == 1


def test_an_unknown_reporter_kind_is_a_422_in_chinese(api: Api) -> None:
    refused = api.get(
        "/api/v1/ledger",
        params={"reporter": "somebody"},
        headers=api.auth("office") | {"Accept-Language": "zh-CN"},
    )
    (error,) = problem(refused, 422)["errors"]
    assert error["field"] == "query.reporter" and error["code"] == "literal_error"
    assert error["message"] == "取值无效,可选:'named'(实名)、'anonymous'(匿名)"
