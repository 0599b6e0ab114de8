"""``taizhang attachments move-to-bucket`` (ADR 42), against the S3 emulator the bucket tests
use (moto's server: our side of the protocol, not any one store's behaviour — ADR 39).

A deployment on the directory store with a published case's files (an approved photo, a
PDF, a video): the directory moved into a bucket — counted first with ``--dry-run``, then
copied and verified, a run cut short (an object lost, one damaged) resumed, a last run
copying nothing, the directory left as it was — and then the services, configured for the
bucket with the directory out of their reach, serve every file through the API and the
portal's approved photo, the same bytes as before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from shared.platform.settings import Settings
from tests.conftest import store_settings
from tests.support.api import Api
from tests.support.dispatch import act, add_units, ok, open_case, publish_online
from tests.support.files import jpeg_with_gps, mp4_with_location, pdf
from tests.support.infra import ServerThread, wait_for
from tests.support.s3 import S3Emulator
from tests.support.workbench import case_in_ledger

LEAD = "MV-LEAD"
RESULT = {
    "findings": "经查属实,窗口人员上班时间玩手机",
    "rectification": "已批评教育并调整岗位",
    "proposal": {"kind": "rectification", "text": "加强窗口管理"},
    "signed_off_by": "主任 李某",
}


@contextmanager
def served(settings: Settings) -> Iterator[Api]:
    from services.app import create_app

    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def published_with_files(api: Api) -> tuple[str, str, list[dict[str, Any]]]:
    """A case whose result is published, with a photo the office approved, a PDF and a video."""
    add_units(api, LEAD)
    case_id = open_case(api, summary="窗口人员玩手机")
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[]))
    ok(act(api, case_id, "sign", "unit_liaison", LEAD))
    files = [
        ok(
            api.post(
                f"/api/v1/cases/{case_id}/attachments",
                files={"file": ("整改.bin", data, "application/octet-stream")},
                data={"purpose": "result"},
                headers=api.auth("unit_liaison", unit=LEAD),
            ),
            201,
        )
        for data in (jpeg_with_gps(), pdf(), mp4_with_location())
    ]
    ok(act(api, case_id, "results", "unit_liaison", LEAD, **RESULT), 201)
    ok(act(api, case_id, "results/1/review", "office", accepted=True))
    photo = f"/api/v1/cases/{case_id}/attachments/{files[0]['digest']}/public"
    ok(api.put(photo, headers=api.auth("office")))
    number = ok(api.get(f"/api/v1/cases/{case_id}/dispatch", headers=api.auth("office")))["number"]
    case_in_ledger(api, case_id, "awaiting_feedback")
    publish_online(api, case_id)
    return case_id, number, files


def public_photo(api: Api, number: str, digest: str, door: str = "/public/v1") -> bytes:
    """The approved photo as the public sees it, once the ledger has the result published."""
    address = f"{door}/results/{number}/images/{digest}"
    answer = wait_for(lambda: (r := api.get(address)).status_code == 200 and r, 30, "published")
    return bytes(answer.content)


def move(settings: Settings, monkeypatch: pytest.MonkeyPatch, *options: str) -> dict[str, int]:
    """The command with the deployment's settings in its environment; its counts by key."""
    from services.cli import MOVE_LABELS, app

    for name in ("data_dir", "clock_file", *(f"attachment_s3_{k}" for k in S3_SETTINGS)):
        value = getattr(settings, name)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        monkeypatch.setenv(f"TAIZHANG_{name.upper()}", str(value))
    answer = CliRunner().invoke(app, ["attachments", "move-to-bucket", *options])
    assert answer.exit_code == 0, answer.output
    lines = [line.rsplit(": ", 1) for line in answer.stdout.splitlines()]
    by_label = {line[0]: line[1] for line in lines if line[0] in MOVE_LABELS.values()}
    return {key: int(by_label[label]) for key, label in MOVE_LABELS.items()}


S3_SETTINGS = ("endpoint", "bucket", "access_key", "secret_key", "region")


def test_a_directory_store_moved_into_a_bucket_serves_every_file(
    s3_emulator: S3Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = store_settings(tmp_path / "data")
    with served(settings) as api:
        _, number, files = published_with_files(api)
        office = api.auth("office")
        before = {f["digest"]: ok_bytes(api.get(f["url"], headers=office)) for f in files}
        photo = public_photo(api, number, files[0]["digest"])
    directory = settings.data_dir / "attachments"
    blobs = {p.name: p.read_bytes() for p in directory.glob("[0-9a-f][0-9a-f]/*")}
    assert set(before) <= set(blobs)

    bucket = s3_emulator.new_bucket()
    on_bucket = s3_emulator.settings(settings, bucket)
    counted = move(on_bucket, monkeypatch, "--dry-run")
    assert (counted["copied"], s3_emulator.objects(bucket)) == (len(blobs), {})
    assert move(on_bucket, monkeypatch) == counted
    assert s3_emulator.objects(bucket) == blobs  # the sealed bytes as they were

    # A run cut short (one object never written, one cut off): resumed by running again.
    lost, damaged = sorted(blobs)[:2]
    s3_emulator.client().delete_object(Bucket=bucket, Key=lost)
    s3_emulator.client().put_object(Bucket=bucket, Key=damaged, Body=blobs[damaged][:-5])
    resumed = move(on_bucket, monkeypatch)
    assert (resumed["copied"], resumed["already_there"]) == (2, len(blobs) - 2)
    last = move(on_bucket, monkeypatch)
    assert (last["copied"], last["already_there"], last["failed"]) == (0, len(blobs), 0)
    assert s3_emulator.objects(bucket) == blobs
    assert {p.name: p.read_bytes() for p in directory.glob("[0-9a-f][0-9a-f]/*")} == blobs

    # The services on the bucket, the directory out of their reach: every file as before.
    directory.rename(tmp_path / "kept-directory")
    with served(on_bucket) as api:
        office = api.auth("office")
        for f in files:
            assert ok_bytes(api.get(f["url"], headers=office)) == before[f["digest"]]
        assert public_photo(api, number, files[0]["digest"], "/portal") == photo
    assert not directory.exists()  # nothing was written back to a directory


def ok_bytes(response: Any) -> bytes:
    assert response.status_code == 200, response.text
    return bytes(response.content)
