"""Reporter protection: identity sealed per case, crypto-shredded after retention, keys rotated."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from services.intake.keyvault import KeyVault
from shared.platform.protection import Sealer, SealError
from shared.platform.settings import load_secrets, new_reporter_key, parse_reporter_keys
from tests.support.api import Api, problem, stored_notifications
from tests.support.cli import run_taizhang
from tests.support.pinned import NOW

NAMED = {
    "anonymous": False,
    "name": "王小明",
    "phone": "13912345678",
    "id_number": "420106198801012345",
}


def _vault(api: Api, keys: str | None = None) -> KeyVault:
    master = parse_reporter_keys(keys) if keys else _master(api)
    return KeyVault(api.settings, Sealer(master))


def _view(api: Api, case_id: str):  # type: ignore[no-untyped-def]
    return api.post(
        f"/api/v1/tips/{case_id}/reporter-views",
        json={"reason": "回访核实"},
        headers=api.auth("supervisor", "纪委干部"),
    )


def test_a_shredded_identity_is_gone_and_the_case_stays_intact(api: Api) -> None:
    kept = api.register(reporter=NAMED).json()["case_id"]
    shredded = api.register(reporter=NAMED, external_ref="old-1").json()["case_id"]
    vault = _vault(api)
    try:
        assert vault.destroy(UUID(shredded)) == 1
    finally:
        vault.close()

    assert problem(_view(api, shredded), 410)["detail"]
    assert _view(api, kept).json()["name"] == "王小明"
    record = api.get(f"/api/v1/tips/{shredded}", headers=api.auth("office"))
    assert record.status_code == 200
    assert record.json()["reporter"] == {"anonymous": False}
    # A replay still answers, without the lost secrets.
    again = api.register(reporter=NAMED, external_ref="old-1")
    assert again.status_code == 200
    assert again.json()["case_id"] == shredded


def test_retention_shreds_only_older_registrations(api: Api) -> None:
    case_id = api.register(reporter=NAMED).json()["case_id"]
    vault = _vault(api)
    try:
        assert vault.destroy_registered_before(NOW - timedelta(days=1)) == 0
        # The pinned clock runs from NOW while the test sets up: a margin, not a second.
        assert vault.destroy_registered_before(NOW + timedelta(minutes=10)) == 1
    finally:
        vault.close()
    problem(_view(api, case_id), 410)


def test_a_rotated_master_key_opens_old_cases_after_rewrapping(api: Api) -> None:
    case_id = UUID(api.register(reporter=NAMED).json()["case_id"])
    old = ",".join(f"{kid}:{base64.b64encode(k).decode()}" for kid, k in _master(api).items())
    new = new_reporter_key("k2")
    vault = _vault(api, f"{new},{old}")
    try:
        assert vault.rewrap() == 1
    finally:
        vault.close()

    sealed = _sealed_reporter(api, case_id)
    vault = _vault(api, new)  # the old master key is retired
    try:
        assert vault.sealer(case_id).open(sealed, case_id)["name"] == "王小明"
    finally:
        vault.close()
    vault = _vault(api, old)
    try:
        with pytest.raises(SealError):
            vault.sealer(case_id)
    finally:
        vault.close()


def _master(api: Api) -> dict[str, bytes]:
    return load_secrets(api.settings).reporter_keys


def _sealed_reporter(api: Api, case_id: UUID) -> dict[str, str]:
    """The seal as the event store holds it (the event state is JSON)."""
    for n in stored_notifications(api.settings, "intake"):
        if n.originator_id == case_id and n.topic.endswith("Tip.Registered"):
            sealed: dict[str, str] = json.loads(n.state)["reporter_sealed"]
            assert "王小明" not in json.dumps(sealed, ensure_ascii=False)
            return sealed
    raise AssertionError("no registration event")


def test_the_cli_shreds_expired_keys(api: Api, tmp_path: Path) -> None:
    api.register(reporter=NAMED)
    done = run_taizhang(api.settings, "reporters", "shred-expired", "--days", "0")
    assert done.returncode == 0, done.stderr
    assert "destroyed 1 case key" in done.stderr
