"""待办 and 附件 in a real browser (Chromium through Playwright): a liaison sees the header's
count of a case dispatched to its unit, opens it from the inbox page and marks it read, and
attaches the form its head signed on the case page, which then lists it for download."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.files import pdf
from tests.support.infra import ServerThread
from tests.support.workbench import LEAD, dispatched_case
from tests.workbench.test_browser import Office, browser  # noqa: F401  # the shared Chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(
    browser: Browser,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Office, Api]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-browser-inbox") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        yield Office(server.url, settings, browser), api


def test_a_liaison_reads_its_inbox_and_attaches_the_signed_form(
    served: tuple[Office, Api], tmp_path_factory: pytest.TempPathFactory
) -> None:
    office, api = served
    person = {
        "id": "unit_liaison:联络员孙某",
        "name": "联络员孙某",
        "role": "liaison",
        "unit": LEAD,
    }
    assert api.post("/api/v1/persons", json=person, headers=api.auth("office")).status_code == 201
    case_id = dispatched_case(api)

    page = office.sign_in("unit_liaison", "联络员孙某", LEAD)
    badge = page.locator("#inbox-count")
    expect(badge).to_have_attribute("data-unread", "1")  # htmx fetched it after the page
    page.click("#inbox-link")
    row = page.locator("#inbox tbody tr").first
    expect(row).to_have_attribute("data-read", "false")
    expect(row).to_contain_text("交办")
    row.locator("button:has-text('标为已读')").click()
    expect(page.locator("#inbox tbody tr").first).to_have_attribute("data-read", "true")
    expect(page.locator("#inbox-count")).to_have_attribute("data-unread", "0")

    page.locator(f"#inbox a[href='/ui/cases/{case_id}']").click()
    form = tmp_path_factory.mktemp("upload") / "签字表.pdf"
    form.write_bytes(pdf("signed by the head"))
    page.select_option("#upload-form select[name=purpose]", "signed_form")
    page.set_input_files("#upload-form input[type=file]", str(form))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#error-attach")).to_have_count(0)
    listed = page.locator("#attachments tbody tr").first
    expect(listed).to_contain_text("主要领导签字背书")
    expect(listed).not_to_contain_text("签字表.pdf")  # the file's name is not kept
    with page.expect_download() as download:
        listed.locator("a.download").click()
    assert download.value.suggested_filename == "attachment-1.pdf"
