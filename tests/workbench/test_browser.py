"""The workbench in a real browser (Debian's Chromium through Playwright): one case from the
office's registration to close-out, each person signing in through the form, and a second
liaison who cannot see it. Screenshots of the ledger, case and dashboard pages go to
``test-artifacts/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from services.app import create_app
from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.api import EVALUATOR_KIND
from tests.support.infra import ServerThread, ensure_debian_package, wait_for
from tests.support.workbench import LEAD, OTHER

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIP = "某局工作人员上班时间玩手机游戏,群众排队无人理会,多次反映无果"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = ensure_debian_package("chromium", "chromium")
    if chromium is None:  # never a skip: the browser tests must run (CI installs it)
        pytest.fail("Chromium is missing: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


class Office:
    """The running workbench and a way to sign anyone in through its form."""

    def __init__(self, url: str, settings: Settings, browser: Browser) -> None:
        self.url, self.secrets, self.browser = url, load_secrets(settings), browser

    def sign_in(self, role: str, name: str, unit: str | None = None) -> Page:
        page = self.browser.new_context(base_url=self.url, locale="zh-CN").new_page()
        page.set_default_timeout(30_000)
        page.goto("/ui/login")
        credential = issue_token(
            self.secrets, role=Role(role), name=name, unit=unit, kind=EVALUATOR_KIND.get(role)
        )
        page.fill("textarea[name=credential]", credential)
        page.click("button:has-text('登录')")
        expect(page.locator("#who")).to_contain_text(name)
        return page


@pytest.fixture(scope="module")
def office(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-browser") / "data")
    with ServerThread(create_app(settings)) as server:
        yield Office(server.url, settings, browser)


def act(page: Page, form: str, **fields: str) -> None:
    """Fill one action form of the case page and submit it; it must not be refused."""
    submit(page, form, **fields)
    expect(page.locator(f"#error-{form}")).to_have_count(0)


def submit(page: Page, form: str, **fields: str) -> None:
    """Fill one action form of the case page and submit it."""
    for name, value in fields.items():
        field = page.locator(f"#form-{form} [name={name}]")
        if field.count() > 1:  # radio buttons
            field.and_(page.locator(f"[value='{value}']")).check()
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.click(f"#form-{form} button[type=submit]")


def shows_status(page: Page, status: str) -> None:
    """The case page shows ``status`` (reloading while the ledger catches up)."""

    def shown() -> bool:
        if page.locator("#case-status").get_attribute("data-status") == status:
            return True
        page.reload()
        return False

    wait_for(shown, 30, f"the case page to show {status}", interval=0.2)


def test_a_case_from_registration_to_close_out_in_the_browser(office: Office) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # The office registers a walk-in's tip and dispatches it to the lead unit.
    desk = office.sign_in("office", "纠风办周某")
    expect(desk.locator("#who")).to_contain_text("纠风办")
    desk.click("nav >> text=登记")
    desk.select_option("select[name=channel]", "conduct_hotline")
    desk.fill("input[name=summary]", "上班玩手机")
    desk.fill("textarea[name=content]", TIP)
    desk.click("#intake button[type=submit]")
    number = desk.locator("#registered-number").inner_text()
    desk.click("#open-case")
    case_path = desk.url.removeprefix(office.url)
    shows_status(desk, "registered")
    act(desk, "triage", track="general")
    shows_status(desk, "registered")
    act(desk, "dispatch", lead_unit=LEAD)
    shows_status(desk, "dispatched")
    expect(desk.locator("#lead-unit")).to_contain_text("积玉桥街道办事处")

    # The lead unit's liaison finds it in the ledger, signs for it and submits a result.
    liaison = office.sign_in("unit_liaison", "联络员王某", LEAD)
    expect(liaison.locator("#who")).to_contain_text("积玉桥街道办事处")
    liaison.click(f"text={number}")
    act(liaison, "sign")
    shows_status(liaison, "in_progress")
    act(
        liaison,
        "result",
        findings="经查属实,该工作人员上班时间玩手机",
        rectification="已批评教育,窗口实行首问负责制",
        proposal_kind="rectification",
        proposal_text="加强作风建设",
        signed_off_by="主任 李某",
    )
    shows_status(liaison, "result_submitted")

    # The office accepts the result and records the feedback the channel requires.
    desk.goto(case_path)
    act(desk, "review", accepted="true")
    shows_status(desk, "awaiting_feedback")

    def feedback_taken() -> bool:
        """The ledger may show the accepted result a moment before tracking's follow-up
        has it; the refusal then says so, and the office submits again."""
        desk.goto(case_path)
        submit(desk, "feedback", channel="online_publication", content="已在网上公示办理结果")
        refused = desk.locator("#error-feedback")
        if refused.count() == 0:
            return True
        expect(refused).to_contain_text("尚未审核通过")
        return False

    wait_for(feedback_taken, 30, "tracking's follow-up to take feedback", interval=0.2)
    shows_status(desk, "awaiting_evaluation")

    # An evaluator (a deputy) rates it; the office closes it out.
    deputy = office.sign_in("evaluator", "人大代表陈某")
    deputy.goto("/ui/evaluations")  # its work list: summary, result, feedback, no reporter
    row = deputy.locator(f"#worklist tr[data-number='{number}']")
    expect(row).to_contain_text("去评价")
    row.get_by_role("link", name=number).click()
    act(deputy, "evaluation", rating="satisfied")  # the kind is the credential's
    expect(deputy.locator("#evaluation")).to_contain_text("满意(人大代表)")
    desk.goto(case_path)
    act(desk, "close_out")
    shows_status(desk, "closed_out")
    timeline = desk.locator("#timeline")
    for step, who in (("签收", "联络员王某"), ("评价", "人大代表陈某"), ("销号", "纠风办周某")):
        expect(timeline.locator("li", has_text=step).first).to_contain_text(who)
    desk.screenshot(path=str(ARTIFACTS / "ui-case.png"), full_page=True)

    # The ledger shows it closed (the status filter updates the table in place).
    desk.click("nav >> text=台账")
    desk.select_option("select[name=status]", "closed_out")
    expect(desk).to_have_url(re.compile(r"status=closed_out"))
    row = desk.locator(f"tr[data-number='{number}']")
    expect(row).to_have_attribute("data-status", "closed_out")
    expect(row.locator(".status")).to_contain_text("已销号")
    desk.screenshot(path=str(ARTIFACTS / "ui-ledger.png"), full_page=True)

    # A second unit's liaison sees neither the case nor its row.
    other = office.sign_in("unit_liaison", "联络员赵某", OTHER)
    answer = other.goto(case_path)
    assert answer is not None and answer.status == 404
    expect(other.locator("main")).to_contain_text("未找到")
    other.goto("/ui/ledger")
    expect(other.locator(f"tr[data-number='{number}']")).to_have_count(0)

    # The dashboard draws its four charts from the vendored ECharts (no network).
    desk.click("nav >> text=统计")
    for chart in ("channels", "units", "satisfaction", "open"):
        expect(desk.locator(f"#chart-{chart}")).to_have_attribute("data-drawn", "true")
        expect(desk.locator(f"#chart-{chart} canvas")).to_have_count(1)
    desk.screenshot(path=str(ARTIFACTS / "ui-dashboard.png"), full_page=True)
    assert all((ARTIFACTS / f"ui-{n}.png").stat().st_size for n in ("case", "ledger", "dashboard"))


def test_a_higher_levels_undercover_case_is_decided_reported_back_and_closed_out(
    office: Office,
) -> None:
    """Issue 18: a 市纪委 暗访 finding through the procedure's decision and report back to
    close-out; the person's record then bars that year's awards."""
    desk = office.sign_in("office", "纠风办周某")
    desk.click("nav >> text=登记")
    desk.select_option("select[name=channel]", "undercover_visit")
    desk.fill("input[name=summary]", "市纪委暗访:窗口脱岗")
    desk.fill("textarea[name=content]", "市纪委暗访组发现某街道办事处窗口工作人员上班时间脱岗")
    desk.select_option("select[name=origin_level]", "city")
    desk.fill("input[name=origin_body]", "市纪委暗访组")
    desk.click("#intake button[type=submit]")
    desk.click("#open-case")
    case_path = desk.url.removeprefix(office.url)

    def procedure_shown() -> bool:
        if desk.locator("#procedure").count():
            return True
        desk.reload()
        return False

    wait_for(procedure_shown, 30, "the procedure on the case page", interval=0.2)
    expect(desk.locator("#procedure")).to_contain_text("上级来源")
    act(desk, "triage", track="general")
    act(desk, "dispatch", lead_unit=LEAD)
    shows_status(desk, "dispatched")

    liaison = office.sign_in("unit_liaison", "联络员王某", LEAD)
    liaison.goto(case_path)
    act(liaison, "sign")
    shows_status(liaison, "in_progress")
    act(
        liaison,
        "result",
        findings="经查属实,窗口人员孙某脱岗",
        rectification="已通报,实行弹性排班",
        proposal_kind="accountability",
        proposal_text="对孙某诫勉谈话",
        signed_off_by="主任 李某",
    )
    desk.goto(case_path)
    act(desk, "review", accepted="true")
    shows_status(desk, "awaiting_evaluation")

    act(
        desk,
        "accountability",
        target_kind="person",
        name="孙某",
        unit="积玉桥街道办事处",
        position="窗口科员",
        liability="direct",
        measures="admonishment_talk",
        decided_by="appointing_authority",
        decided_on="2026-11-18",
    )
    expect(desk.locator("#procedure-stage")).to_contain_text("待回告")
    act(desk, "report_back", reported_to="市纪委", content="已对孙某诫勉谈话")
    expect(desk.locator("#procedure-stage")).to_contain_text("已办结")

    deputy = office.sign_in("evaluator", "人大代表陈某")
    deputy.goto(case_path)
    act(deputy, "evaluation", rating="satisfied")  # the kind is the credential's
    desk.goto(case_path)
    act(desk, "close_out")
    shows_status(desk, "closed_out")

    desk.click("nav >> text=问责清单")
    desk.click("text=孙某")
    expect(desk.locator(".award-bar")).to_contain_text("2026年度不得评优评先")
    desk.screenshot(path=str(ARTIFACTS / "ui-person.png"), full_page=True)


def test_the_assessment_ranking_leads_to_a_units_breakdown(office: Office) -> None:
    """考核: the year's ranking lists every unit by group; a unit's name opens its breakdown
    with the measures and the cases behind each figure."""
    desk = office.sign_in("office", "纠风办刘某")
    desk.click("nav a:has-text('考核')")
    expect(desk.locator("h1")).to_contain_text("年度责任制考核")
    row = desk.locator(f"#assessment tr[data-unit='{LEAD}']")
    expect(row).to_contain_text("街道")
    expect(desk.locator("a:has-text('下载考核情况报告')")).to_have_count(1)
    row.locator("a").click()
    expect(desk.locator("h1")).to_contain_text("积玉桥街道办事处")
    expect(desk.locator("#measures")).to_contain_text("按期办结率")
    expect(desk.locator("#cases")).to_contain_text("逾期未签收")
    # the office's periodic duties and its circulars are one click from every page (issue 19)
    desk.click("nav >> text=定期任务")
    expect(desk.locator("h1")).to_contain_text("年定期任务")
    desk.click("nav >> text=月度通报")
    expect(desk.locator("h1")).to_contain_text("年月度通报")
