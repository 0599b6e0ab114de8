"""The workbench's 定期任务 page (issue 19 point 6): the office opens the June self-inspection,
a unit's liaison reports against the 三个清单, the office reads the report and reviews it —
and a report without the three lists is refused in Chinese on the same page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import Workbench

pytestmark = pytest.mark.calendar


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-rounds") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def signed_in(api: Api, role: str, unit: str | None = None) -> Workbench:
    bench = Workbench(str(api.base_url))
    token = api.auth(role, "办公室甲", unit=unit)["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(token).status_code == 200
    return bench


def test_a_self_inspection_round_is_opened_reported_and_reviewed_on_its_page(api: Api) -> None:
    office = signed_in(api, "office")
    first = office.page("/ui/rounds", year=2031)
    assert first.status_code == 200 and "2031年定期任务" in first.text
    assert first.text.count("尚未开启") == 3 and 'id="open-round"' in first.text

    wrong = office.submit("/ui/rounds", kind="self_inspection", period="2031-03")
    assert wrong.status_code == 422 and 'id="rounds-error"' in wrong.text

    # the seeded directory reaches the ledger a moment after start; a round opened before it
    # would be owed by no unit, so until then the office is told to wait (409, on the page)
    def open_june() -> Any:
        answer = office.submit(
            "/ui/rounds", kind="self_inspection", period="2031-06", working_days="5"
        )
        if answer.status_code == 409:
            assert "请待单位名录同步后再开启" in answer.text
            return None
        return answer

    opened = wait_for(open_june, timeout=20, what="the directory to reach the ledger")
    assert opened.status_code == 200 and opened.url.path == "/ui/rounds"
    section = opened.text[opened.text.index('id="round-self_inspection-2031-06"') :]
    assert "对照三个清单履行职责情况自查 · 2031-06" in section and "已报送 0 /" in section

    # a unit the round holds: those tracking had mirrored from the seeded directory when it
    # opened (the directory's later units may not have reached it yet)
    round_ = api.get("/api/v1/rounds/self_inspection/2031-06", headers=api.auth("office"))
    code = round_.json()["units"][0]["unit"]
    directory = api.get("/api/v1/units", headers=api.auth("office")).json()["items"]
    unit = next(u for u in directory if u["code"] == code)
    liaison = signed_in(api, "unit_liaison", unit=unit["code"])
    page = liaison.page("/ui/rounds", year=2031)
    assert "本单位报送" in page.text and 'id="open-round"' not in page.text
    path = "/ui/rounds/self_inspection/2031-06/submission"
    bare = liaison.submit(path, content="只有正文")
    assert bare.status_code == 422 and "自查报告须对照权力清单、程序清单、责任清单" in bare.text
    reported = liaison.submit(
        path,
        content="本单位已完成自查",
        power_list="权力清单逐项对照,无越权事项",
        procedure_list="程序清单执行到位",
        responsibility_list="责任清单落实到岗",
        problem="窗口办件超时",
        rectification_task="增设窗口、限时办结",
        timetable="2031-09-30",
        responsible_person="李科长",
    )
    assert reported.status_code == 200
    assert "已报送 1 / 1" in reported.text  # the liaison reads its own line, no other unit's

    shown = office.page("/ui/rounds", year=2031).text
    row = shown[shown.index(f'data-unit="{unit["code"]}"') :]
    assert unit["name"] in row and "权力清单逐项对照" in row
    assert "窗口办件超时" in row and "责任人 李科长" in row
    review = f"/ui/rounds/self_inspection/2031-06/review/{unit['code']}"
    reviewed = office.submit(review, accepted="no", comment="问题整改时限过长")
    row = reviewed.text[reviewed.text.index(f'data-unit="{unit["code"]}"') :]
    assert "退回:问题整改时限过长" in row
    refused = liaison.submit(review, accepted="yes")
    assert refused.status_code == 403


def test_a_months_circular_is_issued_downloaded_and_its_honours_published(api: Api) -> None:
    office = signed_in(api, "office")
    year = int(office.page("/ui/rounds").text.split("年定期任务")[0][-4:]) - 1  # last year
    listed = office.page("/ui/circulars", year=year)
    assert listed.status_code == 200 and listed.text.count("data-month=") == 12
    issued = office.submit(f"/ui/circulars/{year}-12")
    assert issued.status_code == 200 and issued.url.path == "/ui/circulars"
    row = issued.text[issued.text.index(f'data-month="{year}-12"') :].split("</tr>")[0]
    assert f"纠风通〔{year}〕12号" in row and "在公众门户公布红黑榜" in row
    assert f"/ui/documents/circular/{year}-12.docx" in row
    docx = office.page(f"/ui/documents/circular/{year}-12.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    again = office.submit(f"/ui/circulars/{year}-12")
    assert again.status_code == 409 and 'id="circulars-error"' in again.text

    published = office.submit(f"/ui/circulars/{year}-12/honours")
    row = published.text[published.text.index(f'data-month="{year}-12"') :].split("</tr>")[0]
    assert "已公布" in row and "在公众门户公布红黑榜" not in row
    assert api.get(f"/public/v1/honours/{year}-12").status_code == 200

    supervisor = signed_in(api, "supervisor").page("/ui/circulars", year=year)
    assert supervisor.status_code == 200 and "<button" not in supervisor.text.split("<tbody>")[1]


def test_the_workbenchs_document_links_download_with_the_viewers_session(api: Api) -> None:
    """A browser's session is not an API credential: each document link is the workbench's."""
    office = signed_in(api, "office")
    year = int(office.page("/ui/rounds").text.split("年定期任务")[0][-4:])
    assessment = office.page("/ui/assessment", year=year).text
    assert f'href="/ui/documents/assessment/{year}.docx"' in assessment
    report = office.page(f"/ui/documents/assessment/{year}.docx")
    assert report.status_code == 200 and report.content[:2] == b"PK"
    assert 'href="/ui/documents/accountability.xlsx"' in office.page("/ui/accountability").text
    listed = office.page("/ui/documents/accountability.xlsx")
    assert listed.status_code == 200 and listed.content[:2] == b"PK"
    liaison = signed_in(api, "unit_liaison", unit="WC-JYQ")
    assert liaison.page(f"/ui/documents/assessment/{year}.docx").status_code == 403
    assert office.page("/ui/documents/circular/2026-13.docx").status_code == 422
