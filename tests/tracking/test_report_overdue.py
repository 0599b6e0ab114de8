"""The circular's overdue section lists the longest overdue cases only, with the count of all
of them and where to find the rest (ADR 33), read in deadline order from two indexes
(migration t0018)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.tracking.ledger import rows, tallies
from services.tracking.ledger.presentation import is_overdue
from services.tracking.ledger.reports import documents, summaries
from services.tracking.ledger.tables import ledger
from shared.platform.calendar import WorkingCalendar
from shared.web.auth import Principal, Role
from tests.support.pinned import NOW

OFFICE = Principal(id="office:test", name="test", role=Role.OFFICE, unit=None)
STATES = ["registered", "dispatched", "in_progress", "result_submitted", "closed_out"]


def walk(count: int, seed: int = 33) -> list[dict[str, Any]]:
    """Cases in every state: unsigned with a passed or running sign-for deadline (and a
    handling deadline passed or not), signed, handled, closed, and some without deadlines."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        status = rng.choice(STATES)
        dispatched = status != "registered"
        signed = status != "dispatched" or rng.random() < 0.3
        row = rows.new_row(uuid.UUID(int=rng.getrandbits(128), version=4))
        row |= {
            "number": f"2026-{i:06d}",
            "summary": f"第{i}件",
            "registered_at": NOW - timedelta(days=rng.randint(1, 400)),
            "status": status,
            "updated_at": NOW,
            "dispatch_status": None,
            "sign_deadline": None,
            "handle_deadline": None,
            "signed_at": None,
        }
        if dispatched and rng.random() < 0.9:
            row |= {
                "dispatch_status": status,
                "sign_deadline": NOW + timedelta(hours=rng.randint(-2000, 50)),
                "handle_deadline": NOW + timedelta(hours=rng.randint(-2000, 400)),
                "signed_at": NOW - timedelta(days=400) if signed else None,
            }
        made.append(row)
    return made


def missed(row: dict[str, Any]) -> datetime:
    """The deadline the ledger shows as missed (``presentation.countdown``)."""
    by_sign = row.get("signed_at") is None and row.get("sign_deadline") is not None
    by_sign = by_sign and row.get("dispatch_status") == "dispatched"
    return row["sign_deadline"] if by_sign else row["handle_deadline"]


async def test_the_circular_lists_the_longest_overdue_and_counts_all_of_them(
    engine: AsyncEngine,
) -> None:
    cases = walk(300)
    midnight = NOW.astimezone(UTC).replace(hour=0, minute=0)  # NOW is 02:00 UTC
    for row, minutes in zip(cases[:: len(cases) // 6], (0, 1, 60, 119, 120, 121), strict=False):
        if row["dispatch_status"] is not None:  # deadlines falling due today, before and after
            row["handle_deadline"] = midnight + timedelta(minutes=minutes)
    async with engine.begin() as conn:
        await conn.execute(ledger.insert(), cases)
        await conn.run_sync(tallies.recount)  # the rows went round the projection
    end = NOW - timedelta(days=30)  # the circular of a month past: cases registered before it
    due = [c for c in cases if is_overdue(c, NOW) and c["registered_at"] < end]
    expected = sorted(due, key=lambda c: (missed(c), c["number"]))
    assert len(due) > 40, "the walk has too few overdue cases to cut the list"

    async with AsyncSession(engine) as session:
        total, listed = await summaries.overdue_cases(session, OFFICE, end, NOW, 25)
        _, everyone = await summaries.overdue_cases(session, OFFICE, end, NOW, 1000)
        counted = summaries.overdue_statements(OFFICE, end, NOW, 25)[::2]  # case by case
        by_case = sum([(await session.execute(c)).scalar_one() for c in counted])
    assert total == by_case == len(due)  # from the counters, and counted case by case
    assert [r["number"] for r in listed] == [c["number"] for c in expected[:25]]
    assert [r["number"] for r in everyone] == [c["number"] for c in expected]


def test_the_note_gives_the_count_and_where_the_rest_are_in_every_form() -> None:
    cut = summaries.overdue_note(1234, 200)
    assert "共 1234 件" in cut and "超期最久的 200 件" in cut and "导出 Excel" in cut
    whole = summaries.overdue_note(7, 7)
    assert "共 7 件" in whole and "超期最久" not in whole

    section = summaries.Section("超期未办结问题", [("编号", 14)], [["2026-000001"]], cut)
    report = summaries.Report("通报", "2026-10-01 至 2026-10-31", NOW, [section])
    ctx = summaries.Context(now=NOW, unit_names={}, calendar=WorkingCalendar())
    md = documents.markdown(report, ctx)
    assert md.index(cut) < md.index("| 2026-000001 |")
    assert f"<p>{cut}</p>" in documents.html_page(report, ctx)


@pytest.mark.postgres
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_the_longest_overdue_are_read_in_deadline_order_from_the_indexes(
    engine: AsyncEngine,
) -> None:
    """Each part of the list walks its index in order and stops, and each count reads an
    index alone; nothing sorts the overdue cases of the whole history."""
    queries = summaries.overdue_statements(OFFICE, NOW, NOW, 200)
    plans = []
    async with engine.connect() as conn:
        await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # an empty table
        for statement in queries:
            sql = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
            plan = await conn.execute(sa.text(f"EXPLAIN {sql}"))
            plans.append("\n".join(str(r[0]) for r in plan))
    count_sign, page_sign, count_handling, page_handling = plans
    for plan, index in (
        (page_sign, "ix_ledger_unsigned_deadline"),
        (page_handling, "ix_ledger_handle_deadline"),
    ):
        assert index in plan and "Sort" not in plan, plan
    for plan in (count_sign, count_handling):  # from one of the partial indexes alone
        assert "Index Only Scan" in plan and "Seq Scan" not in plan, plan
