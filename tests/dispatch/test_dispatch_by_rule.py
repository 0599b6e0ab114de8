"""一键交办 on the triage desk (issue 22 point 4): beside a waiting case the desk shows the
routing rule that matches it now; one click triages and dispatches it as the rule says, the
events naming the rule and the person who clicked. A rule that no longer applies is refused."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api, problem
from tests.support.dispatch import add_units, case_events, ok, open_case, view
from tests.support.infra import wait_for

RULE = {
    "id": "r-desk-games",
    "name": "上班玩游戏交区人社局",
    "match": {"keywords": ["玩手机游戏"]},
    "lead_unit": "DR1",
    "co_units": ["DR2"],
    "track": "general",
}


def desk_item(api: Api, number: str) -> dict[str, Any] | None:
    items = api.get("/api/v1/triage-desk", headers=api.auth("office")).json()["items"]
    return next((i for i in items if i["number"] == number), None)


def add_rule(api: Api, rule: dict[str, Any]) -> None:
    admin = api.auth("admin")
    rules = api.get("/api/v1/routing-rules", headers=admin).json()["rules"]
    ok(api.put("/api/v1/routing-rules", json={"rules": [*rules, rule]}, headers=admin))


def test_the_desk_suggests_the_rule_and_one_click_dispatches_as_it_says(api: Api) -> None:
    add_units(api, "DR1", "DR2")
    case_id = open_case(api)  # no rule matches yet: it waits on the desk
    number = view(api, case_id)["number"]
    first = wait_for(lambda: desk_item(api, number), 30, "the case on the desk")
    assert first["suggestion"] is None
    add_rule(api, RULE)
    item = desk_item(api, number)
    assert item is not None
    assert item["suggestion"] == {
        "rule_id": "r-desk-games",
        "name": "上班玩游戏交区人社局",
        "lead_unit": "DR1",
        "co_units": ["DR2"],
        "track": "general",
    }
    office = api.auth("office", "办公室丙")
    done = ok(
        api.post(
            f"/api/v1/cases/{case_id}/dispatch-by-rule",
            json={"rule_id": "r-desk-games"},
            headers=office,
        )
    )
    assert (done["status"], done["lead_unit"], done["co_units"], done["track"]) == (
        "dispatched",
        "DR1",
        ["DR2"],
        "general",
    )
    assert done["rule_id"] == "r-desk-games" and done["sign_deadline"]
    assert case_events(api, case_id)[-2:] == ["Case.Triaged", "Case.Dispatched"]
    again = api.post(
        f"/api/v1/cases/{case_id}/dispatch-by-rule",
        json={"rule_id": "r-desk-games"},
        headers=office | {"Accept-Language": "zh-CN"},
    )
    body = problem(again, 409)  # off the desk: a second click changes nothing
    assert body["case_status"] == "dispatched" and "“已交办”" in body["detail"]
    assert case_events(api, case_id)[-2:] == ["Case.Triaged", "Case.Dispatched"]


def test_a_rule_that_no_longer_applies_is_refused_and_nothing_changes(api: Api) -> None:
    case_id = open_case(api)
    before = case_events(api, case_id)
    for rule_id in ("r-desk-games", "r-water-outage"):  # unknown here / does not match the case
        refused = api.post(
            f"/api/v1/cases/{case_id}/dispatch-by-rule",
            json={"rule_id": rule_id},
            headers=api.auth("office") | {"Accept-Language": "zh-CN"},
        )
        (error,) = problem(refused, 422)["errors"]
        assert error["field"] == "rule_id" and "已不是本案的分办建议" in error["message"]
    assert case_events(api, case_id) == before
    operator = api.post(
        f"/api/v1/cases/{case_id}/dispatch-by-rule",
        json={"rule_id": "r-desk-games"},
        headers=api.auth("operator"),
    )
    assert problem(operator, 403)["detail"].startswith("角色“话务员”无权执行此操作")
