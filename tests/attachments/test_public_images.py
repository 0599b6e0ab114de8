"""The public portal shows a published case's photos and videos only after the office approves
them (issue 21 point 4; videos: ADR 22, last amendment), on SQLite and PostgreSQL: approval and
withdrawal (with the office's reason) are events on the case with who and when; the portal's
results page and its image and video addresses show an approved file of a published case and
nothing else — an approved file before publication, an unapproved image, a PDF, another case's
file, a withdrawn image all answer 404. A video is served in ranges, as <video> asks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.platform.settings import Settings
from tests.support.api import Api, problem
from tests.support.attachments import RESULT, kept_uncleaned, served_with_services, upload_result
from tests.support.dispatch import act, add_units, case_events, ok, open_case, publish_online
from tests.support.files import GPS_IFD, PLACE, exif_of, jpeg_with_gps, mp4_with_location, pdf
from tests.support.infra import wait_for
from tests.support.workbench import case_in_ledger

LEAD = "PI-LEAD"


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with served_with_services(settings) as client:
        yield client


def public(
    api: Api, case_id: str, digest: str, shown: bool, reason: str | None = None, **who: Any
) -> Any:
    path = f"/api/v1/cases/{case_id}/attachments/{digest}/public"
    headers = api.auth(**({"role": "office", "name": "纠风办王某"} | who))
    if shown:
        return api.put(path, headers=headers)
    body = {"json": {"reason": reason}} if reason is not None else {}
    return api.request("DELETE", path, headers=headers, **body)


def accepted(api: Api) -> tuple[str, str, list[dict[str, Any]]]:
    """A case whose result was accepted (not yet published), with two photos, a PDF and a
    rectification video recorded by a phone (its place in it)."""
    add_units(api, LEAD)
    case_id = open_case(api, summary="窗口人员玩手机")
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    ok(act(api, case_id, "sign", "unit_liaison", LEAD))
    files = [
        upload_result(api, case_id, jpeg_with_gps(), LEAD),
        upload_result(api, case_id, jpeg_with_gps((9, 9, 9)), LEAD),
    ]
    files += [
        upload_result(api, case_id, pdf(), LEAD),
        upload_result(api, case_id, mp4_with_location(), LEAD),
    ]
    ok(act(api, case_id, "results", "unit_liaison", LEAD, **RESULT), 201)
    ok(act(api, case_id, "results/1/review", "office", accepted=True))
    number = ok(api.get(f"/api/v1/cases/{case_id}/dispatch", headers=api.auth("office")))["number"]
    return case_id, number, files


def recorded(api: Api, case_id: str, event: str) -> None:
    """Wait until the ledger has the event (the public endpoints are rate limited: not polled)."""

    def count() -> int:
        r = api.get(f"/api/v1/cases/{case_id}/history", headers=api.auth("supervisor"))
        return [e["type"] for e in ok(r)["items"]].count(event) if r.status_code == 200 else 0

    wait_for(lambda: count() >= 1, 30, f"the ledger has {event}")


def portal_images(api: Api, number: str, kind: str = "images") -> list[str]:
    items = ok(api.get("/public/v1/results"))["items"]
    return [i["url"] for item in items if item["number"] == number for i in item[kind]]


def test_only_an_approved_image_of_a_published_case_is_public(api: Api) -> None:
    case_id, number, (photo, other, paper, video) = accepted(api)
    image = f"/portal/results/{number}/images/{photo['digest']}"
    api_image = f"/public/v1/results/{number}/images/{photo['digest']}"

    # A liaison may not approve; a PDF cannot be shown; the office approves the photo.
    assert problem(public(api, case_id, photo["digest"], True, role="unit_liaison", unit=LEAD), 403)
    assert "图片" in problem(public(api, case_id, paper["digest"], True), 409)["detail"]
    approved = ok(public(api, case_id, photo["digest"], True))
    assert approved["public"] is True and approved["public_changed_by"] == "纠风办王某"
    assert ok(public(api, case_id, photo["digest"], True))["public"] is True  # again: no event
    assert case_events(api, case_id).count("Case.AttachmentApprovedForPublic") == 1
    assert ok(public(api, case_id, video["digest"], True))["public"] is True
    old = kept_uncleaned(api, case_id, mp4_with_location(), "video/mp4", LEAD)
    assert problem(public(api, case_id, old, True), 409)["code"] == "attachment_not_cleaned"

    # Approved, but the result is not published yet: nothing is public.
    recorded(api, case_id, "CaseAttachmentApprovedForPublic")
    assert api.get(image).status_code == 404 and problem(api.get(api_image), 404)
    assert problem(api.get(f"/public/v1/results/{number}/videos/{video['digest']}"), 404)

    case_in_ledger(api, case_id, "awaiting_feedback")
    publish_online(api, case_id)
    recorded(api, case_id, "FeedbackDelivered")  # published
    assert portal_images(api, number) == [api_image]
    shown = api.get(image)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert exif_of(shown.content) == {} and GPS_IFD not in exif_of(shown.content)
    assert "filename" not in shown.headers.get("content-disposition", "")
    page = api.get("/portal/results")
    assert image in page.text and other["digest"] not in page.text
    assert_video_is_served_in_ranges(api, number, video["digest"], page.text)

    # The other photo, the PDF, an unknown digest, a wrong number: 404 at both doors.
    for digest in (other["digest"], paper["digest"], "0" * 64):
        assert api.get(f"/portal/results/{number}/images/{digest}").status_code == 404
        assert problem(api.get(f"/public/v1/results/{number}/images/{digest}"), 404)
    assert api.get(f"/portal/results/2000-000001/images/{photo['digest']}").status_code == 404
    assert api.get(f"/portal/results/{number}/images/..%2f..%2fsecrets").status_code == 404

    # Withdrawn, saying why (a DELETE without a reason is refused and withdraws nothing):
    # gone from the portal, and both steps are on the case with who did them and why.
    refused = problem(public(api, case_id, photo["digest"], False), 422)
    assert refused["errors"][0]["code"] == "missing" and "必填" in refused["detail"]
    assert problem(public(api, case_id, photo["digest"], False, reason=" "), 422)
    assert case_events(api, case_id).count("Case.AttachmentWithdrawnFromPublic") == 0
    gone = ok(public(api, case_id, photo["digest"], False, reason="画面可辨认举报人住所"))
    assert (gone["public"], gone["public_withdrawal_reason"]) == (False, "画面可辨认举报人住所")
    recorded(api, case_id, "CaseAttachmentWithdrawnFromPublic")
    assert portal_images(api, number) == []
    assert api.get(image).status_code == 404
    r = api.get(f"/api/v1/cases/{case_id}/history", headers=api.auth("supervisor"))
    steps = [e for e in ok(r)["items"] if "Public" in e["type"]]
    assert [e["type"] for e in steps] == [
        "CaseAttachmentApprovedForPublic",
        "CaseAttachmentApprovedForPublic",
        "CaseAttachmentWithdrawnFromPublic",
    ]
    assert all("纠风办王某" in str(e) for e in steps)
    assert "画面可辨认举报人住所" in str(steps[-1]) and photo["digest"] in str(steps[-1])
    assert portal_images(api, number, "videos")  # the video stays until withdrawn itself


def assert_video_is_served_in_ranges(api: Api, number: str, digest: str, page: str) -> None:
    """The approved video: on the results page as <video>, whole or in ranges at both
    doors, without the place it was recorded; never under the images' address."""
    url = f"/public/v1/results/{number}/videos/{digest}"
    portal = f"/portal/results/{number}/videos/{digest}"
    assert portal_images(api, number, "videos") == [url]
    assert f'<video controls preload="metadata" src="{portal}"' in page
    whole = api.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes" and PLACE not in whole.content
    size = len(whole.content)
    for address in (url, portal):
        part = api.get(address, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == whole.content[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{size}"
        tail = api.get(address, headers={"Range": "bytes=-8"})
        assert tail.status_code == 206 and tail.content == whole.content[-8:]
        past = api.get(address, headers={"Range": f"bytes={size}-"})
        assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    assert api.get(f"/public/v1/results/{number}/images/{digest}").status_code == 404
    assert api.get(f"/portal/results/{number}/images/{digest}").status_code == 404
