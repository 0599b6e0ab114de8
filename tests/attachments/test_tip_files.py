"""A tip with its files in one request (issue 21 point 2, ADR 22), on SQLite and PostgreSQL:
a hotline system sends the tip's JSON and its photos together; intake checks them by the
shared store's rules, the tip's event carries only keyed digest, type and size, and the case
lists them as its evidence (线索证据) — downloadable without GPS, audited. A refused file
registers no tip and keeps no file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.platform.settings import Settings
from tests.support.api import Api, problem, stored_notifications
from tests.support.dispatch import UNROUTED
from tests.support.files import GPS_IFD, exif_of, jpeg_with_gps, pdf, renamed_executable
from tests.support.infra import ServerThread, wait_for

LIMIT = 200_000
PATH = "/api/v1/tips/with-attachments"
OPERATOR = {"role": "operator", "name": "热线系统"}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    from services.app import create_app

    small = settings.model_copy(update={"attachment_max_bytes": LIMIT})
    with ServerThread(create_app(small)) as server, Api(server.url, small) as client:
        yield client


def send(
    api: Api, files: list[tuple[str, bytes]], key: str | None = None, **tip: Any
) -> httpx.Response:
    headers = api.auth(**OPERATOR) | ({"Idempotency-Key": key} if key else {})
    return api.post(
        PATH,
        data={"tip": json.dumps(UNROUTED | tip, ensure_ascii=False)},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        headers=headers,
    )


def blobs(settings: Settings) -> set[str]:
    root = Path(settings.data_dir) / "attachments"
    return {p.name for p in root.glob("*/*")} if root.exists() else set()


def attachments(api: Api, case_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth("office"))
    return list(r.json()["items"]) if r.status_code == 200 else []


def test_a_tip_and_its_photos_in_one_request_become_the_cases_evidence(api: Api) -> None:
    r = send(api, [("张三家门口.jpg", jpeg_with_gps()), ("举报材料.pdf", pdf())], key="hl-1")
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]

    # Intake's events say digest, type and size of each — never a byte or a name.
    events = [
        n for n in stored_notifications(api.settings, "intake") if str(n.originator_id) == case_id
    ]
    assert [n.topic.rsplit(":", 1)[-1] for n in events] == [
        "Tip.Registered",
        "Tip.EvidenceAttached",
    ]
    stored = events[1].state.decode(errors="replace")
    assert "张三" not in stored and "举报材料" not in stored and "image/jpeg" in stored

    wait_for(lambda: len(attachments(api, case_id)) == 2, 30, "the case lists the tip's files")
    photo, paper = attachments(api, case_id)
    assert [photo["purpose"], paper["purpose"]] == ["evidence", "evidence"]
    assert (photo["media_type"], paper["media_type"]) == ("image/jpeg", "application/pdf")
    assert photo["attached_by"]["name"] == "热线系统" and photo["purpose_label"] == "线索证据"
    assert len(photo["digest"]) == 64 and photo["digest"] in blobs(api.settings)

    got = api.get(photo["url"], headers=api.auth("office"))
    assert got.status_code == 200 and GPS_IFD not in exif_of(got.content)
    assert exif_of(got.content) == {}

    # The same request again is a replay: the same case, no second copy of the files.
    again = send(api, [("张三家门口.jpg", jpeg_with_gps()), ("举报材料.pdf", pdf())], key="hl-1")
    assert again.status_code == 200 and again.json()["case_id"] == case_id
    # The same key with other files is another request.
    other = send(api, [("x.pdf", pdf("another"))], key="hl-1")
    assert problem(other, 409)["code"] == "idempotency_conflict"
    # The JSON endpoint is unchanged for SPEC §6 clients.
    assert api.register(**UNROUTED).status_code == 201


def test_a_refused_file_registers_no_tip_and_keeps_no_file(api: Api) -> None:
    before_events = len(stored_notifications(api.settings, "intake"))
    before_blobs = blobs(api.settings)
    good = ("a.jpg", jpeg_with_gps())

    exe = problem(send(api, [good, ("photo.jpg", renamed_executable())]), 415)
    assert exe["code"] == "attachment_type_refused" and exe["file"] == 2
    assert "按文件内容识别" in exe["detail"]
    big = problem(send(api, [("big.pdf", pdf() + b"0" * LIMIT)]), 413)
    assert big["code"] == "attachment_too_large" and "字节上限" in big["detail"]
    empty = problem(send(api, [good, ("empty.jpg", b"")]), 422)
    assert empty["code"] == "attachment_empty"
    many = problem(send(api, [good] * 11), 422)
    assert many["code"] == "too_many_files" and "最多附 10 个文件" in many["detail"]
    bad_tip = problem(send(api, [good], channel="no_such_channel"), 422)
    assert bad_tip["errors"][0]["field"] == "tip.channel"
    assert problem(send(api, [good], category="没有这个类别"), 422)["code"] == "unknown_category"
    not_json = api.post(
        PATH, data={"tip": "{"}, files=[("files", good)], headers=api.auth(**OPERATOR)
    )
    assert problem(not_json, 400)["code"] == "malformed_json"
    unit = api.auth("unit_liaison", unit="X")
    assert problem(api.post(PATH, data={"tip": "{}"}, files=[("files", good)], headers=unit), 403)

    assert len(stored_notifications(api.settings, "intake")) == before_events  # no tip, no number
    assert blobs(api.settings) == before_blobs  # not even the good file of a refused request


def test_an_open311_request_with_a_photo_keeps_it_as_the_cases_evidence(api: Api) -> None:
    from shared.platform.readmodel import create_engine, run_sync
    from shared.web.auth import Role, create_api_key

    async def make() -> tuple[str, str]:
        engine = create_engine(api.settings)
        try:
            return await create_api_key(engine, role=Role.OPERATOR, name="市民App")
        finally:
            await engine.dispose()

    _, secret = run_sync(make())
    form = {"api_key": secret, "service_code": "arbitrary_charges", "description": "办证多收费"}
    form |= {"address_string": "积玉桥街道和平大道 1 号", "attribute[subject_unit]": "某局"}
    before_blobs = blobs(api.settings)
    refused = api.post(
        "/open311/v2/requests.json",
        data=form,
        files=[("media", ("a.jpg", jpeg_with_gps())), ("media", ("b.jpg", renamed_executable()))],
    )
    assert refused.status_code == 400, refused.text
    assert "media 第 2 个文件" in refused.json()[0]["description"]
    assert blobs(api.settings) == before_blobs  # the good photo of the refused request: not kept

    r = api.post(
        "/open311/v2/requests.json", data=form, files=[("media", ("a.jpg", jpeg_with_gps()))]
    )
    assert r.status_code == 201, r.text
    number = r.json()[0]["service_request_id"]

    def by_number() -> dict[str, Any] | None:
        r = api.get(f"/api/v1/cases/by-number/{number}", headers=api.auth("office"))
        return r.json() if r.status_code == 200 else None

    case_id = wait_for(by_number, 30, "the ledger has the request")["case_id"]
    wait_for(lambda: len(attachments(api, case_id)) == 1, 30, "the case lists the photo")
    (photo,) = attachments(api, case_id)
    assert (photo["purpose"], photo["media_type"]) == ("evidence", "image/jpeg")
    assert photo["attached_by"]["name"] == "市民App"
