"""Files on a case through the API, on SQLite and PostgreSQL: the lead unit attaches its
result's 佐证材料 and the signed form; the bytes come back without the photo's GPS; another
unit's liaison, a renamed executable and an oversized file are refused with clear 4xx; every
download is on the case's audit trail with who did it — and never the bytes or a name."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from pypdf import PdfReader

from shared.platform.settings import Settings
from tests.support.api import Api, problem
from tests.support.dispatch import act, add_units, case_events, ok, open_case
from tests.support.files import (
    GPS_IFD,
    MARKER,
    PLACE,
    exif_of,
    jpeg_with_gps,
    mp3_with_id3,
    mp4_with_location,
    pdf,
    pdf_with_metadata,
    pdf_with_password,
    renamed_executable,
)
from tests.support.infra import ServerThread, wait_for

LEAD, OTHER = "AT-LEAD", "AT-OTHER"
LIMIT = 200_000


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The all-in-one app with a small attachment limit (an oversized file stays small), where
    a result needs the signed form attached first."""
    from services.app import create_app

    update = {"attachment_max_bytes": LIMIT, "require_signed_form": True}
    small = settings.model_copy(update=update)
    with ServerThread(create_app(small)) as server, Api(server.url, small) as client:
        yield client


@pytest.fixture
def case_id(api: Api) -> str:
    add_units(api, LEAD, OTHER)
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    return case_id


def upload(
    api: Api, case_id: str, data: bytes, purpose: str, filename: str, **who: Any
) -> httpx.Response:
    return api.post(
        f"/api/v1/cases/{case_id}/attachments",
        files={"file": (filename, data, "image/jpeg")},
        data={"purpose": purpose},
        headers=api.auth(**who),
    )


def test_the_lead_unit_attaches_evidence_and_gets_every_kind_back_without_its_metadata(
    api: Api, case_id: str
) -> None:
    lead = {"role": "unit_liaison", "unit": LEAD, "name": "联络员甲"}
    photo = ok(upload(api, case_id, jpeg_with_gps(), "result", "张三家门口.jpg", **lead), 201)
    signed = ok(upload(api, case_id, pdf(), "signed_form", "局长签字.pdf", **lead), 201)
    assert (photo["media_type"], photo["purpose_label"]) == ("image/jpeg", "办理结果佐证材料")
    assert (signed["media_type"], signed["n"]) == ("application/pdf", 2)
    assert len(photo["digest"]) == 64 and "张三" not in str(photo)

    listed = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth("office"))
    assert [a["purpose"] for a in ok(listed)["items"]] == ["result", "signed_form"]

    got = api.get(photo["url"], headers=api.auth(**lead))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"] == 'attachment; filename="attachment-1.jpg"'
    assert GPS_IFD not in exif_of(got.content) and exif_of(got.content) == {}

    # The audit trail: both uploads and the download, with the actor; no bytes, no names.
    events = case_events(api, case_id)
    assert events.count("Case.AttachmentAdded") == 2
    assert events.count("Case.AttachmentDownloaded") == 1

    def history() -> list[dict[str, Any]]:
        r = api.get(f"/api/v1/cases/{case_id}/history", headers=api.auth("supervisor"))
        if r.status_code == 404:  # the ledger (another consumer) has not the case yet
            return []
        return list(ok(r)["items"])

    wait_for(lambda: any(e["type"] == "CaseAttachmentDownloaded" for e in history()), 30, "audited")
    downloaded = next(e for e in history() if e["type"] == "CaseAttachmentDownloaded")
    assert "联络员甲" in str(downloaded) and photo["digest"] in str(downloaded)
    assert "张三" not in str(history()) and "局长签字" not in str(history())

    # A PDF's author and XMP, an MP4's recording place, an MP3's ID3 tags: gone on the way in
    # (ADR 22, last amendment); each file still opens.
    files = {"pdf": pdf_with_metadata(), "mp4": mp4_with_location(), "mp3": mp3_with_id3()}
    back = {}
    for kind, data in files.items():
        sent = ok(upload(api, case_id, data, "result", f"张三.{kind}", **lead), 201)
        back[kind] = api.get(sent["url"], headers=api.auth(**lead)).content
        assert MARKER.encode() in data and MARKER.encode() not in back[kind]
    assert PLACE not in back["mp4"] and MP4(io.BytesIO(back["mp4"])).info.length == 1.0
    assert len(PdfReader(io.BytesIO(back["pdf"])).pages) == 1
    assert MP3(io.BytesIO(back["mp3"])).info.bitrate == 128_000


def test_another_units_liaison_a_renamed_executable_and_an_oversized_file_are_refused(
    api: Api, case_id: str
) -> None:
    lead = {"role": "unit_liaison", "unit": LEAD}
    other = {"role": "unit_liaison", "unit": OTHER}
    photo = ok(upload(api, case_id, jpeg_with_gps(), "result", "a.jpg", **lead), 201)
    before = case_events(api, case_id)

    assert problem(upload(api, case_id, pdf(), "result", "x.pdf", **other), 404)
    assert problem(api.get(photo["url"], headers=api.auth(**other)), 404)
    listing = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth(**other))
    assert problem(listing, 404)

    exe = problem(upload(api, case_id, renamed_executable(), "result", "photo.jpg", **lead), 415)
    assert exe["code"] == "attachment_type_refused" and "按文件内容识别" in exe["detail"]
    locked = problem(upload(api, case_id, pdf_with_password(), "result", "x.pdf", **lead), 422)
    assert locked["code"] == "attachment_unreadable" and "元数据" in locked["detail"]
    big = problem(upload(api, case_id, pdf() + b"0" * LIMIT, "result", "big.pdf", **lead), 413)
    assert big["code"] == "attachment_too_large" and "字节上限" in big["detail"]
    # Far over it, the edge refuses before the body is read (the limit plus multipart framing).
    huge = upload(api, case_id, pdf() + b"0" * (LIMIT + 70 * 1024), "result", "h.pdf", **lead)
    assert f"请求体超过 {LIMIT + 64 * 1024} 字节上限" in problem(huge, 413)["detail"]
    small_body = api.post(f"/api/v1/cases/{case_id}/triage", content=b"x" * (65 * 1024))
    assert (
        problem(small_body, 413)["detail"]
        == "请求体超过 65536 字节上限 (request body over 65536 bytes)"
    )
    wrong = problem(upload(api, case_id, pdf(), "decision", "d.pdf", **lead), 409)
    assert "附件" in wrong["detail"]
    unknown = api.get(f"/api/v1/cases/{case_id}/attachments/{'0' * 64}", headers=api.auth("office"))
    assert problem(unknown, 404)
    assert case_events(api, case_id) == before  # nothing recorded by a refusal


def test_the_operator_who_registered_the_tip_adds_its_evidence_and_nobody_else_does(
    api: Api,
) -> None:
    r = api.register(name="话务员甲")  # routed or not, the case opens in dispatch
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    operator = {"role": "operator", "name": "话务员甲"}
    wait_for(
        lambda: (
            upload(api, case_id, jpeg_with_gps(), "evidence", "p.jpg", **operator).status_code
            == 201
        ),
        30,
        "dispatch opened the case",
    )
    # Another operator's token has another subject: the case is unknown to it.
    stranger = problem(
        upload(api, case_id, pdf(), "evidence", "p.pdf", role="operator", name="话务员乙"), 404
    )
    assert stranger["detail"]
    listed = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth("office"))
    assert [a["purpose"] for a in ok(listed)["items"]] == ["evidence"]


def test_where_required_the_result_is_refused_until_the_signed_form_is_attached(
    api: Api, case_id: str
) -> None:
    lead = {"role": "unit_liaison", "unit": LEAD}
    ok(act(api, case_id, "sign", "unit_liaison", LEAD))
    result = {
        "findings": "经查属实",
        "rectification": "已整改",
        "proposal": {"kind": "rectification", "text": "完善制度"},
        "signed_off_by": "局长 王某",
    }
    refused = problem(act(api, case_id, "results", "unit_liaison", LEAD, **result), 422)
    assert refused["errors"][0]["field"] == "signed_form" and "签字" in refused["detail"]
    ok(upload(api, case_id, pdf(), "signed_form", "签字表.pdf", **lead), 201)
    submitted = ok(act(api, case_id, "results", "unit_liaison", LEAD, **result), 201)
    assert submitted["status"] == "result_submitted"
