"""An upgrade keeps the data: the embedded store written by the previous release (0.1, made by
``tests/data/release-0.1/make_store.py`` with that release's code) opens with this code —
read-model migrations and event upcasters run, events whose modules moved still load — and
shows every case as the release did; replays, receipt codes and sealed reporters still work;
``verify`` passes and a rebuild gives the same ledger."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from services.app import create_app
from services.ops.rebuild import rebuild_ledger
from services.ops.verify import verify
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import pinned_clock

RELEASE = Path(__file__).parents[1] / "data" / "release-0.1"
EXPECTED: dict[str, Any] = json.loads((RELEASE / "expected.json").read_text())
# The day after the release's store was written: new events follow the old ones in time.
AFTER_THE_RELEASE = datetime.fromisoformat("2026-12-07T10:00:00+08:00")


@pytest.fixture
def upgraded(tmp_path: Path) -> Settings:
    shutil.copytree(RELEASE / "store", tmp_path / "data")
    clock = pinned_clock(tmp_path / "clock", AFTER_THE_RELEASE)
    return Settings(data_dir=tmp_path / "data", clock_file=clock, seed_directory=False)


def shown(api: Api, case_id: str) -> dict[str, Any]:
    office = api.auth("office")
    row = api.get(f"/api/v1/cases/{case_id}", headers=office).json()
    history = api.get(f"/api/v1/cases/{case_id}/history", headers=office).json()
    keep = ("number", "status", "pass_no", "track", "named", "returns", "repeats")
    return {k: row.get(k) for k in keep} | {
        "case_id": case_id,
        "lead_unit": (row.get("lead_unit") or {}).get("code"),
        "accountability": len(row.get("accountability") or []),
        "history": [e["type"] for e in history["items"]],
    }


def ledger(api: Api) -> list[dict[str, Any]]:
    params = {"page_size": 50}
    return api.get("/api/v1/ledger", params=params, headers=api.auth("office")).json()["items"]


def test_the_previous_releases_store_opens_and_shows_every_case_as_it_did(
    upgraded: Settings,
) -> None:
    cases = EXPECTED["cases"]
    with ServerThread(create_app(upgraded)) as server, Api(server.url, upgraded) as api:
        for expected in cases.values():
            assert shown(api, expected["case_id"]) == expected
        before = ledger(api)
        assert len(before) == len(cases)

        # The named reporter's tip: the same request under its key is the same case; the key
        # with another body is refused; the sealed identity still opens for the office.
        named = cases["named"]["case_id"]
        body = {
            "channel": "conduct_hotline",
            "content": "某所收取资料费不开票据",
            "reporter": {
                "anonymous": False,
                "name": "升级测试人",
                "phone": "13900001111",
                "id_number": "420106199001011234",
            },
        }
        key = api.auth("operator", "operator甲") | {"Idempotency-Key": "upgrade-named-1"}
        again = api.post("/api/v1/tips", json=body, headers=key)
        assert (again.status_code, again.json()["case_id"]) == (200, named)
        assert "receipt_code" not in again.json()  # none invented for an old tip (ADR 44)
        other = api.post("/api/v1/tips", json=body | {"content": "另一件事"}, headers=key)
        assert other.status_code == 409
        revealed = api.post(
            f"/api/v1/tips/{named}/reporter-views",
            json={"reason": "升级后核实"},
            headers=api.auth("office"),
        )
        assert revealed.status_code == 200, revealed.text
        assert revealed.json()["phone"] == "13900001111"

        # The anonymous reporter's receipt code still finds the case.
        receipt = api.get(f"/public/v1/receipts/{EXPECTED['receipt_code']}")
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["number"] == cases["anonymous"]["number"]

        # Work goes on: the returned case is dispatched again and signed for.
        returned = cases["returned"]["case_id"]
        office = api.auth("office")
        for action, body in (("dispatch", {"lead_unit": "UPG-LEAD", "co_units": []}),):
            r = api.post(f"/api/v1/cases/{returned}/{action}", json=body, headers=office)
            assert r.status_code == 200, r.text
        wait_for(lambda: shown(api, returned)["lead_unit"] == "UPG-LEAD", 30, "the re-dispatch")

    report = asyncio.run(verify(upgraded))
    assert report.ok, report.as_json()["findings"]

    # ADR 18: the release's unkeyed request digests (name and phone inside) are gone, keyed.
    with sqlite3.connect(upgraded.data_dir / "intake.sqlite") as db:
        values = [
            json.loads(state)["fingerprint"]
            for (state,) in db.execute("SELECT state FROM stored_events")
            if b'"fingerprint"' in state
        ]
    assert len(values) >= len(cases), values
    assert all(v.startswith("fp1:d0:") for v in values), values


def test_a_rebuild_of_the_upgraded_store_gives_the_same_ledger(upgraded: Settings) -> None:
    with ServerThread(create_app(upgraded)) as server, Api(server.url, upgraded) as api:
        live = ledger(api)
    counts = asyncio.run(rebuild_ledger(upgraded, lambda source, at, last: None))
    assert counts["intake"] == len(EXPECTED["cases"]), counts
    with ServerThread(create_app(upgraded)) as server, Api(server.url, upgraded) as api:
        assert ledger(api) == live
        assert shown(api, EXPECTED["cases"]["full"]["case_id"]) == EXPECTED["cases"]["full"]
