"""Insight in the workbench and beyond (issue 25, ADR 32): the office sees a case's likely
duplicates on its page and folds one into the other in one click (dispatch's merge, either
way round); a street's surge of 乱收费 is raised once as a warning — told to the office in
its inbox, shown on the dashboard, listed in the monthly circular — and nobody else sees
suggestions or warnings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from services.insight.application import InsightApplication
from services.insight.sweep import fields_of
from services.insight.warning import Warning
from shared.platform.settings import Settings
from tests.support.api import Api, stored_notifications
from tests.support.dispatch import ok
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import today
from tests.support.workbench import Workbench, case_in_ledger

STREET = {"district": "江岸区", "street": "南湖街道"}
HALL = {"unit": "南湖街道便民服务大厅"}
NOT_SEEN = "00000000-0000-0000-0000-000000000025"


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    quick = settings.model_copy(update={"scheduler_interval_seconds": 0.3})
    with ServerThread(create_app(quick)) as server, Api(server.url, quick) as client:
        yield client


def tip(api: Api, content: str, **extra: Any) -> str:
    body = {"content": content, "category": "arbitrary_charges", "location": STREET} | extra
    case_id: str = ok(api.register(**body), 201)["case_id"]
    return case_id


def signed_in(api: Api, role: str, name: str, unit: str | None = None) -> Workbench:
    bench = Workbench(str(api.base_url))
    credential = api.auth(role, name, unit)["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(credential).status_code == 200
    return bench


def seen_by_insight(api: Api, case_id: str) -> None:
    office = api.auth("office")
    wait_for(
        lambda: api.get(f"/api/v1/cases/{case_id}/suggestions", headers=office).status_code == 200,
        30,
        "insight to see the case",
    )


def test_the_office_folds_a_suggested_duplicate_in_one_click_either_way_round(api: Api) -> None:
    first = tip(
        api, "南湖街道便民服务大厅办理停车证，王科长要交300元加急费，不开收据。", subject=HALL
    )
    other = tip(api, "南湖街道菜市场管理处向摊贩收取卫生费后不给发票，每月两百元。")
    again = tip(
        api, "市民反映：便民服务大厅王科长办停车证收取加急费三百元，没有任何票据。", subject=HALL
    )
    later = tip(api, "便民服务大厅办停车证，王科长收了三百块加急费，也不给开票。", subject=HALL)
    for case_id in (first, other, again, later):
        case_in_ledger(api, case_id, "registered")
        seen_by_insight(api, case_id)
    number = {c: case_in_ledger(api, c, "registered")["number"] for c in (first, other)}

    office = signed_in(api, "office", "周主任")
    page = office.page(f"/ui/cases/{again}")
    assert 'id="suggestions-slot"' in page.text  # the page loads the panel as a fragment
    panel = office.page(f"/ui/cases/{again}/suggestions")
    assert "疑似重复线索" in panel.text and number[first] in panel.text
    assert number[other] not in panel.text
    assert f'value="{first}"' in panel.text and "作为本件的重复件" in panel.text

    for role, unit in (("supervisor", None), ("unit_liaison", "WC-JYQ")):
        theirs = signed_in(api, role, "旁人", unit)
        assert "疑似重复" not in theirs.page(f"/ui/cases/{again}/suggestions").text
        column = theirs.page("/ui/desk/duplicates", case_id=again)
        assert column.status_code == 200 and column.text == ""

    # 待分办 has the column too, filled by one request for the page's cases
    desk = office.page("/ui/desk")
    assert "<th>疑似重复</th>" in desk.text and f'id="dup-{again}"' in desk.text
    assert f"case_id={again}" in desk.text and 'id="desk-duplicates"' in desk.text
    column = office.page("/ui/desk/duplicates", case_id=[again, NOT_SEEN], attempt="1")
    cell = column.text.split(f'id="dup-{again}"')[1].split("</span>")[0]
    own = api.get(f"/api/v1/cases/{again}/suggestions", headers=api.auth("office")).json()
    best = own["items"][0]  # the case page's best suggestion, with its score
    assert f"{len(own['items'])} 件,最像 {best['number']}({best['score'] * 100:.0f} 分)" in cell
    assert 'hx-swap-oob="true"' in cell and "同一被反映单位" in cell
    assert "比对中" in column.text.split(f'id="dup-{NOT_SEEN}"')[1].split("</span>")[0]
    assert f"case_id={NOT_SEEN}&amp;attempt=2" in column.text  # asked again, that one only
    assert f"case_id={again}&amp;attempt" not in column.text
    last = office.page("/ui/desk/duplicates", case_id=[NOT_SEEN], attempt="5")
    assert "比对中" in last.text and "attempt=" not in last.text  # and then it stops asking

    # a case insight has not seen yet: "comparing", asked again — never "no duplicates"
    pending = office.page(f"/ui/cases/{NOT_SEEN}/suggestions")
    assert "正在比对" in pending.text and "attempt=2" in pending.text
    assert "暂无疑似重复" not in pending.text
    given_up = office.page(f"/ui/cases/{NOT_SEEN}/suggestions", attempt="5")
    assert "尚未完成比对" in given_up.text and "attempt=" not in given_up.text

    wrong = office.submit(f"/ui/cases/{again}/suggestions/merge", other=first, direction="sideways")
    assert wrong.status_code == 422 and "合并方向无效" in wrong.text

    merged = office.submit(
        f"/ui/cases/{again}/suggestions/merge", other=first, direction="into_other"
    )
    assert merged.status_code == 200 and "已办理:合并重复件" in merged.text
    assert f"/ui/cases/{again}" in str(merged.url) and "已合并至" in merged.text
    assert case_in_ledger(api, again, "merged")["merged_into"]

    office.page(f"/ui/cases/{first}")
    kept = office.submit(f"/ui/cases/{first}/suggestions/merge", other=later, direction="into_this")
    assert kept.status_code == 200 and f"/ui/cases/{first}" in str(kept.url)
    shown = case_in_ledger(api, later, "merged")
    assert shown["merged_into"]
    assert case_in_ledger(api, first, "registered")["repeats"] == 2

    # a merge dispatch refuses (the case is merged already) comes back on the case page
    office.page(f"/ui/cases/{again}")
    refused = office.submit(
        f"/ui/cases/{again}/suggestions/merge", other=other, direction="into_other"
    )
    assert refused.status_code == 409, refused.text
    assert 'id="error-suggestions"' in refused.text


def test_the_office_registering_a_tip_is_shown_its_likely_duplicates(api: Api) -> None:
    first = tip(
        api, "南湖街道便民服务大厅办理停车证，王科长要交300元加急费，不开收据。", subject=HALL
    )
    seen_by_insight(api, first)
    number = case_in_ledger(api, first, "registered")["number"]
    office = signed_in(api, "office", "周主任")
    office.page("/ui/intake")
    registered = office.submit(
        "/ui/intake",
        channel="hotline_12388",
        content="便民服务大厅办停车证，王科长收了三百块加急费，也不给开票。",
        category="arbitrary_charges",
        location_district="江岸区",
        location_street="南湖街道",
        subject_unit="南湖街道便民服务大厅",
    )
    assert registered.status_code == 201, registered.text
    assert 'id="suggestions-slot"' in registered.text
    slot = registered.text.split('id="suggestions-slot"')[1].split(">")[0]
    case_path = slot.split('hx-get="')[1].split('"')[0]
    panel = wait_for(
        lambda: (p := office.page(case_path)).status_code == 200 and "正在比对" not in p.text and p,
        30,
        "insight to compare the new tip",
    )
    assert number in panel.text and "疑似重复线索" in panel.text

    hotline = Workbench(str(api.base_url))  # an operator signs in to 登记, not to the ledger
    hotline.page("/ui/login")
    credential = api.auth("operator", "话务员")["Authorization"].removeprefix("Bearer ")
    assert hotline.submit("/ui/login", credential=credential, next="/ui/intake").status_code == 200
    theirs = hotline.submit(
        "/ui/intake", channel="hotline_12388", content="便民服务大厅又收加急费了，王科长。"
    )
    assert theirs.status_code == 201 and "suggestions-slot" not in theirs.text


def test_a_surge_is_raised_once_told_to_the_office_on_the_dashboard_and_in_the_circular(
    api: Api,
) -> None:
    ok(
        api.post(
            "/api/v1/persons",
            json={"id": "office:赵主任", "name": "赵主任", "role": "office"},
            headers=api.auth("office"),
        ),
        201,
    )
    cases = [
        tip(api, f"南湖街道第{n}社区办理居住证时被收取工本费{n * 10}元，没有收据。")
        for n in range(1, 9)
    ]
    for case_id in cases:
        case_in_ledger(api, case_id, "registered")

    def raised() -> list[Any]:
        return [
            n
            for n in stored_notifications(api.settings, "insight")
            if n.topic.endswith("RaisedWarning.Raised")
        ]

    wait_for(lambda: len(raised()) >= 1, 30, "the warning to be raised")
    office = api.auth("office", "赵主任")

    def told() -> list[dict[str, Any]]:
        items = ok(api.get("/api/v1/inbox", headers=office))["items"]
        return [i for i in items if i["title"].startswith("苗头预警")]

    [message] = wait_for(told, 30, "the office's inbox entry")
    assert "南湖街道" in message["title"] and "乱收费" in message["title"]

    month = f"{today():%Y-%m}"

    def circular() -> str | None:
        text = api.get(f"/api/v1/reports/monthly/{month}", headers=office).text
        # The heading is there from the start ("(无)"): wait for the warning under it (the
        # ledger's copy of the warning can come after the office's inbox entry).
        parts = text.split("苗头预警", 1)
        return text if len(parts) == 2 and "乱收费" in parts[1] else None

    section = wait_for(circular, 30, "the circular's section").split("苗头预警")[1]
    assert "乱收费" in section and "南湖街道" in section

    bench = signed_in(api, "office", "赵主任")
    assert 'id="warnings-slot"' in bench.page("/ui/dashboard").text
    panel = bench.page("/ui/warnings/panel")
    assert "苗头预警" in panel.text and "南湖街道" in panel.text
    assert all(f"/ui/cases/{c}" in panel.text for c in cases[:5])
    assert "南湖街道" in bench.page("/ui/warnings").text
    liaison = signed_in(api, "unit_liaison", "王联络", "WC-JYQ")
    assert "苗头预警" not in liaison.page("/ui/warnings/panel").text
    assert liaison.page("/ui/warnings").status_code == 403
    liaison_circular = api.get(
        f"/api/v1/reports/monthly/{month}", headers=api.auth("unit_liaison", "王联络", "WC-JYQ")
    )
    assert "苗头预警" not in liaison_circular.text

    # sweeps went on every 0.3 s meanwhile: still one event, one message
    assert len(raised()) == 1 and len(told()) == 1


def test_a_warning_is_recorded_once_whoever_sweeps_again() -> None:
    app = InsightApplication()
    fields = fields_of(
        Warning("arbitrary_charges", [("street", "南湖街道")], today(), 6, 0.7, {"c1", "c2"}),
        {"c1": "2026-000001", "c2": "2026-000002"},
    )
    assert fields["keys"] == [{"level": "street", "level_label": "街道", "value": "南湖街道"}]
    assert fields["category_label"] == "乱收费" and fields["case_numbers"][0] == "2026-000001"
    assert app.raise_warning(fields) is True
    assert app.raise_warning(fields | {"count": 7}) is False  # same category, place and day
    assert app.raise_warning(fields | {"category": "bribe_seeking"}) is True
