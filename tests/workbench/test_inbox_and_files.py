"""The workbench's 待办 and 附件 without a browser: a liaison sees the header's count and the
inbox entry of a case dispatched to its unit and marks it read; it attaches a photo on the
case page and downloads it without its GPS; it sets its quiet hours and daily digest on the
inbox page; the office's case page shows the delivery log; another unit's liaison gets the 404
page for the file."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.files import exif_of, jpeg_with_gps, renamed_executable
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import LEAD, OTHER, Workbench, dispatched_case

LIAISON = "unit_liaison:联络员甲"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-inbox") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def signed_in(api: Api, role: str, unit: str | None, name: str) -> Workbench:
    bench = Workbench(str(api.base_url))
    credential = api.auth(role, name, unit)["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(credential).status_code == 200
    return bench


def unread(bench: Workbench) -> int:
    badge = bench.get("/ui/inbox/count").text
    found = re.search(r'data-unread="(\d+)"', badge)
    assert found, badge
    return int(found.group(1))


def test_a_liaison_reads_its_inbox_attaches_a_photo_and_the_office_sees_the_delivery_log(
    api: Api,
) -> None:
    person = {"id": LIAISON, "name": "联络员甲", "role": "liaison", "unit": LEAD}
    assert api.post("/api/v1/persons", json=person, headers=api.auth("office")).status_code == 201
    case_id = dispatched_case(api)
    liaison = signed_in(api, "unit_liaison", LEAD, "联络员甲")

    header = liaison.page("/ui/ledger").text
    assert 'href="/ui/inbox"' in header and 'hx-get="/ui/inbox/count"' in header
    wait_for(lambda: unread(liaison) == 1, 30, "the dispatch notice in the inbox")
    inbox = liaison.page("/ui/inbox").text
    assert f'href="/ui/cases/{case_id}"' in inbox and 'data-read="false"' in inbox
    message_id = re.search(r'data-id="([0-9a-f-]{36})"', inbox)
    assert message_id
    after = liaison.submit(f"/ui/inbox/{message_id.group(1)}/read")
    assert after.status_code == 200 and 'data-read="true"' in after.text
    assert unread(liaison) == 0

    page = liaison.page(f"/ui/cases/{case_id}").text
    assert 'id="upload-form"' in page and "尚无附件" in page
    upload = liaison.post(
        f"/ui/cases/{case_id}/attachments",
        data={"csrf": liaison.csrf, "purpose": "result"},
        files={"file": ("门口.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert upload.status_code == 200 and "办理结果佐证材料" in upload.text
    link = re.search(rf'href="(/ui/cases/{case_id}/attachments/[0-9a-f]{{64}})"', upload.text)
    assert link, upload.text
    photo = liaison.get(link.group(1))
    assert photo.headers["content-type"] == "image/jpeg" and exif_of(photo.content) == {}

    refused = liaison.post(
        f"/ui/cases/{case_id}/attachments",
        data={"csrf": liaison.csrf, "purpose": "result"},
        files={"file": ("photo.jpg", renamed_executable(), "image/jpeg")},
    )
    assert refused.status_code == 415 and 'id="error-attach"' in refused.text
    assert "按文件内容识别" in refused.text

    office = signed_in(api, "office", None, "办公室乙")
    log = office.page(f"/ui/cases/{case_id}").text
    assert 'id="deliveries"' in log and 'data-channel="inbox" data-status="read"' in log
    assert "联络员甲" in log and "下载次数" in log

    # 通知设置 on the inbox page: SMS, the digest and quiet hours, and notify's own refusal.
    liaison.page("/ui/inbox")
    saved = liaison.submit(
        "/ui/inbox/settings",
        email_enabled="true",
        sms_enabled="true",
        digest="true",
        quiet_start="22:00",
        quiet_end="07:00",
    )
    assert saved.status_code == 200 and "已保存" in saved.text
    mine = api.get(
        "/api/v1/me/notification-settings", headers=api.auth("unit_liaison", "联络员甲", LEAD)
    ).json()
    assert mine == {
        "email_enabled": True,
        "robot_enabled": False,
        "sms_enabled": True,
        "quiet_start": "22:00",
        "quiet_end": "07:00",
        "digest": True,
    }
    assert 'name="sms_enabled" value="true" checked' in saved.text and "短信" in saved.text
    # this deployment has neither an SMTP server nor an SMS provider: the page says so
    assert "本系统未开通电子邮件、短信" in saved.text and "本系统未开通)" in saved.text
    half = liaison.submit("/ui/inbox/settings", quiet_start="22:00")
    assert half.status_code == 422 and 'id="error-settings"' in half.text
    assert "免打扰时段须同时给出开始和结束" in half.text

    stranger = signed_in(api, "unit_liaison", OTHER, "联络员丙")
    assert stranger.get(link.group(1)).status_code == 404
