"""Files on a case in tests: uploaded as a unit's liaison does, or kept the way a release
before cleaning kept them (the store and dispatch's application, directly); a published case
with an approved photo, a PDF and a video; ``taizhang attachments …`` run on a deployment's
settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from shared.platform.attachments import Prepared, Stored
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import act, add_units, ok, open_case, publish_online
from tests.support.files import jpeg_with_gps, mp4_with_location, pdf
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import case_in_ledger

# A unit's result, as a liaison submits it before its files are published.
RESULT = {
    "findings": "经查属实,窗口人员上班时间玩手机",
    "rectification": "已批评教育并调整岗位",
    "proposal": {"kind": "rectification", "text": "加强窗口管理"},
    "signed_off_by": "主任 李某",
}


@contextmanager
def served_with_services(settings: Settings) -> Iterator[Api]:
    """The all-in-one app served, with its services reachable as ``api.services``."""
    from services.app import create_app

    app = create_app(settings)
    with ServerThread(app) as server, Api(server.url, settings) as client:
        client.services = app.state.services  # type: ignore[attr-defined]
        yield client


def kept_uncleaned(api: Api, case_id: str, data: bytes, media_type: str, unit: str) -> str:
    """A file as the store kept it before its kind was cleaned: its bytes as they came, put on
    the case as a result's upload was then. Answers its digest."""
    dispatch = api.services["dispatch"]  # type: ignore[attr-defined]
    stored = Stored(dispatch.store.digest(data), media_type, len(data))
    dispatch.store.keep(Prepared(stored, data))
    fields = {"digest": stored.digest, "media_type": media_type, "size": stored.size}
    liaison = {"id": "x", "name": "联络员", "role": "unit_liaison", "unit": unit}
    dispatch.app.attach(UUID(case_id), fields, "result", liaison)
    return str(stored.digest)


def upload_result(api: Api, case_id: str, data: bytes, unit: str) -> dict[str, Any]:
    """A result's file uploaded by the unit's liaison (the client's name and type say nothing
    about the file: the store reads its content)."""
    r = api.post(
        f"/api/v1/cases/{case_id}/attachments",
        files={"file": ("整改.bin", data, "application/octet-stream")},
        data={"purpose": "result"},
        headers=api.auth("unit_liaison", unit=unit),
    )
    return ok(r, 201)


def published_with_files(api: Api, lead: str = "MV-LEAD") -> tuple[str, str, list[dict[str, Any]]]:
    """A case whose result is published, with a photo the office approved, a PDF and a video:
    answers the case, its number and the three files as uploaded."""
    add_units(api, lead)
    case_id = open_case(api, summary="窗口人员玩手机")
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=lead, co_units=[]))
    ok(act(api, case_id, "sign", "unit_liaison", lead))
    files = [
        upload_result(api, case_id, data, lead)
        for data in (jpeg_with_gps(), pdf(), mp4_with_location())
    ]
    ok(act(api, case_id, "results", "unit_liaison", lead, **RESULT), 201)
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


def ok_bytes(response: Any) -> bytes:
    assert response.status_code == 200, response.text
    return bytes(response.content)


# What a maintenance command needs of a deployment's settings, passed as its environment.
COMMAND_SETTINGS = (
    "data_dir",
    "clock_file",
    "database_url",
    "database_schema",
    "attachment_secret",
    "attachment_keys",
    *(f"attachment_s3_{k}" for k in ("endpoint", "bucket", "access_key", "secret_key", "region")),
)


def command_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's settings in this process's environment, as a command reads them (a
    setting left out is taken out)."""
    for name in COMMAND_SETTINGS:
        value = getattr(settings, name)
        if value is None:
            monkeypatch.delenv(f"TAIZHANG_{name.upper()}", raising=False)
            continue
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        monkeypatch.setenv(f"TAIZHANG_{name.upper()}", str(value))


def attachments_command(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    labels: dict[str, str],
    *arguments: str,
    exit_code: int = 0,
) -> dict[str, int]:
    """``taizhang attachments <arguments>`` with ``settings`` in its environment (a setting
    left out is taken out); its counts by key, read from the labels it prints."""
    from services.cli import app

    command_environment(settings, monkeypatch)
    answer = CliRunner().invoke(app, ["attachments", *arguments])
    assert answer.exit_code == exit_code, answer.output
    lines = [line.rsplit(": ", 1) for line in answer.stdout.splitlines()]
    by_label = {line[0]: line[1] for line in lines if line[0] in labels.values()}
    return {key: int(by_label[label]) for key, label in labels.items()}
