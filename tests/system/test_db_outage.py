"""With the database down, intake answers 503 with Retry-After — never a hang, never a 500 —
/readyz says what is missing, and everything recovers without a hand when it returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api, problem
from tests.support.infra import PostgresProcess, ServerThread

pytestmark = pytest.mark.postgres

TIP = {"channel": "mayor_hotline", "content": "路灯不亮已一个月"}


@pytest.fixture
def own_postgres() -> Iterator[PostgresProcess]:
    server = PostgresProcess().start()
    try:
        yield server
    finally:
        server.destroy()


def test_intake_refuses_clearly_while_the_database_is_down_and_recovers(
    own_postgres: PostgresProcess, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=own_postgres.url)
    with ServerThread(create_app(settings, ["intake"])) as server, Api(server.url, settings) as api:
        headers = api.auth("operator") | {"Idempotency-Key": "call-1"}
        assert api.post("/api/v1/tips", json=TIP, headers=api.auth("operator")).status_code == 201

        own_postgres.stop("fast")
        started = time.monotonic()
        refused = api.post("/api/v1/tips", json=TIP, headers=headers)
        assert time.monotonic() - started < 30  # an answer, not a hang
        body = problem(refused, 503)
        assert int(refused.headers["Retry-After"]) > 0
        assert "重试" in body["detail"]
        ready = api.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["intake"].startswith("unavailable")
        assert ready.json()["checks"]["read_database"].startswith("unavailable")

        own_postgres.start()
        retried = _until_accepted(api, headers)
        assert retried.status_code in (200, 201)
        again = api.post("/api/v1/tips", json=TIP, headers=headers)
        assert again.status_code == 200
        assert again.json() == retried.json()
        assert api.get("/readyz").status_code == 200


def _until_accepted(api: Api, headers: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        r = api.post("/api/v1/tips", json=TIP, headers=headers)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        time.sleep(float(r.headers.get("Retry-After", "1")) / 5)


def test_readers_get_a_503_while_the_database_is_down_open311_clients_in_its_shape(
    own_postgres: PostgresProcess, tmp_path: Path
) -> None:
    import xml.etree.ElementTree as ET

    settings = Settings(data_dir=tmp_path / "data", database_url=own_postgres.url)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        assert api.get("/open311/v2/requests.xml").status_code == 200
        own_postgres.stop("fast")
        refused = api.get("/open311/v2/requests.xml")
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
        error = ET.fromstring(refused.content).find("error")
        assert error is not None and error.findtext("code") == "503"
        assert "重试" in (error.findtext("description") or "")
        as_json = api.get("/open311/v2/requests.json")
        assert as_json.status_code == 503 and as_json.json()[0]["code"] == 503
        # The native read paths say the same in problem+json.
        ledger = api.get("/api/v1/ledger", headers=api.auth("supervisor"))
        assert problem(ledger, 503)["detail"] and int(ledger.headers["Retry-After"]) > 0
        own_postgres.start()
