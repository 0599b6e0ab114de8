"""Every form of the case page in a real browser (issue 22 point 7), beyond the main path that
``test_browser.py`` walks: merge and 不予受理, a unit's return and the office's overruling of
it, an extension asked for and granted with a progress report, a second pass started by the
complainant's dissatisfaction and handled with both findings (一案双查), and 一键交办 from the
triage desk. Each case is brought to the form's state through the API; the form is then
filled and submitted as a person would. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api, feedback_taken
from tests.support.dispatch import UNROUTED
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import LEAD, case_in_ledger, dispatched_case
from tests.workbench.test_browser import ARTIFACTS, Office, act, browser, shows_status

pytestmark = pytest.mark.browser
__all__ = ["browser"]  # the module's Chromium, shared with test_browser.py

RESULT = {
    "findings": "经查属实,窗口人员上班时间玩手机",
    "rectification": "已批评教育并调整岗位",
    "proposal": {"kind": "rectification", "text": "加强窗口管理"},
    "signed_off_by": "主任 李某",
}


@pytest.fixture(scope="module")
def served(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Office, Api]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-forms") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        yield Office(server.url, settings, browser), api


def post(api: Api, case_id: str, path: str, role: str, **body: Any) -> None:
    unit = LEAD if role == "unit_liaison" else None
    answer = api.post(
        f"/api/v1/cases/{case_id}/{path}", json=body or None, headers=api.auth(role, unit=unit)
    )
    assert answer.status_code in (200, 201), answer.text


def open_as(office: Office, role: str, name: str, case_id: str) -> Page:
    page = office.sign_in(role, name, LEAD if role == "unit_liaison" else None)
    page.goto(f"/ui/cases/{case_id}")
    return page


def test_the_office_merges_one_case_and_does_not_accept_another(
    served: tuple[Office, Api],
) -> None:
    office, api = served
    target = api.register(**UNROUTED, summary="原件").json()
    duplicate = api.register(**UNROUTED, summary="重复件").json()
    refused = api.register(channel="petition", content="反映邻里纠纷,不属纠风范围").json()
    for tip in (target, duplicate, refused):
        case_in_ledger(api, tip["case_id"], "registered")
    desk = open_as(office, "office", "纠风办周某", duplicate["case_id"])
    act(desk, "merge", into=target["number"], reason="同一问题重复反映")
    shows_status(desk, "merged")
    expect(desk.locator("main")).to_contain_text(target["number"])
    desk.goto(f"/ui/cases/{refused['case_id']}")
    act(desk, "not_accepted", reason="邻里纠纷不属于本办受理范围,已告知反映人")
    shows_status(desk, "not_accepted")
    expect(desk.locator("#timeline")).to_contain_text("不予受理")


def test_a_return_is_overruled_by_the_office(served: tuple[Office, Api]) -> None:
    office, api = served
    case_id = dispatched_case(api)
    liaison = open_as(office, "unit_liaison", "联络员王某", case_id)
    act(liaison, "return", reason="该事项属区人社局职责,不属本街道")
    shows_status(liaison, "returned")
    desk = open_as(office, "office", "纠风办周某", case_id)
    act(desk, "overrule_return", reason="属地管理,由街道牵头办理")
    shows_status(desk, "dispatched")
    timeline = desk.locator("#timeline")
    expect(timeline.locator("li", has_text="退回").first).to_contain_text("联络员王某")
    expect(timeline.locator("li", has_text="驳回退回").first).to_contain_text("纠风办周某")


def test_an_extension_is_asked_for_granted_and_progress_reported(
    served: tuple[Office, Api],
) -> None:
    office, api = served
    case_id = dispatched_case(api)
    post(api, case_id, "sign", "unit_liaison")
    case_in_ledger(api, case_id, "in_progress")
    liaison = open_as(office, "unit_liaison", "联络员王某", case_id)
    act(liaison, "progress", note="已约谈当事人,正在调取监控")
    act(liaison, "extension", working_days="10", reason="需调取多日监控并约谈多人")
    desk = open_as(office, "office", "纠风办周某", case_id)

    def offered() -> bool:
        if desk.locator("#form-decide_extension").count():
            return True
        desk.reload()
        return False

    wait_for(offered, 20, "the extension decision on the office's page", interval=0.2)
    act(desk, "decide_extension", granted="true", reason="情况属实")
    timeline = desk.locator("#timeline")

    def decided() -> bool:
        if timeline.locator("li", has_text="延期审批").count():
            return True
        desk.reload()
        return False

    wait_for(decided, 20, "the decision on the timeline", interval=0.2)
    for step in ("报送进展", "申请延期", "延期审批"):
        expect(timeline.locator("li", has_text=step).first).to_be_visible()


def test_a_second_pass_from_the_complainants_dissatisfaction_with_both_findings(
    served: tuple[Office, Api],
) -> None:
    office, api = served
    case_id = dispatched_case(api)
    post(api, case_id, "sign", "unit_liaison")
    post(api, case_id, "results", "unit_liaison", **RESULT)
    post(api, case_id, "results/1/review", "office", accepted=True)

    feedback_taken(
        lambda: api.post(
            f"/api/v1/cases/{case_id}/feedback",
            json={"channel": "online_publication", "content": "已公示"},
            headers=api.auth("office"),
        )
    )
    case_in_ledger(api, case_id, "awaiting_evaluation")
    desk = open_as(office, "office", "纠风办周某", case_id)
    act(desk, "evaluation", rating="dissatisfied", evaluator_kind="complainant")
    liaison = open_as(office, "unit_liaison", "联络员王某", case_id)

    def second_pass_form() -> bool:
        if liaison.locator("#form-result [name=direct_person_findings]").count():
            return True
        liaison.reload()
        return False

    wait_for(second_pass_form, 20, "the second pass's result form", interval=0.2)
    act(
        liaison,
        "result",
        findings="二次核查:问题属实",
        rectification="窗口全面整改",
        proposal_kind="accountability",
        proposal_text="对直接责任人诫勉谈话",
        direct_person_findings="直接责任人张某脱岗,已诫勉谈话",
        leadership_findings="分管领导督促不力,已责令书面检查",
        signed_off_by="主任 李某",
    )
    shows_status(liaison, "result_submitted")
    ARTIFACTS.mkdir(exist_ok=True)
    liaison.screenshot(path=str(ARTIFACTS / "ui-second-pass.png"), full_page=True)


def test_one_click_on_the_triage_desk(served: tuple[Office, Api]) -> None:
    office, api = served
    tip = api.register(**UNROUTED, summary="一键交办").json()
    case_in_ledger(api, tip["case_id"], "registered")
    admin = api.auth("admin")
    rules = api.get("/api/v1/routing-rules", headers=admin).json()["rules"]
    rule = {
        "id": "r-browser-desk",
        "name": "窗口玩手机交积玉桥街道",
        "match": {"keywords": ["玩手机游戏"]},
        "lead_unit": LEAD,
        "co_units": [],
        "track": "general",
    }
    put = api.put("/api/v1/routing-rules", json={"rules": [*rules, rule]}, headers=admin)
    assert put.status_code == 200, put.text
    desk = office.sign_in("office", "纠风办周某")
    desk.click("nav >> text=待分办")
    row = desk.locator(f"tr[data-number='{tip['number']}']")
    expect(row.locator(".suggestion")).to_contain_text("积玉桥街道办事处")
    row.locator("button:has-text('按规则交办')").click()
    expect(desk.locator("#dispatched")).to_contain_text(tip["number"])
    case_in_ledger(api, tip["case_id"], "dispatched")
    desk.screenshot(path=str(ARTIFACTS / "ui-desk.png"), full_page=True)
