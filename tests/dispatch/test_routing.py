"""Routing a registered tip: dispatched at once by the first matching rule (the system acts),
else waiting on the office's triage desk; exposures are flagged for accountability at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api, stored_notifications
from tests.support.dispatch import add_units, open_case, view
from tests.support.infra import ServerThread, wait_for


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Api]:
    """The embedded default (SQLite), which loads the seed directory and rules."""
    settings = Settings(data_dir=tmp_path / "data", api_key_cache_seconds=0)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def stored_event(api: Api, case_id: str, name: str) -> dict[str, Any]:
    for n in stored_notifications(api.settings, "dispatch"):
        if str(n.originator_id) == case_id and n.topic.endswith(f"Case.{name}"):
            state: dict[str, Any] = json.loads(n.state)
            return state
    raise AssertionError(f"no {name} event for {case_id}")


def desk_numbers(api: Api) -> list[str]:
    r = api.get("/api/v1/triage-desk", headers=api.auth("office"))
    assert r.status_code == 200, r.text
    return [item["number"] for item in r.json()["items"]]


def test_seeded_rules_dispatch_at_once_as_the_system(embedded: Api) -> None:
    api = embedded
    water = view(api, open_case(api, channel="mayor_hotline", content="我们小区突然停水三天了"))
    assert (water["status"], water["rule_id"], water["track"]) == (
        "dispatched",
        "r-water-outage",
        "immediate",
    )
    assert (water["lead_unit"], water["co_units"]) == ("WC-GS", ["WC-SWJ"])
    assert water["sign_deadline"] and water["handle_deadline"]
    dispatched = stored_event(api, water["case_id"], "Dispatched")
    assert dispatched["actor"] == {"id": "system", "name": "系统", "role": "system", "unit": None}
    assert dispatched["rule_id"] == "r-water-outage"

    street = view(
        api,
        open_case(
            api,
            category="city_management",
            content="路边占道经营,垃圾堆放",
            location={"district": "武昌区", "street": "积玉桥街道"},
        ),
    )
    assert (street["rule_id"], street["lead_unit"], street["co_units"]) == (
        "r-street-jyq-city",
        "WC-JYQ",
        ["WC-CGJ"],
    )
    # Category AND keyword (in the summary): the school-charges rule, not the education fallback.
    school = view(api, open_case(api, category="education", content="学校收钱", summary="收补课费"))
    assert school["rule_id"] == "r-school-charges"
    # First match wins: a media exposure of business-environment harm is supervised …
    media = view(api, open_case(api, channel="media", category="business_environment"))
    assert (media["rule_id"], media["track"], media["lead_unit"]) == (
        "r-supervised-business-env",
        "supervised",
        "WC-ZWFW",
    )
    # … and flagged for the accountability procedure at once.
    assert media["flagged_for_accountability"]
    assert "媒体" in media["flag_reason"]


def test_a_tip_no_rule_matches_waits_on_the_triage_desk(embedded: Api) -> None:
    api = embedded
    conduct = view(api, open_case(api, category="service_attitude", content="窗口人员态度恶劣"))
    # City management outside 武昌区 and outside the listed streets: no rule's lists all match.
    elsewhere = view(
        api,
        open_case(api, category="city_management", location={"district": "洪山区"}),
    )
    for case in (conduct, elsewhere):
        assert (case["status"], case["lead_unit"], case["rule_id"]) == ("registered", None, None)
    wait_for(
        lambda: desk_numbers(api) == sorted([conduct["number"], elsewhere["number"]]),
        30,
        "both cases on the triage desk",
    )
    undercover = view(api, open_case(api, channel="undercover_visit", content="暗访发现脱岗"))
    assert undercover["status"] == "registered"
    assert undercover["flagged_for_accountability"]
    assert stored_event(api, undercover["case_id"], "FlaggedForAccountability")["reason"]


def test_rules_put_by_the_admin_route_the_next_tip(api: Api) -> None:
    add_units(api, "T-RSJ", "T-MZJ")
    rule = {
        "id": "r-wages",
        "name": "欠薪交测试人社局",
        "match": {"keywords": ["欠薪", "拖欠工资"]},
        "lead_unit": "T-RSJ",
        "co_units": ["T-MZJ"],
        "track": "supervised",
    }
    r = api.put("/api/v1/routing-rules", json={"rules": [rule]}, headers=api.auth("admin"))
    assert r.status_code == 200, r.text
    routed = view(api, open_case(api, content="工地老板拖欠工资半年"))
    assert (routed["status"], routed["lead_unit"], routed["co_units"], routed["rule_id"]) == (
        "dispatched",
        "T-RSJ",
        ["T-MZJ"],
        "r-wages",
    )
    assert routed["handle_working_days"] == 10
    waiting = view(api, open_case(api, content="道路坑洼无人修"))
    assert waiting["status"] == "registered"
    wait_for(lambda: waiting["number"] in desk_numbers(api), 30, "the desk")
    assert routed["number"] not in desk_numbers(api)
