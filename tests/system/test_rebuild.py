"""``taizhang projections rebuild``: fresh read tables from the event stores equal the live
ledger (and its audit trail), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event as sa_event

from services.ops.rebuild import rebuild_ledger
from services.ops.staging import RebuildRunning
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import act, ok, open_case, view
from tests.support.infra import PostgresProcess, ServerThread, wait_for
from tests.support.pinned import TODAY
from tests.support.tracking import Case, Served, serving

TAIZHANG = str(Path(sys.executable).parent / "taizhang")


def snapshot(api: Api) -> dict[str, Any]:
    office = api.auth("office")
    items = api.get("/api/v1/ledger", params={"page_size": 200}, headers=office).json()["items"]
    histories = {
        i["case_id"]: api.get(f"/api/v1/cases/{i['case_id']}/history", headers=office).json()
        for i in items
    }
    # the whole UTC day of the cases (registered at 10:00 in Shanghai) is read from the KPI
    # counters (ADR 33), which the rebuild fills too
    days = {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY + timedelta(days=1))}
    stats = api.get("/api/v1/stats/channels", params=days, headers=office).json()["items"]
    # the person filter reads its own index (case_persons, ADR 43), which the rebuild fills too
    named = api.get("/api/v1/ledger", params={"person": "张某"}, headers=office).json()["items"]
    persons = [i["case_id"] for i in named]
    return {"ledger": items, "histories": histories, "stats": stats, "persons": persons}


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """This module's PostgreSQL, its own: a rebuild's worker processes, each with its pools,
    beside the other worker's tests took the machine's server past its 100 connections."""
    server = PostgresProcess()
    with (server.pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("max_connections = 200\n")
    server.start()
    try:
        yield server.url
    finally:
        server.destroy()


def vandalize(settings: Settings) -> None:
    """Damage the live read tables, so that only a real rebuild can restore them."""
    statements = ["UPDATE ledger SET status = 'merged', summary = NULL", "DELETE FROM case_history"]
    statements += ["DELETE FROM ledger_tallies", "DELETE FROM case_persons"]
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
            Case(
                served,
                channel="media",
                summary="道路积水",
                subject={"unit": "某局", "person": "张某某"},
            ),
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
        seen: list[dict[str, Any]] = []

        def settled() -> dict[str, Any] | None:
            """The record on the ledger and nothing more arriving: the procedure's later
            events may be applied a page after the record (seen under load)."""
            s = snapshot(api)
            still = bool(s["ledger"][-1]["accountability"]) and seen[-1:] == [s]
            seen.append(s)
            return s if still else None

        live = wait_for(settled, 30, "the accountability record on the ledger", interval=0.5)
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
    assert live["stats"][0]["cases"] >= 1  # the counters were read, and rebuilt
    assert after == live
    assert after["persons"] == [str(cases[1].id)]
    types = [e["type"] for e in after["histories"][str(cases[0].id)]["items"]]
    assert types == [
        "TipRegistered",
        "CaseOpened",
        "FollowUpStarted",
        "AccountabilityProcedureOpened",  # the §6 record opened the office's procedure
        "AccountabilityFindingRecorded",
        "AccountabilityDecided",
        "AccountabilityProcedureClosed",
    ]


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
        statistics = Statistics(tracking.writes)
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


def staging_exists(settings: Settings) -> bool:
    if settings.database_url is None:
        return (settings.data_dir / "rebuild").exists()
    with psycopg.connect(settings.database_url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = %s",
            (f"{settings.database_schema}_rebuild",),
        ).fetchone()
    return bool(found and found[0])


def summaries(api: Api) -> dict[str, Any]:
    items = api.get("/api/v1/ledger", params={"page_size": 200}, headers=api.auth("office"))
    return {i["number"]: i["summary"] for i in items.json()["items"]}


def test_reads_see_the_old_ledger_until_the_rebuilt_one_is_swapped_in(settings: Settings) -> None:
    """Blue/green (ADR 29): the live service answers from the old tables while the rebuild
    fills its staging ones, and a tip registered meanwhile is in the new ledger too."""
    with serving(settings) as served:
        Case(served, summary="反映某局乱收费问题")
        Case(served, summary="道路积水")
        vandalize(settings)  # the "old" ledger: every summary gone
        old = summaries(served.api)
        seen: dict[str, Any] = {}

        def progress(source: str, position: int, head: int) -> None:
            if source == "dispatch" and "during" not in seen:  # intake is in staging already
                seen["during"] = summaries(served.api)
                seen["staged"] = staging_exists(settings)
                seen["meanwhile"] = Case(served, summary="登记于重建期间").number

        counts = asyncio.run(rebuild_ledger(served.settings, progress))
        assert seen["during"] == old == dict.fromkeys(old)  # the old ledger, summaries gone
        assert seen["staged"]
        after = wait_for(
            lambda: (s := summaries(served.api)).get(seen["meanwhile"]) and s,
            10,
            "the tip registered during the rebuild on the new ledger",
        )
    assert set(after.values()) == {"反映某局乱收费问题", "道路积水", "登记于重建期间"}
    assert counts["intake"] >= 3
    assert not staging_exists(settings)


def test_a_failed_rebuild_leaves_the_old_ledger_and_no_staging(settings: Settings) -> None:
    class Interrupted(Exception):
        pass

    def progress(source: str, position: int, head: int) -> None:
        if source == "tracking":
            raise Interrupted

    with serving(settings) as served:
        Case(served, summary="反映某局乱收费问题")
        vandalize(settings)
        with pytest.raises(Interrupted):
            asyncio.run(rebuild_ledger(served.settings, progress))
        assert list(summaries(served.api).values()) == [None]
    assert not staging_exists(settings)


def test_a_rebuild_split_over_workers_equals_the_live_ledger(settings: Settings) -> None:
    """Two worker processes (one on SQLite), each applying its share of the cases: a merge
    (``Merged`` on one case, ``RepeatReportLinked`` on the other) and a triage come out as
    the live projection wrote them, audit trail and all."""
    with serving(settings) as served:
        api = served.api
        target, repeat, triaged = open_case(api), open_case(api), open_case(api)
        number = view(api, target)["number"]
        ok(act(api, repeat, "merge", "office", into=number, reason="重复反映"))
        ok(act(api, triaged, "triage", "office", track="general", category="inaction"))

        seen: list[dict[str, Any]] = []

        def settled() -> dict[str, Any] | None:
            """The merge and the triage shown, and nothing more arriving (tracking's
            follow-up concludes the merged case a moment later)."""
            s = snapshot(api)
            rows = {i["case_id"]: i for i in s["ledger"]}
            done = (  # a row may not be on the ledger yet
                rows.get(repeat, {}).get("status") == "merged"
                and rows.get(target, {}).get("repeats") == 1
                and rows.get(triaged, {}).get("track") == "general"
            )
            still = done and seen[-1:] == [s]
            seen.append(s)
            return s if still else None

        live = wait_for(settled, 30, "the merge and the triage on the ledger", interval=0.5)
        vandalize(settings)
        asyncio.run(rebuild_ledger(served.settings, lambda *_: None, workers=2))
        assert snapshot(api) == live
    assert not staging_exists(settings)


def test_a_second_rebuild_is_refused_while_one_runs(settings: Settings) -> None:
    """It would drop the first one's staging; it is refused instead, and the first goes on."""
    refused: list[BaseException] = []

    def second() -> None:
        try:
            asyncio.run(rebuild_ledger(served.settings, lambda *_: None))
        except BaseException as e:
            refused.append(e)

    def progress(source: str, position: int, head: int) -> None:
        if source == "dispatch" and not refused:
            thread = threading.Thread(target=second)
            thread.start()
            thread.join(60)

    with serving(settings) as served:
        Case(served, summary="反映某局乱收费问题")
        vandalize(settings)
        asyncio.run(rebuild_ledger(served.settings, progress))
        assert list(summaries(served.api).values()) == ["反映某局乱收费问题"]
    assert [type(e) for e in refused] == [RebuildRunning]
    assert "另一次重建正在进行" in str(refused[0])
    assert not staging_exists(settings)


def test_a_rebuild_in_many_chunks_equals_the_live_ledger(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk replay keeps rows and marks in memory and writes them once a chunk (ADR 40);
    with chunks of one case and pages of two events, nearly every page reads back rows and
    marks an earlier chunk wrote and replaces them — a merge, a triage, an accountability
    record's procedure and a unit's registration come out as the live projection wrote them."""
    from services.ops import rebuild
    from services.tracking.ledger import replay

    with serving(settings) as served:
        api = served.api
        target, repeat, triaged = open_case(api), open_case(api), open_case(api)
        number = view(api, target)["number"]
        ok(act(api, repeat, "merge", "office", into=number, reason="重复反映"))
        ok(act(api, triaged, "triage", "office", track="general", category="inaction"))
        record = {
            "target_kind": "leadership",
            "name": "某局领导班子",
            "measures": ["circulated_criticism"],
        }
        subject = {"unit": "某局", "person": "张某"}
        recorded = Case(served, summary="反映某局乱收费问题", subject=subject).post(
            "accountability", record
        )
        assert recorded.status_code == 201
        seen: list[dict[str, Any]] = []

        def settled() -> dict[str, Any] | None:
            s = snapshot(api)
            rows = {i["case_id"]: i for i in s["ledger"]}
            done = (
                rows.get(repeat, {}).get("status") == "merged"
                and rows.get(target, {}).get("repeats") == 1
                and rows.get(triaged, {}).get("track") == "general"
                and any(i["accountability"] for i in s["ledger"])
            )
            still = done and seen[-1:] == [s]
            seen.append(s)
            return s if still else None

        live = wait_for(settled, 30, "the merge, triage and record on the ledger", interval=0.5)
        vandalize(settings)
        flushes: list[int] = []
        flush = replay.BulkLedger.flush

        async def counted(self: replay.BulkLedger, *, last: bool = False) -> None:
            flushes.append(len(self.before))  # rows an earlier chunk wrote, replaced now
            await flush(self, last=last)

        monkeypatch.setattr(replay, "CHUNK_ROWS", 1)
        monkeypatch.setattr(rebuild, "PAGE", 2)
        monkeypatch.setattr(replay.BulkLedger, "flush", counted)
        asyncio.run(rebuild_ledger(served.settings, lambda *_: None, workers=1))
        assert snapshot(api) == live
        assert len(live["persons"]) == 1
    assert len(flushes) > 10
    assert sum(flushes) > 0  # rows were read back from staging and replaced
    assert not staging_exists(settings)


@pytest.mark.postgres
def test_the_database_picks_a_workers_streams_as_share_of_does(pg_url: str) -> None:
    """Each worker reads only its streams, chosen by SQL (ADR 40): a worker's share computed
    there must be the one ``share_of`` computes, or a case's events would be split."""
    from uuid import NAMESPACE_URL, uuid4, uuid5

    from services.ops.workers import SQL_SHARE, share_of

    ids = [uuid4() for _ in range(200)] + [uuid5(NAMESPACE_URL, str(n)) for n in range(50)]
    with psycopg.connect(pg_url) as conn:
        for workers in (2, 3, 7, 16):
            found = conn.execute(
                f"SELECT {SQL_SHARE} FROM unnest(%s::uuid[]) WITH ORDINALITY AS s(originator_id, n) ORDER BY n",
                (workers, ids),  # the share's placeholder comes first
            ).fetchall()
            assert [k for (k,) in found] == [share_of(i, workers) for i in ids]
            assert len({k for (k,) in found}) == workers  # every worker has a share
