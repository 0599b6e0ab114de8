"""Every read of protected data is in the audit trail (issue 16, ADR 26), on SQLite and
PostgreSQL: who viewed a case or its history, searched or exported the ledger, with the outcome
and the filters — a search term only keyed, found again by giving the term."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import sqlalchemy as sa

from services.tracking.ledger.audit import ReadAudit
from services.tracking.ledger.tables import MIGRATIONS, read_audit
from shared.platform.readmodel import create_engine, ensure_schema, migrate, sessionmaker
from shared.platform.settings import Settings
from tests.support.api import problem
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
