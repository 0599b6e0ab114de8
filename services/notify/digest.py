"""The daily digest (每日汇总): a person who chose it gets one e-mail (and one robot message)
a day instead of one per event. Their messages on those channels are written ``held``; from
the digest hour on, a pass gathers each person's held messages of a channel into one digest
message (its id stable per person, day and channel, so a second pass or replica makes none
more) which the deliverer then sends like any other. The gathered messages are marked
``digested`` with the digest's time, which is how the digest finds its lines again."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import (
    DIGEST_EVENT,
    DIGESTED,
    HELD,
    Channel,
    digest_body,
    digest_day,
    digest_id,
    digest_title,
)
from services.notify.tables import messages


async def collect(session: AsyncSession, now: datetime, timezone: str, digest_hour: int) -> int:
    """Make today's digests that are due and not made yet; how many were made."""
    day = digest_day(now.astimezone(ZoneInfo(timezone)), digest_hour)
    if day is None:
        return 0
    held = await session.execute(
        sa.select(messages.c.id, messages.c.person_id, messages.c.channel)
        .where(messages.c.status == HELD)
        .order_by(messages.c.created_at)
    )
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in held:
        groups[(row.person_id, row.channel)].append(row.id)
    made = 0
    for (person_id, channel), ids in groups.items():
        digest = digest_id(person_id, day, Channel(channel))
        exists = await session.execute(sa.select(messages.c.id).where(messages.c.id == digest))
        if exists.first() is not None:
            continue  # today's is made: these wait for tomorrow's
        await session.execute(
            messages.insert().values(**_digest_row(digest, person_id, channel, day, ids, now))
        )
        await session.execute(
            messages.update().where(messages.c.id.in_(ids)).values(status=DIGESTED, sent_at=now)
        )
        made += 1
    return made


def _digest_row(
    digest: Any, person_id: str, channel: str, day: Any, ids: list[Any], now: datetime
) -> dict[str, Any]:
    return {
        "id": digest,
        "event_id": f"digest:{day.isoformat()}",
        "event_type": DIGEST_EVENT,
        "case_id": None,
        "case_number": None,
        "person_id": person_id,
        "channel": channel,
        "title": digest_title(day, len(ids)),
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,  # the hour the person chose: no quiet hours apply
        "sent_at": None,
        "read_at": None,
        "last_error": None,
    }


async def text(session: AsyncSession, digest: Any, timezone: str) -> str:
    """The digest's body: the messages it gathered, in order."""
    gathered = await session.execute(
        sa.select(messages.c.title, messages.c.case_number)
        .where(
            messages.c.person_id == digest.person_id,
            messages.c.channel == digest.channel,
            messages.c.status == DIGESTED,
            messages.c.sent_at == digest.created_at,
        )
        .order_by(messages.c.created_at)
    )
    day = digest.created_at.astimezone(ZoneInfo(timezone)).date()
    return digest_body(day, [(r.title, r.case_number) for r in gathered])
