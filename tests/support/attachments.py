"""Files on a case in tests: uploaded as a unit's liaison does, or kept the way a release
before cleaning kept them (the store and dispatch's application, directly)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from shared.platform.attachments import Prepared, Stored
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import ok
from tests.support.infra import ServerThread

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
