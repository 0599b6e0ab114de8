"""``taizhang demo`` (issue 22 point 6): a fresh data directory gets a year of a 区's cases in
every state through the real commands; the ledger then shows them; a second run, or a data
directory that already holds cases, or production mode, is refused and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.infra import PostgresProcess, ServerThread
from tests.support.pinned import NOW

TAIZHANG = str(Path(sys.executable).parent / "taizhang")
CASES = 30
EVERY_STATE = {
    "registered",
    "not_accepted",
    "merged",
    "dispatched",
    "returned",
    "in_progress",
    "result_submitted",
    "awaiting_feedback",
    "awaiting_evaluation",
    "closed_out",
}


SOAK = os.environ.get("TAIZHANG_SOAK") == "1"


@pytest.fixture(
    params=["sqlite", *([pytest.param("postgres", marks=pytest.mark.postgres)] if SOAK else [])]
)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The demo is the embedded default's first step: in CI on SQLite (the demo's own district
    on PostgreSQL, 24 s and a server of its own, under TAIZHANG_SOAK=1 — the suite's budget)."""
    return make_settings(request.param, tmp_path / "data", request)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """This module's PostgreSQL, its own: the demo's second run could not connect while the
    other worker's tests held the machine's server at its 100 connections."""
    server = PostgresProcess()
    with (server.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("max_connections = 200\n")
    server.start()
    try:
        yield server.url
    finally:
        server.destroy()


def demo(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    env |= {"TAIZHANG_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env |= {
            "TAIZHANG_DATABASE_URL": settings.database_url,
            "TAIZHANG_DATABASE_SCHEMA": str(settings.database_schema),
        }
    command = [TAIZHANG, "demo", "--as-of", NOW.isoformat(), "--cases", str(CASES), *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def ledger(api: Api, **params: Any) -> dict[str, Any]:
    answer = api.get(
        "/api/v1/ledger", params={"page_size": 200, **params}, headers=api.auth("office")
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_the_demo_fills_a_fresh_data_directory_and_refuses_a_second_run(
    settings: Settings,
) -> None:
    first = demo(settings)
    assert first.returncode == 0, first.stderr[-3000:]
    assert f"已写入演示案件 {CASES} 件" in first.stdout
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        rows = ledger(api)["items"]
        assert len(rows) == CASES
        statuses = {r["status"] for r in rows}
        assert statuses >= EVERY_STATE, statuses
        assert statuses & {"second_pass", "in_progress"} and any(r["pass_no"] == 2 for r in rows)
        assert ledger(api, overdue="true")["total"] > 0
        assert any(r["extensions"]["granted"] for r in rows)
        accountable = api.get("/api/v1/accountability", headers=api.auth("office")).json()
        assert accountable["items"], accountable
        registered = sorted(r["registered_at"] for r in rows)
        assert registered[0] < "2026-03-01" and registered[-1] < NOW.isoformat()
        assert ledger(api, reporter="named")["total"] > 0
        units = api.get("/api/v1/units", headers=api.auth("office")).json()["items"]
        heads = [u["responsible_person"] for u in units if u.get("active", True)]
        assert heads and all(h and h["name"].endswith("某") and h["position"] for h in heads)
        second = demo(settings)
        assert second.returncode == 2
        assert "已有案件" in second.stderr
        assert len(ledger(api)["items"]) == CASES


def test_the_demo_never_runs_in_production_mode(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    env |= {"TAIZHANG_DATA_DIR": str(tmp_path / "data"), "TAIZHANG_ENVIRONMENT": "production"}
    refused = subprocess.run(
        [TAIZHANG, "demo", "--cases", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2, refused.stderr
    assert "生产环境" in refused.stderr
    assert not (tmp_path / "data" / "readmodels.sqlite").exists()
