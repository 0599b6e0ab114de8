"""The office's daily pages (issue 22 points 3–4): the ledger's filters for the person
complained about and the reporter kind, and 待分办's one click (一键交办) by the rule's
suggestion."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import UNROUTED
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import Workbench, case_in_ledger


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-daily") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def signed_in(api: Api, role: str) -> Workbench:
    bench = Workbench(str(api.base_url))
    token = api.auth(role, "办公室甲")["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(token).status_code == 200
    return bench


def test_the_ledger_page_filters_by_person_and_reporter_kind(api: Api) -> None:
    named = api.register(
        subject={"person": "钱某某", "position": "所长"},
        reporter={"anonymous": False, "name": "孙五", "phone": "13900000000"},
    ).json()
    other = api.register(subject={"person": "周某"}).json()
    for tip in (named, other):
        case_in_ledger(api, tip["case_id"], "registered")
    office = signed_in(api, "office")
    # intake's own event carries the person complained about: dispatch's CaseOpened may put
    # the row on the ledger first, so wait for the filter itself to find it
    page = wait_for(
        lambda: (
            (p := office.page("/ui/ledger", person="钱某", reporter="named")).status_code == 200
            and named["number"] in p.text
            and p
        ),
        30,
        "the named case under its person's filter",
    )
    assert named["number"] in page.text and other["number"] not in page.text
    assert 'name="person" value="钱某"' in page.text
    anonymous = wait_for(
        lambda: (
            other["number"] in (t := office.page("/ui/ledger", reporter="anonymous").text) and t
        ),
        30,
        "the anonymous case under its filter",
    )
    assert other["number"] in anonymous and named["number"] not in anonymous
    refused = office.page("/ui/ledger", reporter="whoever")
    assert refused.status_code == 422
    assert "取值无效,可选:'named'(实名)、'anonymous'(匿名)" in html.unescape(refused.text)
    assert "(invalid value)" not in refused.text  # the page reads the zh-CN answer


def _rule(lead: str) -> dict[str, Any]:
    return {
        "id": "r-ui-desk",
        "name": "窗口玩手机交区人社局",
        "match": {"keywords": ["玩手机游戏"]},
        "lead_unit": lead,
        "co_units": [],
        "track": "general",
    }


def test_one_click_on_the_desk_dispatches_as_the_rule_says(api: Api) -> None:
    tip = api.register(**UNROUTED, summary="窗口人员玩手机").json()
    office = signed_in(api, "office")
    wait_for(lambda: tip["number"] in office.page("/ui/desk").text, 30, "the case on the desk")
    assert "无匹配规则" in office.page("/ui/desk").text
    admin = api.auth("admin")
    rules = api.get("/api/v1/routing-rules", headers=admin).json()["rules"]
    lead = rules[0]["lead_unit"]
    put = api.put("/api/v1/routing-rules", json={"rules": [*rules, _rule(lead)]}, headers=admin)
    assert put.status_code == 200, put.text
    desk = office.page("/ui/desk").text
    assert f'id="by-rule-{tip["number"]}"' in desk and "按规则“窗口玩手机交区人社局”" in desk
    done = office.submit(f"/ui/desk/{tip['case_id']}/dispatch-by-rule", rule_id="r-ui-desk")
    assert done.status_code == 200 and done.url.path == "/ui/desk"
    assert f"已按规则交办 {tip['number']}" in done.text
    assert f'id="by-rule-{tip["number"]}"' not in done.text
    case = case_in_ledger(api, tip["case_id"], "dispatched")
    assert case["lead_unit"]["code"] == lead
    stale = office.submit(f"/ui/desk/{tip['case_id']}/dispatch-by-rule", rule_id="r-ui-desk")
    assert stale.status_code in (409, 422) and 'role="alert"' in stale.text
