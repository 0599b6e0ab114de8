"""The KPIs' counters (ADR 33) that the ledger projection keeps beside the ledger rows equal a
count from scratch after any walk of the cases — merged duplicates, re-dispatches to another
unit, returns and overruled returns, repeated evaluations, second passes, a case whose
registration arrives after its first dispatch event — and the statistics read from them
equal the statistics counted case by case, on both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.tracking.ledger import rows, tallies
from services.tracking.ledger.reports import kpis, summaries
from services.tracking.ledger.tables import (
    TALLY_COUNTS,
    Moment,
    case_history,
    ledger,
    ledger_tallies,
)
from shared.platform.readmodel import create_engine, ensure_schema
from shared.platform.settings import Settings
from shared.web.auth import Principal, Role
from tests.support.ledger_walk import LedgerWalk
from tests.support.pinned import NOW, SHANGHAI
from tests.tracking.test_ledger_order import alembic

OFFICE = Principal(id="office:test", name="test", role=Role.OFFICE, unit=None)
UNITS = ["WC-JYQ", "WC-CZJ", "WC-GAJ"]
CHANNELS = ["petition", "media", None]
CATEGORIES = ["乱收费", "推诿扯皮", None]
STEPS = ["register", "dispatch", "sign", "result", "return", "overrule", "evaluate"]
STEPS += ["merge", "reopen", "close", "recategorise", "extend"]
OPEN = ["dispatched", "in_progress", "returned", "awaiting_evaluation", "second_pass"]


class Walk(LedgerWalk):
    """Cases moved at random, a batch at a time, through the projection's own write."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.history: list[dict[str, Any]] = []
        self.events = 0

    def registered(self) -> datetime:
        """Within four days around NOW, often near a UTC or an office midnight."""
        day = NOW.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        edge = self.rng.choice([0, 16, self.rng.randint(0, 23)])  # UTC / Shanghai midnight
        minutes = self.rng.choice([-1, 0, 1, self.rng.randint(-600, 600)])
        return day + timedelta(days=self.rng.randint(-3, 0), hours=edge, minutes=minutes)

    def new(self) -> rows.Row:
        row = rows.new_row(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        late_registration = self.rng.random() < 0.1  # a dispatch event came first
        return row | {
            "number": f"N{len(self.cases):05d}",
            "registered_at": None if late_registration else self.registered(),
            "channel": self.rng.choice(CHANNELS),
            "category": self.rng.choice(CATEGORIES),
            "updated_at": NOW,
        }

    def move(self, row: rows.Row) -> rows.Row:
        r, row = self.rng, dict(row)
        case = row["case_id"]
        step = r.choice(STEPS)
        if row["registered_at"] is None or step == "register":
            row["registered_at"] = row["registered_at"] or self.registered()
        elif step == "dispatch":
            unit = r.choice(UNITS)
            dispatches = dict(row["dispatches_by_unit"])
            dispatches[unit] = dispatches.get(unit, 0) + 1
            row |= {
                "lead_unit": unit,
                "dispatches_by_unit": dispatches,
                "co_units": r.sample([u for u in UNITS if u != unit], r.randint(0, 1)),
                "status": "dispatched",
                "dispatch_status": "dispatched",
                "signed_at": None,
                "signed_on_time": None,
                "sign_deadline": NOW + timedelta(hours=r.randint(-48, 48)),
                "handle_deadline": NOW + timedelta(days=r.randint(-5, 15)),
            }
        elif step == "sign" and row.get("lead_unit"):
            row |= {"signed_at": NOW, "signed_on_time": r.random() < 0.7}
            row |= {"status": "in_progress", "dispatch_status": "in_progress"}
        elif step == "result" and row.get("signed_at"):
            row |= {"result_submitted_at": NOW, "result_on_time": r.random() < 0.6}
            row |= {"status": "result_submitted", "dispatch_status": "result_submitted"}
        elif step in ("return", "overrule") and row.get("lead_unit"):
            unit = row["lead_unit"]
            if step == "return":
                returns = dict(row["returns_by_unit"])
                returns[unit] = returns.get(unit, 0) + 1
                row |= {"returns_by_unit": returns, "status": "returned"}
            else:
                overruled = dict(row.get("overruled_by_unit") or {})
                overruled[unit] = overruled.get(unit, 0) + 1
                row |= {"overruled_by_unit": overruled, "status": "dispatched"}
                self.event(case, "ReturnOverruled", {"unit": unit})
        elif step == "evaluate":
            kind = r.choice(["complainant", "npc_deputy"])
            rating = r.choice(["satisfied", "basically_satisfied", "dissatisfied"])
            pleased = rating != "dissatisfied"
            who = "complainant" if kind == "complainant" else "third_party"
            by_kind = dict(row.get("evaluations_by_kind") or {})
            satisfied, total = by_kind.get(who, (0, 0))
            by_kind[who] = [satisfied + pleased, total + 1]
            row |= {
                "evaluations_total": row["evaluations_total"] + 1,
                "evaluations_satisfied": row["evaluations_satisfied"] + pleased,
                "evaluations_by_kind": by_kind,
            }
            self.event(case, "EvaluationRecorded", {"evaluator_kind": kind, "rating": rating})
        elif step == "merge":
            row |= {"status": "merged", "dispatch_status": "merged"}
        elif step == "reopen":
            row |= {"pass_no": row["pass_no"] + 1, "status": "second_pass", "closed_out_at": None}
            row |= {"dispatch_status": r.choice(OPEN), "result_submitted_at": None}
        elif step == "close":
            row |= {"closed_out_at": NOW, "status": "closed_out", "dispatch_status": None}
        elif step == "recategorise":
            row |= {"category": r.choice(CATEGORIES), "channel": r.choice(CHANNELS)}
        elif step == "extend":
            row["extensions_granted"] += 1
        return row

    def event(self, case: uuid.UUID, kind: str, data: dict[str, Any]) -> None:
        n = self.events = self.events + 1
        self.history.append(
            {
                "case_id": case,
                "source": "walk",
                "position": n,
                "stream_id": case,
                "stream_version": n,
                "occurred_at": NOW,
                "type": kind,
                "version": 1,
                "data": data,
            }
        )

    async def batch(self, session: AsyncSession, size: int) -> None:
        """A batch of the walk, and the history its events wrote."""
        await super().batch(session, size)
        if self.history:
            await session.execute(case_history.insert(), self.history)
            self.history = []


async def counters(engine: AsyncEngine) -> dict[tuple[Any, ...], tuple[int, ...]]:
    async with engine.connect() as conn:
        found = await conn.execute(sa.select(ledger_tallies))
        return {
            (r.dim, r.day, r.key): counts
            for r in found
            if any(counts := tuple(int(r._mapping[n]) for n in TALLY_COUNTS))
        }


async def test_the_counters_equal_a_count_from_scratch_and_the_statistics_counted_case_by_case(
    engine: AsyncEngine,
) -> None:
    walk = Walk(seed=33)
    for _ in range(30):
        async with AsyncSession(engine) as session, session.begin():
            await walk.batch(session, 12)
    kept = await counters(engine)
    assert {dim for dim, _, _ in kept} == {"all", "unit", "channel", "category", "status", "due"}

    async with engine.begin() as conn:
        await conn.run_sync(tallies.recount)
    assert await counters(engine) == kept

    # a week of office days around the walk: whole UTC days from the counters, the hours
    # around them (the office's midnight is 16:00 UTC) and the missed deadlines from the cases
    start = datetime.combine((NOW - timedelta(days=5)).date(), datetime.min.time(), SHANGHAI)
    end = start + timedelta(days=7)
    async with AsyncSession(engine) as session:
        for by in ("all", "unit", "channel", "category"):
            read = await kpis.kpis(session, OFFICE, by, NOW, start, end)
            counted = await kpis._counted(session, OFFICE, by, NOW, start, end)
            assert read == kpis._finished(counted, by, OFFICE), by
            assert read, by
        statuses = await kpis.by_status(session, OFFICE, start, end)
        assert statuses == await kpis._statuses(session, OFFICE, start, end)
        assert "merged" in statuses
        # the circular's count of overdue cases from the ``due`` counters
        for before in (start, end):
            counted = summaries.overdue_statements(OFFICE, before, NOW, 1)[::2]
            by_case = sum([(await session.execute(c)).scalar_one() for c in counted])
            assert await summaries.overdue_count(session, before, NOW) == by_case
    overdue = sum(u["overdue"] for u in read)
    assert overdue > 0, "the walk left no case past its deadline"


@pytest.mark.empty_store  # migrates from empty, revision by revision
async def test_the_migration_fills_the_split_evaluations_and_counts_the_ledger(
    settings: Settings,
) -> None:
    """t0019 on a populated ledger: each case's evaluations by kind and overruled returns come
    from its history, and the counters from its row, as the projection would keep them."""
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await alembic(engine, "upgrade", "t0018")
        case = uuid.UUID(int=7, version=4)
        walk = Walk(seed=17)
        walk.event(
            case, "EvaluationRecorded", {"evaluator_kind": "complainant", "rating": "satisfied"}
        )
        walk.event(
            case, "EvaluationRecorded", {"evaluator_kind": "cppcc_member", "rating": "dissatisfied"}
        )
        walk.event(case, "ReturnOverruled", {"unit": "WC-JYQ"})
        async with engine.begin() as conn:
            await conn.execute(  # the columns of t0018's ledger
                sa.text(
                    "INSERT INTO ledger (case_id, number, registered_at, status, lead_unit, "
                    "channel, evaluations_total, evaluations_satisfied, extensions_requested, "
                    "extensions_granted, returns, repeats, flagged_for_accountability, "
                    "reminders, supervision_notices, escalated, pass_no, updated_at) VALUES "
                    "(:c, 'N1', :at, 'awaiting_evaluation', 'WC-JYQ', 'petition', 2, 1, "
                    "0, 0, 0, 0, false, 0, 0, false, 1, :at)"
                ).bindparams(sa.bindparam("c", type_=sa.Uuid), sa.bindparam("at", type_=Moment())),
                {"c": case, "at": NOW},
            )
            await conn.execute(case_history.insert(), walk.history)

        await alembic(engine, "upgrade", "head")
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(ledger).where(ledger.c.case_id == case))).one()
        assert row.evaluations_by_kind == {"complainant": [1, 1], "third_party": [0, 1]}
        assert row.overruled_by_unit == {"WC-JYQ": 1}
        counted = await counters(engine)
        day = NOW.astimezone(UTC).date()
        unit = dict(zip(TALLY_COUNTS, counted[("unit", day, "WC-JYQ")], strict=True))
        assert (unit["cases"], unit["overruled_returns"], unit["unit_rows"]) == (1, 1, 1)
        assert (unit["complainant_satisfied"], unit["third_party_evaluations"]) == (1, 1)
        async with engine.begin() as conn:
            await conn.run_sync(tallies.recount)
        assert await counters(engine) == counted
    finally:
        await engine.dispose()
