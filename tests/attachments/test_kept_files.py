"""Files kept before their kind was cleaned (ADR 42), on SQLite and PostgreSQL through the
real services: ``taizhang attachments clean-kept`` cleans them, keeps the cleaned bytes under
their new keyed digest and records the step on the case (``Case.AttachmentCleaned``, in the
history in Chinese); downloads come back without the metadata, a video kept before cleaning
becomes approvable, what cannot be cleaned is counted and left, a second run does nothing,
and the sweep sets aside the old blobs — and only those. A run killed between keeping a
cleaned file and recording it is completed by the next; a file kept raw and uploaded again
since comes to share one digest, and both rows stay on the case."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from services.cli import CLEAN_KEPT_LABELS
from services.ops.attachment_cleaning import clean_kept
from services.ops.attachment_sweep import sweep
from shared.platform.faults import CLEAN_KEPT_EXIT_AFTER_KEEP
from shared.platform.readmodel import run_sync
from shared.platform.settings import Settings
from tests.support.api import Api, problem
from tests.support.attachments import (
    command_environment,
    kept_uncleaned,
    served_with_services,
    upload_result,
)
from tests.support.dispatch import act, add_units, case_events, ok, open_case
from tests.support.files import (
    MARKER,
    PLACE,
    jpeg_with_gps,
    mp3_with_id3,
    mp4_with_location,
    pdf,
    pdf_with_metadata,
    pdf_with_password,
)
from tests.support.infra import wait_for
from tests.support.workbench import Workbench

LEAD = "KF-LEAD"


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    with served_with_services(settings) as client:
        yield client


def files_of(api: Api, case_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/cases/{case_id}/attachments", headers=api.auth("office"))
    return list(ok(r)["items"])


def run_command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """``taizhang attachments clean-kept`` with the deployment's settings in its environment."""
    from services.cli import app

    for name in ("data_dir", "database_url", "database_schema", "clock_file"):
        if (value := getattr(settings, name)) is not None:
            monkeypatch.setenv(f"TAIZHANG_{name.upper()}", str(value))
    answer = CliRunner().invoke(app, ["attachments", "clean-kept"])
    assert answer.exit_code == 0, answer.output
    return answer.output


def test_files_kept_before_cleaning_are_cleaned_once_and_recorded(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_units(api, LEAD)
    case_id = open_case(api, summary="窗口人员玩手机")
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    video = kept_uncleaned(api, case_id, mp4_with_location(), "video/mp4", LEAD)
    paper = kept_uncleaned(api, case_id, pdf_with_metadata(), "application/pdf", LEAD)
    sound = kept_uncleaned(api, case_id, mp3_with_id3(), "audio/mpeg", LEAD)
    locked = kept_uncleaned(api, case_id, pdf_with_password(), "application/pdf", LEAD)
    fresh = [
        upload_result(api, case_id, pdf("已清除"), LEAD),
        upload_result(api, case_id, jpeg_with_gps(), LEAD),
    ]
    office = api.auth("office", "纠风办王某")
    approve = f"/api/v1/cases/{case_id}/attachments/{video}/public"
    assert problem(api.put(approve, headers=office), 409)["code"] == "attachment_not_cleaned"

    counted = run_sync(clean_kept(api.settings, dry_run=True)).as_json()
    assert (
        counted["cleaned"] == 3 and case_events(api, case_id).count("Case.AttachmentCleaned") == 0
    )
    report = run_sync(clean_kept(api.settings)).as_json()
    assert report == counted | {"cleaned": 3} and report["cases"] >= 1
    assert (report["cleaned"], report["not_cleanable"], report["missing"]) == (3, 1, 0)
    assert report["images"] >= 1 and report["clean"] >= 1  # the fresh photo and PDF: not read

    # The case names the cleaned blobs: downloads without the author, place or device.
    now = {f["n"]: f for f in files_of(api, case_id)}
    assert [now[n]["digest"] == old for n, old in enumerate((video, paper, sound, locked), 1)] == [
        False,
        False,
        False,
        True,
    ]
    assert [now[n]["digest"] for n in (5, 6)] == [f["digest"] for f in fresh]
    for n in (1, 2, 3):
        got = api.get(now[n]["url"], headers=office)
        assert got.status_code == 200 and len(got.content) == now[n]["size"]
        assert MARKER.encode() not in got.content and PLACE not in got.content
    assert problem(api.get(f"/api/v1/cases/{case_id}/attachments/{video}", headers=office), 404)
    assert ok(
        api.put(f"/api/v1/cases/{case_id}/attachments/{now[1]['digest']}/public", headers=office)
    )["public"]

    # The step is on the case: who, when, which file became which, shown in Chinese.
    def steps() -> list[dict[str, Any]]:
        r = api.get(f"/api/v1/cases/{case_id}/history", headers=api.auth("supervisor"))
        items = ok(r)["items"] if r.status_code == 200 else []
        return [e for e in items if e["type"] == "CaseAttachmentCleaned"]

    wait_for(lambda: len(steps()) == 3, 30, "the ledger has the three cleanings")
    step = steps()[0]
    assert (step["data"]["old_digest"], step["data"]["digest"]) == (video, now[1]["digest"])
    assert step["actor"]["name"] == "系统"
    bench = Workbench(str(api.base_url))
    assert bench.sign_in(office["Authorization"].removeprefix("Bearer ")).status_code == 200
    page = bench.page(f"/ui/cases/{case_id}").text
    assert page.count('data-type="CaseAttachmentCleaned"') == 3 and "清除附件元数据" in page

    # A second run (the command, on the deployment's settings) does nothing and prints
    # counts only; the sweep then sets aside the three old blobs and no other.
    again = run_command(api.settings, monkeypatch)
    assert f"{CLEAN_KEPT_LABELS['cleaned']}: 0" in again and video not in again
    assert f"{CLEAN_KEPT_LABELS['clean']}: {report['clean'] + 3}" in again
    assert case_events(api, case_id).count("Case.AttachmentCleaned") == 3
    swept = sweep(api.settings, grace=timedelta(0), purge_after=timedelta(days=30))
    assert swept.set_aside == 3
    aside = api.settings.data_dir / "attachments" / ".set-aside"
    assert {p.name for p in aside.iterdir()} == {video, paper, sound}


def dispatched(api: Api) -> str:
    add_units(api, LEAD)
    case_id = open_case(api, summary="窗口人员玩手机")
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    return case_id


def test_a_run_killed_after_keeping_a_cleaned_file_is_completed_by_the_next(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = dispatched(api)
    raw = pdf_with_metadata()
    old = kept_uncleaned(api, case_id, raw, "application/pdf", LEAD)
    store = api.services["dispatch"].store  # type: ignore[attr-defined]
    cleaned = store.prepare(raw).stored  # what the run keeps: the cleaner's bytes, their digest

    # The command in a process of its own, killed between keeping the blob and the event.
    command_environment(api.settings, monkeypatch)
    cut = subprocess.run(
        [
            sys.executable,
            "-c",
            "from services.cli import main; main()",
            "attachments",
            "clean-kept",
        ],
        env=os.environ | {"TAIZHANG_FAULTS": CLEAN_KEPT_EXIT_AFTER_KEEP},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert cut.returncode == 70 and b"fault injected" in cut.stderr, cut.stderr[-2000:]
    assert store.has(cleaned.digest)  # the blob kept …
    assert case_events(api, case_id).count("Case.AttachmentCleaned") == 0  # … the event not
    assert [f["digest"] for f in files_of(api, case_id)] == [old]

    again = run_command(api.settings, monkeypatch)  # finds it unclean, the blob kept: records
    assert f"{CLEAN_KEPT_LABELS['cleaned']}: 1" in again
    assert case_events(api, case_id).count("Case.AttachmentCleaned") == 1
    [now] = files_of(api, case_id)
    assert (now["digest"], now["size"]) == (cleaned.digest, cleaned.size)
    got = api.get(now["url"], headers=api.auth("office"))
    assert got.status_code == 200 and MARKER.encode() not in got.content
    assert f"{CLEAN_KEPT_LABELS['cleaned']}: 0" in run_command(api.settings, monkeypatch)


def test_a_file_kept_raw_and_uploaded_again_since_shares_one_digest_and_both_stay(
    api: Api,
) -> None:
    case_id = dispatched(api)
    raw = pdf_with_metadata()
    old = kept_uncleaned(api, case_id, raw, "application/pdf", LEAD)
    since = upload_result(api, case_id, raw, LEAD)  # cleaned at upload: another digest
    assert since["digest"] != old and since["n"] == 2

    assert run_sync(clean_kept(api.settings)).cleaned == 1
    listed = files_of(api, case_id)
    assert [(f["n"], f["digest"]) for f in listed] == [(1, since["digest"]), (2, since["digest"])]
    case = api.services["dispatch"].app.get_case(UUID(case_id))  # type: ignore[attr-defined]
    assert [f.get("cleaned_from") for f in case.attachments] == [old, None]
    # One file behind both rows: either link serves it, the download recorded once.
    office = api.auth("office")
    first, second = (api.get(f["url"], headers=office) for f in listed)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert MARKER.encode() not in first.content
    assert case_events(api, case_id).count("Case.AttachmentDownloaded") == 2
    # The blob both name stays; only the raw one is set aside.
    swept = sweep(api.settings, grace=timedelta(0), purge_after=timedelta(days=30))
    assert swept.set_aside == 1
    aside = api.settings.data_dir / "attachments" / ".set-aside"
    assert {p.name for p in aside.iterdir()} == {old}
