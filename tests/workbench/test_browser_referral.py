"""The referral decision in a real browser (issue 20): a 人大代表's 不满意 shows on the case
page as pending, the page loads the office's form, the office declines a second pass with a
reason and the page shows the decision. Screenshot in ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from shared.platform.settings import Settings
from tests.support.pinned import pinned_clock
from tests.support.tracking import Served, serving
from tests.tracking.test_evaluators import DEPUTY, awaiting_evaluation, rated
from tests.workbench.test_browser import ARTIFACTS, Office, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    where = tmp_path_factory.mktemp("ui-referral")
    settings = Settings(data_dir=where / "data", clock_file=pinned_clock(where / "clock"))
    with serving(settings) as served:
        yield served


def test_the_office_declines_a_referred_second_pass_in_the_browser(
    served: Served,
    browser: Browser,  # noqa: F811
) -> None:
    case = awaiting_evaluation(served, "反映某校乱收费")
    rated(case, {"rating": "dissatisfied", "comment": "整改不到位"}, **DEPUTY)
    office = Office(str(served.api.base_url), served.settings, browser)

    page = office.sign_in("office", "周主任")
    page.goto(f"/ui/cases/{case.id}")
    expect(page.locator("#referral")).to_contain_text("待办公室研究")
    form = page.locator("#form-referral")
    expect(form).to_be_visible()
    form.locator("input[value=decline]").check()
    form.locator("textarea[name=reason]").fill("已回访核实,整改到位")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-referral.png"), full_page=True)
    form.locator("button[type=submit]").click()
    expect(page.locator("#referral")).to_contain_text("办公室决定不启动二次办理")
    expect(page.locator("#form-referral")).to_have_count(0)
    assert Path(ARTIFACTS / "case-referral.png").exists()
