"""Dispatch and the catalogue (ADR 25): triage and routing rules take a code or a Chinese
name and keep the code; anything else is a 422 naming the field; the office's changes are
copied one event per change and nothing is written for the seed."""

from __future__ import annotations

from tests.support.api import Api, count_topic, stored_notifications
from tests.support.dispatch import act, add_units, ok, open_case, refused


def test_triage_keeps_a_chinese_name_as_its_code_and_refuses_an_unknown_one(api: Api) -> None:
    case_id = open_case(api)
    answer = refused(api, case_id, 422, "triage", "office", track="general", category="收费")
    assert answer["errors"][0]["field"] == "category"
    assert "乱收费 (arbitrary_charges)" in answer["errors"][0]["message"]
    triaged = ok(act(api, case_id, "triage", "office", track="general", category="推诿扯皮"))
    assert triaged["category"] == "buck_passing"
    assert (
        count_topic(stored_notifications(api.settings, "dispatch"), "CategoryMirror.Started") == 0
    )


def test_a_routing_rule_takes_category_names_and_keeps_codes(api: Api) -> None:
    admin = api.auth("admin")
    add_units(api, "WC-FEES")  # (PostgreSQL starts with no seed directory)
    rules = api.get("/api/v1/routing-rules", headers=admin).json()["rules"]
    rule = {
        "id": "r-fees-by-name",
        "name": "乱收费",
        "match": {"categories": ["乱收费", "education"]},
        "lead_unit": "WC-FEES",
        "co_units": [],
        "track": "general",
    }
    put = api.put("/api/v1/routing-rules", json={"rules": [rule, *rules]}, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["rules"][0]["match"]["categories"] == ["arbitrary_charges", "education"]
    rule["match"] = {"categories": ["完全自造的类别"]}
    bad = api.put("/api/v1/routing-rules", json={"rules": [rule, *rules]}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "rules[0].match.categories"
