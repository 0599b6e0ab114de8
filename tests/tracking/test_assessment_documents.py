"""The office's documents as .docx, opened with python-docx: the official layout (title, 文号,
date, body, tables), the annual assessment report and the rectification notice with the right
figures, and an issued circular frozen: reprinting gives the numbers it was issued with."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import docx
import pypdf
import pytest

from shared.platform.officialdoc import DOCX, PDF, OfficialDocument, Table, to_docx, to_pdf
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401
from tests.support.workbench import Workbench

SHANGHAI = ZoneInfo("Asia/Shanghai")


def opened(content: bytes) -> tuple[list[str], list[list[list[str]]]]:
    document = docx.Document(io.BytesIO(content))
    paragraphs = [p.text for p in document.paragraphs if p.text]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    return paragraphs, tables


def charts(content: bytes) -> list[bytes]:
    """The pictures of a .docx (its charts), as stored."""
    document = docx.Document(io.BytesIO(content))
    return [part.blob for part in document.part.package.image_parts]


def pdf_images(content: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return sum(len(page.images) for page in reader.pages)


def pdf_text(content: bytes) -> str:
    """The text, lines joined (narrow table cells wrap)."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "".join(page.extract_text().replace("\n", "") for page in reader.pages)


def embedded_fonts(content: bytes) -> set[str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()
            for d in descendant.get("/DescendantFonts", [descendant]):
                described = d.get_object().get("/FontDescriptor")
                if described is not None and any(
                    k in described.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    fonts.add(str(descendant["/BaseFont"]))
    return fonts


def test_the_official_layout() -> None:
    document = OfficialDocument(
        title="2026年3月纠风问题办理情况通报",
        number="纠风通〔2026〕3号",
        issued_on=date(2026, 4, 2),
        issuer="纠风办",
        addressee="各责任单位",
        body=["现将情况通报如下。"],
        tables=[Table("一、各单位情况", ["单位", "按期签收率"], [["区教育局", "75.0%"]])],
    )
    content = to_docx(document)
    paragraphs, tables = opened(content)
    assert paragraphs == [
        "2026年3月纠风问题办理情况通报",
        "纠风通〔2026〕3号",
        "各责任单位:",
        "现将情况通报如下。",
        "一、各单位情况",
        "纠风办",
        "2026年4月2日",
    ]
    assert tables == [[["单位", "按期签收率"], ["区教育局", "75.0%"]]]
    pdf = to_pdf(document)
    text = pdf_text(pdf)
    for expected in (
        "纠风问题办理情况通报",
        "纠风通〔2026〕3号",
        "区教育局",
        "75.0%",
        "2026年4月2日",
    ):
        assert expected in text
    assert embedded_fonts(pdf), "the CJK font is embedded"


@pytest.mark.calendar
def test_circular_frozen_and_assessment_documents(served: Served) -> None:
    served.unit("D1", "区教育局")
    Case(served, channel="mayor_hotline", summary="逾期未签收").triage().dispatch(
        "D1", sign_in=timedelta(hours=-1)
    )
    Case(served, channel="mayor_hotline", summary="按期签收").triage().dispatch("D1").sign()
    now = served.tracking.now().astimezone(SHANGHAI)
    month = f"{now.year}-{now.month:02d}"
    office = served.api.auth("office")

    r = served.api.post(f"/api/v1/circulars/{month}", headers=office)
    assert r.status_code == 201, r.text
    assert r.json()["number"] == f"纠风通〔{now.year}〕{now.month}号"
    first = served.api.get(f"/api/v1/circulars/{month}/docx", headers=office)
    assert first.status_code == 200 and first.headers["content-type"] == DOCX
    paragraphs, tables = opened(first.content)
    assert paragraphs[:2] == [f"{now.year}年{now.month}月纠风问题办理情况通报", r.json()["number"]]
    units = next(t for t in tables if t[0][0] == "责任单位")
    d1 = next(row for row in units if row[0] == "区教育局")
    assert d1[1:3] == ["2", "50.0%"]  # two cases, one of two signed on time

    # the month moves on: one more missed sign-for; the live report sees it, the circular not
    Case(served, channel="mayor_hotline", summary="又一件逾期未签收").triage().dispatch(
        "D1", sign_in=timedelta(hours=-1)
    )
    live = served.api.get(f"/api/v1/reports/monthly/{month}", headers=office).text
    assert "| 区教育局 | 3 | 33.3% |" in live
    again = served.api.get(f"/api/v1/circulars/{month}/docx", headers=office)
    assert opened(again.content) == (paragraphs, tables)
    assert charts(again.content) == charts(first.content) != []  # the same figure, reprinted
    assert "附图 各责任单位按期签收、办结情况" in paragraphs
    r = served.api.post(f"/api/v1/circulars/{month}", headers=office)
    assert r.status_code == 409 and r.json()["code"] == "circular_already_issued"
    printed = served.api.get(f"/api/v1/circulars/{month}/pdf", headers=office)
    assert pdf_images(printed.content) >= 1  # the chart (pypdf may list its alpha mask too)
    assert printed.status_code == 200 and printed.headers["content-type"] == PDF
    assert "区教育局" in pdf_text(printed.content)
    r = served.api.get("/api/v1/circulars/2020-01/docx", headers=office)
    assert r.status_code == 404 and r.json()["code"] == "no_such_circular"

    # 红黑榜 on the public portal once the office publishes it
    r = served.api.get(f"/public/v1/honours/{month}")
    assert r.status_code == 404 and r.json()["code"] == "no_such_honours"
    r = served.api.post(f"/api/v1/circulars/{month}/honours", headers=office)
    assert r.status_code == 201, r.text
    r = served.api.get(f"/public/v1/honours/{month}")
    assert r.status_code == 200, r.text
    assert r.json()["red"] == []
    assert [(b["name"], b["missed"]) for b in r.json()["black"]] == [("区教育局", 2)]
    r = served.api.post(f"/api/v1/circulars/{month}/honours", headers=office)
    assert r.status_code == 409 and r.json()["code"] == "honours_already_published"

    # the annual assessment report and the rectification notice
    report = served.api.get(f"/api/v1/assessments/{now.year}/report.docx", headers=office)
    assert report.status_code == 200, report.text
    paragraphs, tables = opened(report.content)
    assert paragraphs[0] == f"{now.year}年度责任制检查考核情况报告"
    assessed = served.api.get(f"/api/v1/assessments/{now.year}/D1", headers=office).json()
    row = next(row for row in tables[0] if row[2] == "区教育局")
    assert row[3] == f"{assessed['score']:.2f}"
    assert row[5] == assessed["final_grade"]["label"]
    r = served.api.get(f"/api/v1/assessments/{now.year}/D1/notice.docx", headers=office)
    assert r.status_code == 404 and r.json()["code"] == "no_such_notice"
    r = served.api.post(
        f"/api/v1/assessments/{now.year}/D1/notice",
        json={"issues": ["按期签收率偏低", "逾期案件未及时签收"], "reply_working_days": 5},
        headers=office,
    )
    assert r.status_code == 201, r.text
    deadline = r.json()["notice"]["reply_deadline"]
    notice = served.api.get(f"/api/v1/assessments/{now.year}/D1/notice.docx", headers=office)
    paragraphs, _ = opened(notice.content)
    assert paragraphs[:3] == [
        "党风廉政问题告知与整改通知书",
        f"纠风整改〔{now.year}〕1号",
        "区教育局:",
    ]
    day = datetime.fromisoformat(deadline).astimezone(SHANGHAI).date()
    assert f"于{day.year}年{day.month}月{day.day}日前" in paragraphs[3]
    assert paragraphs[4:6] == ["1. 按期签收率偏低", "2. 逾期案件未及时签收"]
    printed = served.api.get(f"/api/v1/assessments/{now.year}/D1/notice.pdf", headers=office)
    assert printed.status_code == 200 and printed.headers["content-type"] == PDF
    text = pdf_text(printed.content)
    assert f"纠风整改〔{now.year}〕1号" in text and "按期签收率偏低" in text

    # the workbench: the ranking and the unit's breakdown with its case numbers
    bench = Workbench(str(served.api.base_url))
    token = served.api.auth("office")["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(token).status_code == 200
    ranking = bench.page("/ui/assessment", year=now.year)
    assert ranking.status_code == 200
    assert "区教育局" in ranking.text and assessed["final_grade"]["label"] in ranking.text
    unit_page = bench.page(f"/ui/assessment/{now.year}/D1")
    assert unit_page.status_code == 200
    for number in assessed["cases"]["unsigned_past_deadline"]:
        assert number in unit_page.text
    assert bench.page(f"/ui/assessment/{now.year}/NOPE").status_code == 404
