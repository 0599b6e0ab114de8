"""The public portal in a real browser (Debian's Chromium through Playwright) at a phone's
viewport, 390×844 (and the results at 1280×800), no sign-in: look a case up by receipt code, rate it, read the published
results — with the particulars the published wording still carried masked. Screenshots of
each page go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from shared.platform.settings import Settings
from tests.support.infra import ensure_debian_package, wait_for
from tests.support.tracking import Case, Served, serving
from tests.tracking.test_follow_up import posted

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PUBLISHED = "经查属实,已退还多收费用。来电人:李四,电话13912345678,已回访。"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = ensure_debian_package("chromium", "chromium")
    if chromium is None:  # never a skip: the browser tests must run (CI installs it)
        pytest.fail("Chromium is missing: apt-get install -y chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serving(Settings(data_dir=tmp_path / "data")) as running:
        yield running


def awaiting_evaluation(served: Served) -> Case:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="mayor_hotline", summary="某校违规收取补课费")
    case.handled("WC-JYQ")
    case.wait_status("awaiting_feedback")
    # the office's wording still named the caller: it approves the masked suggestion instead
    refused = case.post("feedback", {"channel": "online_publication", "content": PUBLISHED})
    assert refused.status_code == 422 and refused.json()["flags"] == ["phone", "name"]
    approved = {"channel": "online_publication", "content": refused.json()["suggested"]}
    posted(case, "feedback", approved)
    posted(case, "feedback", {"channel": "direct_reply", "content": "已电话答复"})
    return case


def test_a_reporter_looks_up_rates_and_reads_results_on_a_phone(
    served: Served, browser: Browser
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    case = awaiting_evaluation(served)
    page: Page = browser.new_context(
        base_url=str(served.api.base_url), viewport=PHONE, locale="zh-CN"
    ).new_page()
    page.set_default_timeout(10_000)

    page.goto("/portal/")
    expect(page.get_by_role("heading", level=1)).to_have_text("查询举报办理进度")
    page.get_by_label("回执码").fill(case.answer["receipt_code"])
    page.keyboard.press("Enter")  # the form works from the keyboard
    expect(page.get_by_role("heading", level=1)).to_have_text(f"案件 {case.number}")
    expect(page.locator(".status")).to_contain_text("待评价")
    expect(page.locator(".steps")).to_contain_text("办理结果已审核通过")
    answers = page.locator("section", has=page.get_by_role("heading", name="给您的答复"))
    expect(answers).to_contain_text("139****5678")
    expect(answers).not_to_contain_text("13912345678")
    page.screenshot(path=str(ARTIFACTS / "portal-receipt.png"), full_page=True)

    page.get_by_label("基本满意").check()
    page.get_by_label("意见(可不填)").fill("处理及时")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator(".notice")).to_have_text("感谢您的评价,我们已记录。")
    wait_for(lambda: case.view()["latest_evaluation"], 30, "the rating on the ledger")
    assert case.view()["latest_evaluation"]["rating"] == "basically_satisfied"

    page.get_by_role("link", name="办理结果公示").first.click()
    item = page.locator("article", has_text=case.number)
    expect(item).to_contain_text("某校违规收取补课费")
    expect(item).to_contain_text("来电人:李某,电话139****5678")
    expect(item).to_contain_text("武昌区教育局")
    page.screenshot(path=str(ARTIFACTS / "portal-results.png"), full_page=True)
    page.set_viewport_size(DESKTOP)  # the same page on a desktop screen
    expect(item).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    page.screenshot(path=str(ARTIFACTS / "portal-results-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)

    page.goto("/portal/")
    page.get_by_label("回执码").fill("0000-0000-0000-0000")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("没有找到该回执码")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # the other public pages are a tap away and fit the phone's width
    page.get_by_role("link", name="典型案例").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("典型案例通报")
    page.get_by_role("link", name="红黑榜").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("红黑榜")
    page.get_by_role("link", name="上一月").click()
    expect(page.get_by_role("main")).to_contain_text("该月红黑榜尚未发布")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "portal-honours.png"), full_page=True)
