"""Insight's projection writes a fetched batch set-based (ADR 45): its tips in one insert, each
case's changes folded in order, a redelivered batch changing nothing — the same table as one
envelope at a time, on both stores."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid5

import sqlalchemy as sa

from services.insight.projection import insight_projection
from services.insight.tables import MIGRATIONS, tips
from shared.contracts import Envelope
from shared.contracts.dispatch import CaseEvent, CaseNotAccepted, CaseTriaged
from shared.contracts.intake import TipRegistered
from shared.contracts.vocabulary import CaseStatus
from shared.platform.messaging import Outcome
from shared.platform.readmodel import (
    SHARED_MIGRATIONS,
    create_engine,
    ensure_schema,
    migrate,
    sessionmaker,
)
from shared.platform.settings import Settings

NS = UUID("00000000-0000-0000-0000-000000000045")
T0 = datetime(2026, 11, 17, 9, tzinfo=UTC)
ACTOR = {"id": "operator:话务员", "name": "话务员", "role": "operator"}


def case(name: str) -> UUID:
    return uuid5(NS, name)


def registered(name: str, position: int) -> Envelope:
    event = TipRegistered(
        case_id=case(name),
        number=f"2026-{position:06d}",
        channel="hotline_12388",
        content=f"{name}：南湖街道办理居住证时被收取工本费。",
        summary=None,
        category=None,
        external_ref=None,
        occurred_at=None,
        location={"street": "南湖街道"},
        subject={"unit": "某街道办事处", "person": None},
        named=False,
        receipt_digest=None,
        registered_at=T0,
    )
    return Envelope("intake", position, event.case_id, 1, T0, ACTOR, event)


def moved(event: CaseEvent, position: int, version: int) -> Envelope:
    return Envelope("dispatch", position, event.case_id, version, T0, ACTOR, event)


def triaged(name: str, category: str) -> CaseTriaged:
    return CaseTriaged(
        case_id=case(name),
        status=CaseStatus.REGISTERED,
        track="general",
        category=category,
        note=None,
    )


def not_accepted(name: str) -> CaseNotAccepted:
    return CaseNotAccepted(case_id=case(name), status=CaseStatus.NOT_ACCEPTED, reason="重复")


def batches() -> Iterator[list[Envelope]]:
    """甲 and 乙 registered, 甲 triaged twice and 乙 not accepted in the same batch; 丙 triaged
    in the batch its tip arrives in, ahead of it (two sources keep no order between them)."""
    dispatch = itertools.count(1)
    yield [
        registered("甲", 1),
        registered("乙", 2),
        moved(triaged("甲", "arbitrary_charges"), next(dispatch), 1),
        moved(triaged("甲", "service_attitude"), next(dispatch), 2),
        moved(not_accepted("乙"), next(dispatch), 1),
    ]
    yield [moved(triaged("丙", "arbitrary_charges"), next(dispatch), 1), registered("丙", 3)]


async def test_a_batch_is_written_set_based_and_a_redelivered_one_changes_nothing(
    settings: Settings,
) -> None:
    await ensure_schema(settings)
    engine = create_engine(settings, writer=True)
    try:
        await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
        await migrate(engine, MIGRATIONS, "alembic_version_insight")
        projection = insight_projection(sessionmaker(engine))
        assert projection.write_batch is not None
        sent = list(batches())
        for batch in sent:
            assert await projection.handle_batch(batch) == [Outcome.DONE] * len(batch)
        again = await projection.handle_batch(sent[0])
        assert again == [Outcome.DUPLICATE] * len(sent[0])
        async with engine.connect() as conn:
            found = {
                row.case_id: (row.category, row.closed, row.content[:1])
                for row in await conn.execute(sa.select(tips))
            }
    finally:
        await engine.dispose()
    assert found == {
        case("甲"): ("service_attitude", False, "甲"),
        case("乙"): (None, True, "乙"),
        case("丙"): ("arbitrary_charges", False, "丙"),
    }
