"""The 苗头预警 insight raised (``EarlyWarningRaised``, ADR 32), kept for the monthly circular:
its own projection, following insight alone, so the ledger's follows nothing new."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger.tables import early_warnings
from shared.contracts import Envelope
from shared.contracts.insight import EarlyWarningRaised
from shared.platform.projection import SqlProjection

NAME = "ledger_warnings"


def places(keys: list[dict[str, str]]) -> str:
    return "、".join(f"{k.get('level_label', '')}「{k.get('value', '')}」" for k in keys)[:500]


async def _raised(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, EarlyWarningRaised)
    found = await session.execute(
        sa.select(early_warnings.c.warning_id).where(
            early_warnings.c.warning_id == event.warning_id
        )
    )
    if found.first() is None:
        await session.execute(
            early_warnings.insert().values(
                warning_id=event.warning_id,
                day=event.day,
                category=event.category,
                category_label=event.category_label,
                places=places(event.keys),
                count=event.count,
                expected=event.expected,
                case_numbers=event.case_numbers,
                raised_at=envelope.occurred_at,
            )
        )


def warnings_projection(sessions: async_sessionmaker[AsyncSession]) -> SqlProjection:
    return SqlProjection(NAME, ("insight",), sessions, {EarlyWarningRaised: _raised})


async def raised_between(session: AsyncSession, first: date, last: date) -> list[Any]:
    """The warnings whose day lies in first..last, in order."""
    rows = await session.execute(
        sa.select(early_warnings)
        .where(early_warnings.c.day.between(first, last))
        .order_by(early_warnings.c.day, early_warnings.c.category)
    )
    return list(rows)
