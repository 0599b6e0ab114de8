"""公开 in a real browser (Chromium through Playwright): the office approves a case's photo
for the public portal with the button beside it, sees it marked public, and withdraws it —
only with a reason, which the page then shows with who withdrew it. A video has the button too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.files import jpeg_with_gps, mp4_with_location, pdf
from tests.support.infra import ServerThread
from tests.support.workbench import dispatched_case
from tests.workbench.test_browser import Office, browser  # noqa: F401  # the shared Chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(
    browser: Browser,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Office, Api]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-browser-public") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        yield Office(server.url, settings, browser), api


def test_the_office_approves_a_photo_for_the_portal_and_withdraws_it(
    served: tuple[Office, Api],
) -> None:
    office, api = served
    case_id = dispatched_case(api)
    files = (("现场.jpg", jpeg_with_gps()), ("材料.pdf", pdf()), ("整改.mp4", mp4_with_location()))
    for name, data in files:
        r = api.post(
            f"/api/v1/cases/{case_id}/attachments",
            files={"file": (name, data, "application/octet-stream")},
            data={"purpose": "evidence"},
            headers=api.auth("office"),
        )
        assert r.status_code == 201, r.text

    page = office.sign_in("office", "纠风办王某")
    page.goto(f"/ui/cases/{case_id}#attachments")
    photo, paper, video = page.locator("#attachments tbody tr").all()
    expect(photo.locator(".public-state")).to_have_text("未公开")
    expect(paper.locator("td.public")).to_have_text("—")  # a PDF is never shown to the public
    expect(paper.locator("button")).to_have_count(0)
    expect(video.locator("button:has-text('批准公开')")).to_have_count(1)

    photo.locator("button:has-text('批准公开')").click()
    photo = page.locator("#attachments tbody tr").first
    expect(photo.locator(".public-state")).to_have_text("已公开")
    photo.locator("button:has-text('撤回公开')").click()  # no reason: the form does not go
    expect(photo.locator("input[name=reason]:invalid")).to_have_count(1)
    expect(photo.locator(".public-state")).to_have_text("已公开")
    photo.locator("input[name=reason]").fill("画面可辨认举报人住所")
    photo.locator("button:has-text('撤回公开')").click()
    photo = page.locator("#attachments tbody tr").first
    expect(photo.locator(".public-state")).to_have_text("已撤回公开")
    expect(photo.locator(".withdrawal")).to_contain_text("纠风办王某")
    expect(photo.locator(".withdrawal")).to_contain_text("理由:画面可辨认举报人住所")
    api_view = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth("office"))
    assert api_view.json()["items"][0]["public"] is False
    assert api_view.json()["items"][0]["public_changed_by"] == "纠风办王某"
