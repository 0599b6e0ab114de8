"""``taizhang projections rebuild``: fresh read tables from the event stores equal the live
ledger (and its audit trail), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event as sa_event

from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for
from tests.support.tracking import Case, Served

TAIZHANG = str(Path(sys.executable).parent / "taizhang")


def snapshot(api: Api) -> dict[str, Any]:
    office = api.auth("office")
    items = api.get("/api/v1/ledger", params={"page_size": 200}, headers=office).json()["items"]
    histories = {
        i["case_id"]: api.get(f"/api/v1/cases/{i['case_id']}/history", headers=office).json()
        for i in items
    }
    return {"ledger": items, "histories": histories}


def vandalize(settings: Settings) -> None:
    """Damage the live read tables, so that only a real rebuild can restore them."""
    statements = ["UPDATE ledger SET status = 'merged', summary = NULL", "DELETE FROM case_history"]
    if settings.database_url is None:
        with sqlite3.connect(settings.data_dir / "readmodels.sqlite") as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{settings.database_schema}"')
        for statement in statements:
            conn.execute(statement)


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIZHANG_")}
    env["TAIZHANG_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url is not None:
        env["TAIZHANG_DATABASE_URL"] = settings.database_url
        env["TAIZHANG_DATABASE_SCHEMA"] = settings.database_schema
    return env


def test_the_rebuilt_ledger_equals_the_live_one(settings: Settings) -> None:
    served = Served(settings)
    with ServerThread(served.app) as server, Api(server.url, settings) as api:
        served.api = api
        cases = [
            Case(served, channel="mayor_hotline", summary="反映某局乱收费问题"),
            Case(served, channel="media", summary="道路积水", subject={"unit": "某局"}),
            Case(
                served,
                channel="petition",
                summary="实名举报",
                reporter={"anonymous": False, "name": "张三"},
            ),
        ]
        record = {
            "target_kind": "leadership",
            "name": "某局领导班子",
            "measures": ["circulated_criticism"],
        }
        assert cases[0].post("accountability", record).status_code == 201
        live = wait_for(
            lambda: (s := snapshot(api))["ledger"][-1]["accountability"] and s,
            30,
            "the accountability record on the ledger",
        )
    vandalize(settings)

    rebuilt = subprocess.run(
        [TAIZHANG, "projections", "rebuild"],
        env=environment(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt the ledger from 3 intake events" in rebuilt.stderr

    with ServerThread(Served(settings).app) as server, Api(server.url, settings) as api:
        after = snapshot(api)
    assert len(after["ledger"]) == 3
    assert after == live
    types = [e["type"] for e in after["histories"][str(cases[0].id)]["items"]]
    assert types == ["TipRegistered", "CaseOpened", "FollowUpStarted", "AccountabilityRecorded"]


async def test_a_rebuild_analyzes_the_tables_it_fills_as_they_grow(settings: Settings) -> None:
    """Stale statistics made PostgreSQL scan the whole ledger for every page of a rebuild."""
    from services.ops.rebuild import Statistics
    from services.tracking.service import TrackingService
    from shared.platform.readmodel import SHARED_MIGRATIONS, ensure_schema, migrate
    from shared.platform.settings import load_secrets

    await ensure_schema(settings)
    tracking = TrackingService(settings, load_secrets(settings))
    await tracking.start()
    analyzed: list[str] = []
    try:
        statistics = Statistics(tracking)
        writer = tracking.writes.kw["bind"]
        await migrate(writer, SHARED_MIGRATIONS, "alembic_version_shared")  # the marks
        sa_event.listen(
            writer.sync_engine,
            "before_cursor_execute",
            lambda _c, _k, statement, *_: (
                analyzed.append(statement) if statement.startswith("ANALYZE") else None
            ),
        )
        await statistics.wrote(Statistics.FIRST - 1)
        assert analyzed == []
        await statistics.wrote(1)  # the first threshold
        assert analyzed == [f"ANALYZE {t}" for t in Statistics.TABLES]
        await statistics.wrote(Statistics.FIRST - 1)  # less than written before the last one
        assert len(analyzed) == len(Statistics.TABLES)
        await statistics.wrote(1)  # the written count has doubled
        assert len(analyzed) == 2 * len(Statistics.TABLES)
    finally:
        await tracking.stop()
