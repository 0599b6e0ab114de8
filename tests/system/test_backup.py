"""The restore drill (issue 26): cases registered and walked, a backup taken by the CLI, the
database and the data directory destroyed, the copy restored — then ``taizhang verify`` finds
nothing missing or diverging, the ledger is the same, sealed reporters and receipt codes
still open, and work goes on with the next case number. A damaged copy and existing data are
refused without touching anything."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest

from services.app import create_app
from services.ops.backup import BackupError, backup, restore
from services.ops.verify import read_ledger, verify
from shared.platform.messaging.nats import stream_name
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.deployment import Deployment, delete_streams
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import NOW
from tests.support.workbench import dispatched_case

TAIZHANG = str(Path(sys.executable).parent / "taizhang")
NAMED = {"anonymous": False, "name": "备份测试人", "phone": "13900002222"}


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "TAIZHANG_DATA_DIR": str(settings.data_dir)}
    if settings.nats_url:
        env |= {
            "TAIZHANG_NATS_URL": settings.nats_url,
            "TAIZHANG_NATS_NAMESPACE": settings.nats_namespace,
        }
    if settings.clock_file:
        env["TAIZHANG_CLOCK_FILE"] = str(settings.clock_file)
    if settings.database_url:
        env |= {
            "TAIZHANG_DATABASE_URL": settings.database_url,
            "TAIZHANG_DATABASE_SCHEMA": settings.database_schema,
        }
    return subprocess.run(
        [TAIZHANG, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def settled(settings: Settings, rows: int) -> None:
    wait_for(
        lambda: (r := asyncio.run(verify(settings))).ok and r.counts["ledger_rows"] == rows,
        60,
        "the ledger to match the stores",
        interval=0.3,
    )


def ledger(settings: Settings) -> dict[Any, dict[str, Any]]:
    return asyncio.run(read_ledger(settings))


def destroy(settings: Settings) -> None:
    """What a lost disk leaves: no data directory, and (PostgreSQL) no schema."""
    shutil.rmtree(settings.data_dir)
    if settings.database_url:
        url = settings.database_url.replace("+asyncpg", "")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{settings.database_schema}" CASCADE')


def test_a_restored_copy_verifies_and_work_goes_on(settings: Settings, tmp_path: Path) -> None:
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        if settings.database_url:  # the sample directory is seeded into embedded stores only
            unit = {"code": "WC-JYQ", "name": "武昌区教育局", "kind": "department"}
            made = api.post("/api/v1/units", json=unit, headers=api.auth("admin"))
            assert made.status_code == 201, made.text
        walked = dispatched_case(api)
        anonymous = api.register(summary="匿名件")
        named = api.register(content="某所收取资料费不开票据", reporter=NAMED)
        assert anonymous.status_code == named.status_code == 201, anonymous.text + named.text
        receipt = anonymous.json()["receipt_code"]
        settled(settings, 3)
    before = ledger(settings)
    assert before[next(k for k in before if str(k) == walked)]["status"] == "dispatched"

    copy = tmp_path / "backup"
    done = cli(settings, "backup", str(copy))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["kind"] == ("postgresql" if settings.database_url else "embedded")
    assert manifest["files"] and manifest["reporter_key_ids"]
    assert "13900002222" not in (copy / "manifest.json").read_text()

    destroy(settings)
    done = cli(settings, "restore", str(copy))
    assert done.returncode == 0, done.stderr

    report = asyncio.run(verify(settings))
    assert report.ok, report.findings
    assert report.counts["ledger_rows"] == 3
    assert ledger(settings) == before

    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        revealed = api.post(
            f"/api/v1/tips/{named.json()['case_id']}/reporter-views",
            json={"reason": "恢复后核实"},
            headers=api.auth("office"),
        )
        assert revealed.status_code == 200, revealed.text
        assert revealed.json()["phone"] == NAMED["phone"]
        found = api.get(f"/public/v1/receipts/{receipt}")
        assert found.status_code == 200, found.text
        assert found.json()["number"] == anonymous.json()["number"]
        after = api.register(summary="恢复后第一件")
        assert after.status_code == 201, after.text
        numbers = {named.json()["number"], anonymous.json()["number"]}
        assert after.json()["number"] not in numbers
        settled(settings, 4)


def test_a_damaged_copy_or_data_in_place_is_refused_and_nothing_changes(
    settings: Settings, tmp_path: Path
) -> None:
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        assert api.register().status_code == 201
        settled(settings, 1)
    copy = tmp_path / "backup"
    backup(settings, copy, now=NOW)
    with pytest.raises(BackupError, match="目标目录不为空"):
        backup(settings, copy, now=NOW)

    # The data is still there: a restore must be asked to replace it.
    with pytest.raises(BackupError, match="--replace"):
        restore(settings, copy)
    assert asyncio.run(verify(settings)).counts["ledger_rows"] == 1

    stored = sorted((copy / "stores").glob("*.sqlite"))
    damaged = stored[0] if stored else copy / "database.dump"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    damaged.write_bytes(bytes(data))
    destroy(settings)
    with pytest.raises(BackupError, match="已损坏"):
        restore(settings, copy)
    assert not settings.data_dir.exists() or not any(settings.data_dir.glob("*.sqlite"))


@pytest.mark.postgres
@pytest.mark.nats
def test_a_restore_on_nats_goes_on_after_the_streams_are_deleted_and_adopted(
    deployment: Deployment, tmp_path: Path
) -> None:
    """ADR 28 with NATS, as OPERATIONS.md says: restore, delete the streams (a broker
    restored from another instant, or lost), `taizhang relay adopt --all` (every relay the
    copy recorded), start — the relays publish their outboxes into the new streams, the
    consumers skip what the copy says they applied, nothing is lost and new work flows."""
    settings = deployment.settings
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        unit = {"code": "WC-JYQ", "name": "武昌区教育局", "kind": "department"}
        assert api.post("/api/v1/units", json=unit, headers=api.auth("admin")).status_code == 201
        walked = dispatched_case(api)
        assert api.register(summary="备份前一件").status_code == 201
        settled(settings, 2)
    before = ledger(settings)
    copy = tmp_path / "backup"
    backup(settings, copy, now=NOW)  # the command is drilled above; one start saved here

    destroy(settings)
    asyncio.run(delete_streams(deployment.nats_url, deployment.namespace))
    done = cli(settings, "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert "relay adopt --all" in done.stderr  # restore names the step
    adopted = cli(settings, "relay", "adopt", "--all")
    assert adopted.returncode == 0, adopted.stderr
    sources = re.findall(r"the (\w+) relay adopts its stream", adopted.stderr)
    assert {"intake", "dispatch", "tracking"} <= set(sources), adopted.stderr

    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        after = api.register(summary="恢复后第一件")
        assert after.status_code == 201, after.text
        settled(settings, 3)  # the new tip went through the new streams to the ledger
        # They hold the outboxes published again (in order, so before the new tip's events),
        # not only the work after the restore: nothing has happened to `walked` since.
        assert walked in asyncio.run(published(deployment, "intake"))
        assert walked in asyncio.run(published(deployment, "dispatch"))
        office = api.auth("office")
        liaison = api.auth("unit_liaison", "联络员", "WC-JYQ")
        signed = api.post(f"/api/v1/cases/{walked}/sign", json={}, headers=liaison)
        assert signed.status_code == 200, signed.text  # dispatch's restored case moves on
        wait_for(
            lambda: (
                api.get(f"/api/v1/cases/{walked}", headers=office).json()["status"] == "in_progress"
            ),
            30,
            "the ledger to show the restored case signed for",
        )
        delivery = api.get("/healthz/delivery").json()
    assert delivery["status"] == "ok", delivery
    report = asyncio.run(verify(settings))
    assert report.ok and report.counts["ledger_rows"] == 3, report.findings
    restored = ledger(settings)
    assert {k: restored[k]["number"] for k in before} == {k: v["number"] for k, v in before.items()}


async def published(deployment: Deployment, source: str) -> str:
    """Every message of a source's stream, as text."""
    nc = await nats.connect(deployment.nats_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js, name = nc.jetstream(), stream_name(deployment.namespace, source)
        info = await js.stream_info(name)
        first, last = info.state.first_seq, info.state.last_seq
        found = [await js.get_msg(name, seq) for seq in range(first, last + 1)]
        return "\n".join((m.data or b"").decode() for m in found)
    finally:
        await nc.close()
