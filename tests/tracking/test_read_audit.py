"""Every read of protected data is in the audit trail (issue 16, ADR 26), on SQLite and
PostgreSQL: who viewed a case or its history, searched or exported the ledger, with the outcome
and the filters — a search term only keyed, found again by giving the term."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from services.tracking.ledger.audit import ReadAudit
from services.tracking.ledger.tables import MIGRATIONS, read_audit
from shared.platform.readmodel import create_engine, ensure_schema, migrate, sessionmaker
from shared.platform.settings import Settings
from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.pinned import NOW
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401

PHONE = "13912340077"


def test_case_views_histories_searches_and_exports_are_audited_without_the_terms(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="hotline_12388", summary="读取审计")
    api = served.api
    supervisor = api.auth("supervisor", "纪委甲")
    reader = api.auth("supervisor", "纪委乙")
    outsider = api.auth("unit_liaison", "联络员丙", unit="WC-JYQ")

    assert api.get(f"/api/v1/cases/{case.id}", headers=reader).status_code == 200
    assert api.get(f"/api/v1/cases/{case.id}/history", headers=reader).status_code == 200
    problem(api.get(f"/api/v1/cases/{case.id}", headers=outsider), 404)
    searched = api.get(
        "/api/v1/ledger", params={"q": PHONE, "channel": "hotline_12388"}, headers=reader
    )
    assert searched.status_code == 200, searched.text
    exported = api.get("/api/v1/ledger.xlsx", params={"status": "registered"}, headers=reader)
    assert exported.status_code == 200

    def audit(**params: Any) -> dict[str, Any]:
        r = api.get("/api/v1/audit", params=params, headers=supervisor)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    [viewed] = audit(type="CaseViewed", actor="supervisor:纪委乙")["items"]
    assert viewed["case_id"] == str(case.id) and viewed["outcome"] == "shown"
    assert viewed["actor"] == {
        "id": "supervisor:纪委乙",
        "name": "纪委乙",
        "role": "supervisor",
        "unit": None,
    }
    assert viewed["source"] == "reads"
    assert viewed["type_label"] == "查看案件" and viewed["outcome_label"] == "已显示"
    [history] = audit(type="CaseHistoryViewed", case_id=str(case.id))["items"]
    assert history["actor"]["name"] == "纪委乙" and history["outcome"] == "shown"
    [refused] = audit(type="CaseViewed", actor="联络员丙")["items"]
    assert refused["outcome"] == "not_found" and refused["actor"]["unit"] == "WC-JYQ"

    [search] = audit(type="LedgerSearched", actor="纪委乙")["items"]
    filters = search["data"]["filters"]
    assert filters["channel"] == "hotline_12388"
    assert filters["q_keyed"].startswith("fp1:") and "q" not in filters
    [export] = audit(type="LedgerExported", actor="纪委乙")["items"]
    assert export["data"] == {"filters": {"status": "registered"}}

    # The term is found again by giving it, never shown; another term finds nothing.
    assert [i["type"] for i in audit(term=PHONE)["items"]] == ["LedgerSearched"]
    assert audit(term="13900000000")["total"] == 0
    everything = audit(page_size=200)
    assert PHONE not in json.dumps(everything, ensure_ascii=False)
    # Changes and reads in one trail, newest first: the registration is older than the reads.
    kinds = [i["type"] for i in everything["items"]]
    assert kinds.index("LedgerExported") < kinds.index("TipRegistered")
    problem(api.get("/api/v1/audit", params={"term": "x" * 101}, headers=supervisor), 422)


def test_looks_by_number_at_the_registration_the_procedure_and_the_lists_are_audited(
    served: Served,
) -> None:
    """The reads ADR 26 left out at first: a case by its number, intake's registration record,
    a case's accountability procedure, the 问责清单 and its checks, a unit's assessment and
    the assessment's documents."""
    case = Case(served, channel="hotline_12388", summary="按编号查看")
    api, year = served.api, NOW.year
    supervisor = api.auth("supervisor", "纪委甲")
    reader = api.auth("office", "办公室乙")

    def audit(**params: Any) -> list[dict[str, Any]]:
        r = api.get("/api/v1/audit", params=params, headers=supervisor)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    assert api.get(f"/api/v1/cases/by-number/{case.number}", headers=reader).status_code == 200
    problem(api.get(f"/api/v1/cases/by-number/{year}-999999", headers=reader), 404)
    shown, missing = sorted(
        audit(type="CaseViewed", actor="办公室乙"), key=lambda i: i["outcome"] != "shown"
    )
    assert shown["case_id"] == str(case.id) and shown["data"] == {"number": case.number}
    assert missing["outcome"] == "not_found" and missing["case_id"] is None
    assert missing["data"] == {"number": f"{year}-999999"}

    # intake's record: the read is an event of the tip, in the same trail once it arrives
    assert api.get(f"/api/v1/tips/{case.id}", headers=reader).status_code == 200
    [record] = wait_for(
        lambda: audit(type="TipRecordViewed", case_id=str(case.id)), 10, "the record's read"
    )
    assert record["actor"]["name"] == "办公室乙" and record["source"] == "intake"
    assert record["type_label"] == "查看登记记录"

    # a look is not the case moving on: "updated" is the last step's time, never the look's
    # (asked until the case's own steps have all arrived)
    def updated_by_steps_only() -> bool:
        steps = api.get(f"/api/v1/cases/{case.id}/history", headers=reader).json()["items"]
        last_step = max(
            datetime.fromisoformat(e["occurred_at"])
            for e in steps
            if e["type"] not in ("TipRecordViewed", "ReporterIdentityViewed")
        )
        return datetime.fromisoformat(case.view()["updated_at"]) == last_step

    wait_for(updated_by_steps_only, 10, "the ledger's updated time to be the last step's")

    path = f"/api/v1/cases/{case.id}/accountability"
    problem(api.get(path, headers=reader), 404)
    opened = api.post(f"{path}/open", json={"reason": "群众反映推诿"}, headers=reader)
    while opened.status_code == 404:  # the follow-up has not learnt of the case yet
        time.sleep(0.1)
        opened = api.post(f"{path}/open", json={"reason": "群众反映推诿"}, headers=reader)
    assert opened.status_code == 201, opened.text
    assert api.get(path, headers=reader).status_code == 200
    # the look at a procedure is recorded; asking of a case that has none showed nothing
    [look] = audit(type="AccountabilityProcedureViewed", case_id=str(case.id))
    assert look["outcome"] == "shown" and look["actor"]["name"] == "办公室乙"

    person = "王某某"
    listed = api.get("/api/v1/accountability", params={"person": person}, headers=reader)
    assert listed.status_code == 200
    assert api.get("/api/v1/accountability/checks", headers=reader).status_code == 200
    lists = audit(type="AccountabilityListSearched", actor="办公室乙")
    assert sorted(i["data"]["list"] for i in lists) == ["accountability", "checks"]
    [by_person] = [i for i in lists if i["data"]["list"] == "accountability"]
    assert by_person["data"]["filters"]["person_keyed"].startswith("fp1:")
    assert person not in json.dumps(lists, ensure_ascii=False)

    served.unit("WC-JYQ", "武昌区教育局")
    wait_for(
        lambda: api.get(f"/api/v1/assessments/{year}/WC-JYQ", headers=reader).status_code == 200,
        10,
        "the unit in the assessment",
    )
    report = api.get(f"/api/v1/assessments/{year}/report.docx", headers=reader)
    assert report.status_code == 200
    [unit_look] = audit(type="UnitAssessmentViewed", actor="办公室乙")[:1]
    assert unit_look["data"]["filters"] == {"year": year, "unit": "WC-JYQ"}
    [exported] = audit(type="ReportExported", actor="办公室乙")
    assert exported["data"]["filters"] == {"document": "assessment", "year": year}
    # every entry of the trail, read or event, is named in Chinese for the supervisor
    labels = {i["type"]: i["type_label"] for i in audit(page_size=200)}
    assert len(labels) >= 10
    assert all("\u4e00" <= label[0] <= "\u9fff" for label in labels.values()), labels


def test_reads_handed_to_the_writer_are_all_written_in_order_by_a_stop(
    settings: Settings,
) -> None:
    """Batched (ADR 26): rows handed over while the task runs are written, none lost and
    none twice, and a stop writes what is still waiting."""

    async def scenario() -> list[str]:
        await ensure_schema(settings)
        engine = create_engine(settings, writer=True)
        try:
            await migrate(engine, MIGRATIONS, "alembic_version_tracking")
            writer = ReadAudit(sessionmaker(engine), max_pending=7)
            writer.start()
            for n in range(20):
                await writer.add(row(n))
                if n == 9:
                    await asyncio.sleep(0.05)  # the task writes the first ones meanwhile
            await writer.close()
            async with sessionmaker(engine)() as session:
                found = await session.execute(sa.select(read_audit.c.actor_id).order_by("id"))
                return [str(a) for a in found.scalars()]
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == [f"reader:{n}" for n in range(20)]


def test_an_export_leaves_only_once_its_audit_row_is_committed_or_not_at_all(
    served: Served,
) -> None:
    """An export is answered after its row is in the database (not a batch later, which a
    crash could lose); a database that refuses the write refuses the export — 503, no data —
    and the withdrawn row is not written later either (ADR 26, third addendum)."""
    Case(served, channel="hotline_12388", summary="导出审计")
    api, writer = served.api, served.tracking.ledger.read_audit
    who = api.auth("supervisor", "纪委导出")
    exported = api.get("/api/v1/ledger.xlsx", params={"status": "registered"}, headers=who)
    assert exported.status_code == 200 and exported.content.startswith(b"PK")
    assert stored_reads(served.settings, "纪委导出") == ["LedgerExported"]  # no flush asked

    kept = writer.writes
    writer.writes = sessionmaker(create_async_engine(refusing_url(served.settings)))
    try:
        refused = api.get("/api/v1/ledger.xlsx", headers=api.auth("supervisor", "纪委拒绝"))
        report = api.get("/api/v1/reports/annual/2026", headers=api.auth("office", "办公室拒绝"))
    finally:
        writer.writes = kept
    for answer in (refused, report):
        body = problem(answer, 503)
        assert body["code"] == "read_audit_unavailable" and "未提供数据" in body["detail"]
        assert int(answer.headers["Retry-After"]) > 0
        assert b"PK" not in answer.content[:2]
    assert api.get("/api/v1/audit", headers=who).status_code == 200  # writes what waits
    assert stored_reads(served.settings, "纪委拒绝") == []
    assert stored_reads(served.settings, "办公室拒绝") == []


def refusing_url(settings: Settings) -> str:
    """A database that refuses every write: nothing listens there, or the file cannot be."""
    if settings.database_url is None:
        return f"sqlite+aiosqlite:///{settings.data_dir}/no-such-dir/readmodels.sqlite"
    return "postgresql+asyncpg://postgres@127.0.0.1:1/refused"


def stored_reads(settings: Settings, actor_name: str) -> list[str]:
    """The read audit's rows of one reader, read from the table (not through the writer)."""

    async def read() -> list[str]:
        engine = create_engine(settings)
        try:
            async with sessionmaker(engine)() as session:
                found = await session.execute(
                    sa.select(read_audit.c.type)
                    .where(read_audit.c.actor_name == actor_name)
                    .order_by(read_audit.c.id)
                )
                return [str(t) for t in found.scalars()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def row(n: int) -> dict[str, Any]:
    return {
        "occurred_at": NOW,
        "type": "CaseViewed",
        "actor_id": f"reader:{n}",
        "actor_name": "读者",
        "actor_role": "office",
        "actor_unit": None,
        "case_id": None,
        "outcome": "shown",
        "data": {},
    }
