"""Events in, the insight table out: a tip when intake registers it, its category when the
office triages it, closed when its case reaches a final state. Idempotent (the projection's
mark; an insert that finds its row changes nothing)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.insight.index import CLOSED, tip_of
from services.insight.tables import tips
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.contracts.intake import TipRegistered
from shared.platform.projection import Handler, SqlProjection

NAME = "insight"


async def _registered(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, TipRegistered)
    tip = tip_of(event)
    found = await session.execute(sa.select(tips.c.case_id).where(tips.c.case_id == event.case_id))
    if found.first() is None:
        await session.execute(
            tips.insert().values(
                case_id=event.case_id,
                number=tip.number,
                content=tip.content,
                category=tip.category,
                street=tip.street,
                subject_unit=tip.subject_unit,
                subject_person=tip.subject_person,
                registered_at=_aware(tip.registered_at),
                closed=False,
            )
        )


async def _case_moved(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, d.CaseEvent)
    changes: dict[str, object] = {}
    if isinstance(event, d.CaseTriaged) and event.category:
        changes["category"] = event.category
    if event.status in CLOSED:
        changes["closed"] = True
    if changes:
        await session.execute(tips.update().where(tips.c.case_id == event.case_id).values(changes))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.astimezone()


def _case_events() -> list[type[d.CaseEvent]]:
    found: list[type[d.CaseEvent]] = []
    pending: list[type[d.CaseEvent]] = [d.CaseEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not d.CaseEvent:
            found.append(cls)
    return found


def insight_projection(sessions: async_sessionmaker[AsyncSession]) -> SqlProjection:
    handlers: dict[type[Contract], Handler] = {TipRegistered: _registered}
    handlers.update({cls: _case_moved for cls in _case_events()})
    return SqlProjection(NAME, ("intake", "dispatch"), sessions, handlers)
