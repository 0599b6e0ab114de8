"""When a message to a person goes out: retry waits, quiet hours and the lease by which one
sender claims a due message, for every service that sends (notify to the office's people,
intake to reporters)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


class DeliveryFailed(Exception):
    """The channel did not take the message; ``code`` is what a delivery log shows."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def backoff(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: doubling, capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def quiet_until(moment: datetime, start: time | None, end: time | None) -> datetime | None:
    """When quiet hours (免打扰) around ``moment`` (local, aware) end, or None when
    ``moment`` is not in them. Hours may run past midnight (22:00–07:00)."""
    if start is None or end is None or start == end:
        return None
    clock = moment.timetz().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        ends_on = moment.date()
    else:
        inside = clock >= start or clock < end
        ends_on = moment.date() + timedelta(days=1) if clock >= start else moment.date()
    if not inside:
        return None
    return datetime.combine(ends_on, end, moment.tzinfo)


async def claim_due(
    session: AsyncSession,
    outbox: sa.Table,
    now: datetime,
    lease: timedelta,
    batch: int,
    *where: sa.ColumnElement[bool],
) -> list[Any]:
    """Up to ``batch`` rows of ``outbox`` (``id``, ``status``, ``next_attempt_at``) pending and
    due by ``now``, each claimed by pushing its ``next_attempt_at`` a lease ahead — only if no
    other sender (a replica) moved it first, so one message goes out from one sender at a
    time; a sender that dies leaves its claim to lapse. Oldest due first."""
    c = outbox.c
    due = sa.and_(c.status == "pending", c.next_attempt_at <= now, *where)
    query = sa.select(outbox).where(due).order_by(c.next_attempt_at, c.created_at).limit(batch)
    claimed = []
    for row in (await session.execute(query)).all():
        taken = await session.execute(
            outbox.update()
            .where(c.id == row.id, c.status == "pending", c.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=now + lease)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(row)
    return claimed
