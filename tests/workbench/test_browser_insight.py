"""Insight in a real browser (issue 25): the case page loads its suggested duplicates, the
office folds the case into one with one click and lands on the case, merged; the dashboard
loads the 苗头预警 panel with links to the cases. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import ok
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import pinned_clock
from tests.support.workbench import case_in_ledger
from tests.workbench.test_browser import ARTIFACTS, Office, browser  # noqa: F401

pytestmark = pytest.mark.browser

STREET = {"district": "江岸区", "street": "南湖街道"}
HALL = {"unit": "南湖街道便民服务大厅"}


@pytest.fixture(scope="module")
def served(
    browser: Browser,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Office, Api]]:
    where = tmp_path_factory.mktemp("ui-insight")
    settings = Settings(data_dir=where / "data", clock_file=pinned_clock(where / "clock"))
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        yield Office(server.url, settings, browser), api


def tip(api: Api, content: str) -> str:
    body = {
        "content": content,
        "category": "arbitrary_charges",
        "location": STREET,
        "subject": HALL,
    }
    case_id: str = ok(api.register(**body), 201)["case_id"]
    return case_id


def test_the_office_folds_a_suggested_duplicate_and_sees_the_warning(
    served: tuple[Office, Api],
) -> None:
    office, api = served
    cases = [
        tip(api, f"南湖街道便民服务大厅办理停车证，王科长要交{n}00元加急费，不开收据。")
        for n in range(1, 9)  # eight in a day: beyond the rule's Poisson tail
    ]
    first, again = cases[0], cases[-1]
    number = case_in_ledger(api, first, "registered")["number"]
    wait_for(
        lambda: (
            api.get(f"/api/v1/cases/{again}/suggestions", headers=api.auth("office")).status_code
            == 200
        ),
        30,
        "insight to see the case",
    )

    page = office.sign_in("office", "周主任")
    page.goto("/ui/desk")  # 待分办's column, filled in after the page by one request
    expect(page.locator(f"#dup-{again}")).to_contain_text("件,最像")
    expect(page.locator(f"#dup-{again} a")).to_have_attribute(
        "href", f"/ui/cases/{again}#suggestions"
    )
    page.goto(f"/ui/cases/{again}")
    panel = page.locator("#suggestions")
    expect(panel).to_contain_text("疑似重复线索")
    expect(panel).to_contain_text(number)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-suggestions.png"), full_page=True)
    page.locator(f"#merge-into-{number} button[value=into_other]").click()
    expect(page.locator("p.notice")).to_contain_text("合并重复件")
    expect(page.locator("#case-status")).to_have_attribute("data-status", "merged")

    page.goto("/ui/dashboard")
    warnings = page.locator("#warnings")
    expect(warnings).to_contain_text("南湖街道")
    expect(warnings).to_contain_text("乱收费")
    page.screenshot(path=str(ARTIFACTS / "dashboard-warnings.png"), full_page=True)
    warnings.locator("a").first.click()
    expect(page.locator("#case-number")).to_be_visible()
