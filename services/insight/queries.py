"""What the office asks of insight, answered from its table with the pure scorer and rule."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.insight.domain import Suggestion, Tip, Vectoriser, suggest
from services.insight.errors import NotSeen
from services.insight.tables import tips
from services.insight.warning import WARNING_DEFAULT, Signal, Warning, detect
from shared.platform.projection import projection_positions

# Open cases further apart in time than this are not compared (the scorer weighs time too;
# this bounds the work to the cases an office would still merge).
SUGGESTION_SPAN = timedelta(days=180)


def _tip(row: Any) -> Tip:
    return Tip(
        case_id=str(row.case_id),
        content=row.content,
        category=row.category,
        street=row.street,
        subject_unit=row.subject_unit,
        registered_at=row.registered_at,
        number=row.number,
        subject_person=row.subject_person,
    )


async def suggestions(session: AsyncSession, case_id: UUID) -> list[Suggestion]:
    found = await suggestions_for(session, [case_id])
    if (answer := found[case_id]) is None:
        raise NotSeen(f"尚未收到该案件的线索 (insight has not seen case {case_id})")
    return answer


async def suggestions_for(
    session: AsyncSession, case_ids: Sequence[UUID]
) -> dict[UUID, list[Suggestion] | None]:
    """Each case's suggestions against the open cases within ``SUGGESTION_SPAN`` of it, from
    one read of the open cases; ``None`` for a case not seen."""
    rows = await session.execute(sa.select(tips).where(tips.c.case_id.in_(case_ids)))
    asked = {row.case_id: _tip(row) for row in rows}
    if not asked:
        return dict.fromkeys(case_ids)
    moments = [t.registered_at for t in asked.values()]
    window = tips.c.registered_at.between(
        min(moments) - SUGGESTION_SPAN, max(moments) + SUGGESTION_SPAN
    )
    open_rows = await session.execute(sa.select(tips).where(tips.c.closed.is_(False), window))
    candidates = [_tip(r) for r in open_rows]
    # Scoring is pure Python over every open case (a third of a second a case at 3,000):
    # off the event loop, so requests served by the same process are not held meanwhile.
    scored = await asyncio.to_thread(_suggest_each, asked, candidates)
    return {case_id: scored.get(case_id) for case_id in case_ids}


def _suggest_each(asked: dict[UUID, Tip], candidates: list[Tip]) -> dict[UUID, list[Suggestion]]:
    shared: dict[frozenset[str], Vectoriser] = {}
    found = {}
    for case_id, tip in asked.items():
        near = [
            c for c in candidates if abs(c.registered_at - tip.registered_at) <= SUGGESTION_SPAN
        ]
        ids = frozenset(c.case_id for c in near)
        corpus = None
        if tip.case_id in ids:  # the desk's cases, days apart, mostly see the same open cases
            corpus = shared.get(ids) or shared.setdefault(
                ids, Vectoriser([c.content for c in near])
            )
        found[case_id] = suggest(tip, near, corpus=corpus)
    return found


async def positions(session: AsyncSession, consumer: str) -> dict[str, int]:
    """How far a projection has applied each source: changes when anything new arrived."""
    rows = await session.execute(
        sa.select(projection_positions.c.source, projection_positions.c.position).where(
            projection_positions.c.consumer == consumer
        )
    )
    return {source: int(position) for source, position in rows}


SIGNAL_COLUMNS = (
    tips.c.case_id,
    tips.c.number,
    tips.c.category,
    tips.c.registered_at,
    tips.c.street,
    tips.c.subject_unit,
    tips.c.subject_person,
)
SWEEP_PARTITION = 500


async def warnings(
    session: AsyncSession, first: date, last: date, timezone: str
) -> tuple[list[Warning], dict[str, str]]:
    """The warnings raised on the days first..last, and the case numbers they name."""
    zone = ZoneInfo(timezone)
    since = first - timedelta(days=WARNING_DEFAULT.window + WARNING_DEFAULT.history)
    start = datetime.combine(since, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    # Only what the rule reads (not the texts), a partition at a time: the loop that reads
    # them serves intake's requests in an all-in-one process, and 20,000 rows read at once
    # held it for 0.4–1.1 s every pass (ADR 45).
    streamed = await session.stream(
        sa.select(*SIGNAL_COLUMNS).where(
            tips.c.category.is_not(None),
            tips.c.registered_at >= start,
            tips.c.registered_at < end,
        )
    )
    found: list[Any] = []
    async for partition in streamed.partitions(SWEEP_PARTITION):
        found.extend(partition)
    # The rule is pure Python over every tip of the last weeks (seconds for a city's ~77,000):
    # off the event loop, so requests served by the same process are not held meanwhile.
    return await asyncio.to_thread(_detected, found, first, last, zone)


def _detected(
    found: list[Any], first: date, last: date, zone: ZoneInfo
) -> tuple[list[Warning], dict[str, str]]:
    signals = [
        Signal(
            str(r.case_id),
            r.category,
            r.registered_at.astimezone(zone).replace(tzinfo=None),
            r.street,
            r.subject_unit,
            r.subject_person,
        )
        for r in found
    ]
    numbers = {str(r.case_id): r.number for r in found}
    return detect(signals, first, last), numbers
