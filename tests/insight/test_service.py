"""Insight as a service: it follows intake and dispatch through the backbone, answers the
office's "is this the same problem?" for a case with reasons, keeps suggestions from everyone
else (they reveal other reports), and raises one 苗头预警 for a street's surge of 乱收费."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, problem
from tests.support.infra import wait_for

STREET = {"district": "江岸区", "street": "南湖街道"}
HALL = {"unit": "南湖街道便民服务大厅"}


def tip(api: Api, content: str, **extra: Any) -> str:
    body = {"content": content, "category": "arbitrary_charges", "location": STREET} | extra
    r = api.register(**body)
    assert r.status_code == 201, r.text
    case_id: str = r.json()["case_id"]
    return case_id


def suggestions(api: Api, case_id: str) -> dict[str, Any]:
    office = api.auth("office")
    r = wait_for(
        lambda: (
            (a := api.get(f"/api/v1/cases/{case_id}/suggestions", headers=office)).status_code
            != 404
            and a
        ),
        30,
        "insight to see the case",
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_the_office_sees_the_same_problem_told_twice_and_no_one_else_does(api: Api) -> None:
    first = tip(
        api, "南湖街道便民服务大厅办理停车证，王科长要交300元加急费，不开收据。", subject=HALL
    )
    other = tip(api, "南湖街道菜市场管理处向摊贩收取卫生费后不给发票，每月两百元。")
    again = tip(
        api, "市民反映：便民服务大厅王科长办停车证收取加急费三百元，没有任何票据。", subject=HALL
    )

    answer = suggestions(api, again)
    found = {i["case_id"]: i for i in answer["items"]}
    assert first in found and other not in found
    best = answer["items"][0]
    assert best["case_id"] == first and 0 < best["score"] <= 1
    assert any("\u4e00" <= ch <= "\u9fff" for ch in best["reason"])
    assert best["number"]

    for role in ("operator", "unit_liaison", "supervisor"):
        who = api.auth(role, unit="WC-JYQ" if role == "unit_liaison" else None)
        refused = api.get(f"/api/v1/cases/{again}/suggestions", headers=who)
        assert refused.status_code == 403, (role, refused.text)
    unknown = api.get(
        "/api/v1/cases/00000000-0000-0000-0000-000000000025/suggestions",
        headers=api.auth("office"),
    )
    assert problem(unknown, 404)["code"] == "case_not_seen"


def test_a_surge_in_one_street_raises_one_warning_that_names_its_cases(api: Api) -> None:
    cases = [
        tip(api, f"南湖街道第{n}社区办理居住证时被收取工本费{n * 10}元，没有收据。")
        for n in range(1, 9)
    ]
    office = api.auth("office")

    def raised() -> dict[str, Any] | None:
        r = api.get("/api/v1/warnings", headers=office)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["items"] and len(body["items"][0]["cases"]) == len(cases) else None

    answer = wait_for(raised, 30, "the warning")
    [warning] = answer["items"]
    assert warning["category"] == "arbitrary_charges"
    assert warning["category_label"] == "乱收费"
    assert {"level": "street", "level_label": "街道", "value": "南湖街道"} in warning["keys"]
    assert {c["case_id"] for c in warning["cases"]} == set(cases)
    assert warning["count"] == len(cases) and "南湖街道" in warning["reason"]

    assert api.get("/api/v1/warnings", headers=api.auth("supervisor")).status_code == 200
    assert (
        api.get("/api/v1/warnings", headers=api.auth("unit_liaison", unit="WC-JYQ")).status_code
        == 403
    )
    reversed_period = api.get(
        "/api/v1/warnings", params={"from": "2026-03-10", "to": "2026-03-01"}, headers=office
    )
    body = problem(reversed_period, 422)
    assert [e["code"] for e in body["errors"]] == ["invalid_period"]
    assert "起始日期晚于截止日期" in body["detail"]


def test_the_desk_asks_for_a_page_of_cases_at_once_and_gets_each_cases_own_answer(
    api: Api,
) -> None:
    first = tip(
        api, "南湖街道便民服务大厅办理停车证，王科长要交300元加急费，不开收据。", subject=HALL
    )
    other = tip(api, "南湖街道菜市场管理处向摊贩收取卫生费后不给发票，每月两百元。")
    again = tip(
        api, "市民反映：便民服务大厅王科长办停车证收取加急费三百元，没有任何票据。", subject=HALL
    )
    for case_id in (first, other, again):
        suggestions(api, case_id)  # each seen by insight, so each answer is final
    one_by_one = {c: suggestions(api, c)["items"] for c in (first, other, again)}
    unknown = "00000000-0000-0000-0000-000000000025"
    office = api.auth("office")

    r = api.get(
        "/api/v1/suggestions",
        params=[("case_id", c) for c in (again, unknown, first, other, again)],
        headers=office,
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["case_id"] for i in items] == [again, unknown, first, other]  # asked order, once
    assert {i["case_id"]: i["items"] for i in items if i["seen"]} == one_by_one
    assert [i["seen"] for i in items] == [True, False, True, True]
    assert items[0]["items"][0]["case_id"] == first and items[1]["items"] == []

    liaison = api.auth("unit_liaison", unit="WC-JYQ")
    assert (
        api.get("/api/v1/suggestions", params={"case_id": again}, headers=liaison).status_code
        == 403
    )
    too_many = [("case_id", f"00000000-0000-0000-0000-{n:012d}") for n in range(51)]
    assert api.get("/api/v1/suggestions", params=too_many, headers=office).status_code == 422
    none = problem(api.get("/api/v1/suggestions", headers=office), 422)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in none["detail"])
