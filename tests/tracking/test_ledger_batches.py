"""The ledger projection applies a batch set-based (ADR 13): a case's whole lifecycle in one
batch gives the very rows, units and audit trail that its events give one at a time, and a
batch costs a fixed number of statements, not several per event."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.tracking.ledger.projection import ledger_projection
from services.tracking.ledger.tables import case_history, case_units, ledger
from services.tracking.service import MIGRATIONS
from shared.contracts import Envelope
from shared.platform.messaging import Outcome
from shared.platform.projection import SqlProjection
from shared.platform.readmodel import (
    SHARED_MIGRATIONS,
    create_engine,
    ensure_schema,
    migrate,
    sessionmaker,
)
from shared.platform.settings import Settings
from tests.tracking.test_ledger_rows import CASE, lifecycle, tip


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")  # the marks
    await migrate(engine, MIGRATIONS, "alembic_version_tracking")
    try:
        yield engine
    finally:
        await engine.dispose()


def as_case(envelopes: Sequence[Envelope], case_id: uuid.UUID, offset: int) -> list[Envelope]:
    """The same events about another case, later in each producer's log."""
    return [
        dataclasses.replace(
            e,
            position=e.position + offset,
            stream_id=case_id,
            event=e.event.model_copy(update={"case_id": case_id}),
        )
        for e in envelopes
    ]


async def state(engine: AsyncEngine, case_id: uuid.UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(ledger).where(ledger.c.case_id == case_id))).one()
        units = await conn.execute(
            sa.select(case_units).where(case_units.c.case_id == case_id).order_by(case_units.c.unit)
        )
        history = await conn.execute(
            sa.select(case_history.c.type, case_history.c.data, case_history.c.actor_id)
            .where(case_history.c.case_id == case_id)
            .order_by(case_history.c.id)
        )
        return {
            "row": {k: v for k, v in row._mapping.items() if k != "case_id"},
            "units": [{**u._mapping, "case_id": None} for u in units],
            "history": [{**h._mapping, "data": {**h.data, "case_id": None}} for h in history],
        }


async def test_a_lifecycle_in_one_batch_equals_it_one_event_at_a_time(engine: AsyncEngine) -> None:
    projection = ledger_projection(sessionmaker(engine))
    streams, _ = lifecycle()
    one_by_one = streams.envelopes
    for envelope in one_by_one:
        assert await projection.handle(envelope) is Outcome.DONE

    other = uuid.uuid4()
    batch = as_case(one_by_one, other, offset=1000)
    assert await projection.handle_batch(batch) == [Outcome.DONE] * len(batch)

    alone, together = await state(engine, CASE), await state(engine, other)
    assert together["row"]["status"] == "closed_out"  # the lifecycle ran to its end
    assert [(u["unit"], u["status"]) for u in together["units"]] == [
        ("WC-CZJ", "closed_out"),
        ("WC-JYQ", "closed_out"),
    ]
    assert together == alone
    assert len(together["history"]) == len(batch)
    # delivered again, nothing changes
    assert await projection.handle_batch(batch) == [Outcome.DUPLICATE] * len(batch)
    assert await state(engine, other) == together


async def shown_statuses(engine: AsyncEngine, case_id: uuid.UUID) -> tuple[str, set[str]]:
    """The case's status in the ledger and in each of its ``case_units`` rows."""
    async with engine.connect() as conn:
        status = (
            await conn.execute(sa.select(ledger.c.status).where(ledger.c.case_id == case_id))
        ).scalar_one()
        units = await conn.execute(
            sa.select(case_units.c.status).where(case_units.c.case_id == case_id)
        )
        return status, set(units.scalars())


@pytest.mark.parametrize("batch_size", [1, 4])
async def test_a_cases_units_carry_its_status_through_its_lifecycle(
    engine: AsyncEngine, batch_size: int
) -> None:
    """``case_units.status`` (migration t0004) is the ledger's status after every batch,
    whether only the status moved or the units too."""
    projection = ledger_projection(sessionmaker(engine))
    streams, _ = lifecycle()
    envelopes = streams.envelopes
    followed = []
    for start in range(0, len(envelopes), batch_size):
        batch = envelopes[start : start + batch_size]
        if batch_size == 1:  # the one-at-a-time path of a live consumer
            assert await projection.handle(batch[0]) is Outcome.DONE
        else:
            assert await projection.handle_batch(batch) == [Outcome.DONE] * len(batch)
        status, of_units = await shown_statuses(engine, CASE)
        assert of_units in (set(), {status}), (batch[-1].type, status, of_units)
        if of_units:
            followed.append(status)
    assert len(set(followed)) >= 5, followed  # dispatched … closed_out, not one status copied
    assert followed[-1] == "closed_out"


async def test_a_batch_costs_a_fixed_number_of_statements(engine: AsyncEngine) -> None:
    projection: SqlProjection = ledger_projection(sessionmaker(engine))
    registered = tip()
    batch = [
        Envelope(
            "intake",
            n,
            case_id,
            1,
            registered.registered_at,
            None,
            registered.model_copy(update={"case_id": case_id, "number": f"2026-{n:06d}"}),
        )
        for n, case_id in enumerate((uuid.uuid4() for _ in range(60)), start=1)
    ]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await projection.handle_batch(batch) == [Outcome.DONE] * 60
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", count)
    # marks (read, insert), audit rows, ledger rows (read, insert), case units, position —
    # one of each for sixty events, where one event at a time takes about eight each.
    assert len(statements) <= 10, statements
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(ledger))).scalar() == 60
    assert await projection.last_position("intake") == 60
