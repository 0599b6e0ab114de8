"""The person filter's index (被反映人, ADR 43): the parts of each case's normalised
``subject.person`` that the ledger projection keeps beside the row equal a fill from scratch
after any walk of the cases (a name given, changed, dropped, a registration arriving after
the first dispatch event), the migration fills them for the cases already there, and the
filter finds exactly the cases whose name contains the term — a surname, a whole name, a term
longer than the parts kept, LIKE's wildcards taken literally — in the ledger's order, on both
stores."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.tracking.ledger import persons, rows
from services.tracking.ledger.queries import LedgerFilter, ledger_page
from services.tracking.ledger.tables import Moment, case_persons
from shared.platform.readmodel import create_engine, ensure_schema
from shared.platform.settings import Settings
from shared.web.auth import Principal, Role
from tests.support.ledger_walk import LedgerWalk
from tests.support.pinned import NOW
from tests.tracking.test_ledger_order import alembic

OFFICE = Principal(id="office:test", name="test", role=Role.OFFICE, unit=None)
NAMES = [
    "张某某",
    "张伟",
    "欧阳某某",
    "王某",
    "赵某_%",
    "Zhang San",
    "ＺＨＡＮＧ",
    "司马建国某某",
    None,
]
# (term, what the office means by it): a surname, a whole name, a part in the middle, a term
# longer than the parts kept, wildcards, another case and width, one found nowhere
TERMS = [
    "张",
    "张某某",
    "某",
    "阳某",
    "司马建国某",
    "某_%",
    "_",
    "zhang",
    "ｚｈａｎｇ ｓ",
    "ＺＨ",
    "李",
]


def test_a_name_is_kept_as_every_part_of_it_normalised() -> None:
    assert persons.parts("张某某") == {"张", "某", "张某", "某某", "张某某"}
    assert persons.normalised(" ＺＨＡＮＧ　San ") == "zhang san"  # width and case folded
    long = persons.entries({"case_id": 1, "subject": {"person": "司马建国某某"}})
    assert max(len(e["part"]) for e in long) == persons.LONGEST
    assert {e["name"] for e in long} == {"司马建国某某"}
    assert persons.key({"subject": {"unit": "某局"}}) is None
    assert persons.key({"subject": {"person": " "}}) is None
    assert persons.key(None) is None


class Walk(LedgerWalk):
    """Cases given names, renamed, unnamed, a batch at a time, through the projection's own
    write (as the KPI counters' walk does)."""

    new_share = 0.4

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.numbers = 0

    def number(self) -> str:
        self.numbers += 1
        return f"N{self.numbers:05d}"

    def new(self) -> rows.Row:
        row = rows.new_row(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        late = self.rng.random() < 0.2  # a dispatch event came before the registration
        at = NOW - timedelta(minutes=self.rng.choice([0, 5, self.rng.randint(0, 10_000)]))
        return row | {
            "number": None if late else self.number(),
            "registered_at": None if late else at,
            "subject": None if late else {"unit": "某局", "person": self.rng.choice(NAMES)},
            "updated_at": NOW,
        }

    def move(self, row: rows.Row) -> rows.Row:
        row = dict(row)
        if row["registered_at"] is None:  # the registration arrives
            row |= {"number": self.number(), "registered_at": NOW}
            row["subject"] = {"person": self.rng.choice(NAMES)}
        elif self.rng.random() < 0.5:
            row["subject"] = {"unit": "某局", "person": self.rng.choice(NAMES)}
        else:
            row["status"] = self.rng.choice(["dispatched", "in_progress", "closed_out"])
        return row


async def kept(engine: AsyncEngine) -> set[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return {tuple(r) for r in await conn.execute(sa.select(case_persons))}


def expected(cases: dict[uuid.UUID, rows.Row], term: str) -> list[uuid.UUID]:
    """The cases naming a person whose name contains the term, in the ledger's order."""
    wanted = persons.normalised(term)
    found = [
        r
        for r in cases.values()
        if (k := persons.key(r)) is not None and wanted in k[0]  # the name, normalised
    ]
    found.sort(key=lambda r: r["case_id"])
    found.sort(key=lambda r: r["number"] or "", reverse=True)
    found.sort(key=lambda r: r["registered_at"], reverse=True)
    return [r["case_id"] for r in found]


async def test_the_projection_keeps_the_parts_and_the_filter_finds_each_term_in_order(
    engine: AsyncEngine,
) -> None:
    walk = Walk(seed=22)
    for _ in range(12):
        async with AsyncSession(engine) as session, session.begin():
            await walk.batch(session, 10)
    live = await kept(engine)
    async with engine.begin() as conn:
        await conn.run_sync(persons.refill)
    assert await kept(engine) == live
    assert any(len(r[1]) == persons.LONGEST for r in live)

    async with AsyncSession(engine) as session:
        for term in TERMS:
            page, total = await ledger_page(
                session,
                OFFICE,
                LedgerFilter(person=term),
                NOW,
                page=1,
                page_size=500,
                count_limit=5,
            )
            want = expected(walk.cases, term)
            assert [r["case_id"] for r in page] == want, term
            assert (total.count, total.exact) == (min(len(want), 5), len(want) <= 5), term
    assert expected(walk.cases, "张") and expected(walk.cases, "某_%")
    assert expected(walk.cases, "ｚｈａｎｇ ｓ") and expected(walk.cases, "ＺＨ")
    assert not expected(walk.cases, "李")


@pytest.mark.empty_store  # migrates from empty to t0019, then t0020 over its rows
async def test_the_migration_fills_the_parts_of_the_cases_already_there(
    settings: Settings,
) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await alembic(engine, "upgrade", "t0019")
        named, unnamed = uuid.UUID(int=1, version=4), uuid.UUID(int=2, version=4)
        insert = sa.text(  # the columns of t0019's ledger that a row needs
            "INSERT INTO ledger (case_id, number, registered_at, subject, status, "
            "evaluations_total, evaluations_satisfied, extensions_requested, "
            "extensions_granted, returns, repeats, flagged_for_accountability, reminders, "
            "supervision_notices, escalated, pass_no, updated_at) VALUES "
            "(:c, :n, :at, :s, 'registered', 0, 0, 0, 0, 0, 0, false, 0, 0, false, 1, :at)"
        ).bindparams(
            sa.bindparam("c", type_=sa.Uuid),
            sa.bindparam("at", type_=Moment()),
            sa.bindparam("s", type_=sa.JSON(none_as_null=True)),
        )
        async with engine.begin() as conn:
            await conn.execute(
                insert,
                [
                    {"c": named, "n": "N1", "at": NOW, "s": {"person": "欧阳某某"}},
                    {"c": unnamed, "n": "N2", "at": NOW, "s": {"unit": "某局"}},
                ],
            )

        await alembic(engine, "upgrade", "head")
        parts = await kept(engine)
        assert {p[1] for p in parts} == persons.parts("欧阳某某")
        assert {(p[0], p[2], p[4]) for p in parts} == {(named, "欧阳某某", "N1")}
        async with AsyncSession(engine) as session:
            found, _ = await ledger_page(
                session, OFFICE, LedgerFilter(person="阳某"), NOW, page=1, page_size=20,
                count_limit=10,
            )  # fmt: skip
        assert [r["case_id"] for r in found] == [named]

        await alembic(engine, "downgrade", "t0019")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        assert "case_persons" not in tables
    finally:
        await engine.dispose()
