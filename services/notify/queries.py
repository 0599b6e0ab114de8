"""Reads and small writes of notify's tables: the directory, a person's inbox, a case's
delivery log. Each function takes the caller's session (the caller owns the transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import Channel
from services.notify.errors import NoSuchMessage, NoSuchPerson, PersonExists
from services.notify.tables import messages, persons

SETTINGS_FIELDS = (
    "email_enabled",
    "robot_enabled",
    "sms_enabled",
    "quiet_start",
    "quiet_end",
    "digest",
)

# --- the directory ---------------------------------------------------------------------------


async def list_persons(session: AsyncSession, unit: str | None, role: str | None) -> list[Any]:
    query = sa.select(persons).order_by(persons.c.role, persons.c.unit, persons.c.id)
    if unit is not None:
        query = query.where(persons.c.unit == unit)
    if role is not None:
        query = query.where(persons.c.role == role)
    return [dict(r._mapping) for r in await session.execute(query)]


async def get_person(session: AsyncSession, person_id: str) -> dict[str, Any]:
    row = (await session.execute(sa.select(persons).where(persons.c.id == person_id))).first()
    if row is None:
        raise NoSuchPerson()
    return dict(row._mapping)


async def add_person(session: AsyncSession, fields: dict[str, Any], now: datetime) -> None:
    exists = await session.execute(sa.select(persons.c.id).where(persons.c.id == fields["id"]))
    if exists.first() is not None:
        raise PersonExists(fields["id"])
    defaults = {
        "email_enabled": True,
        "robot_enabled": True,
        "sms_enabled": False,
        "quiet_start": None,
        "quiet_end": None,
        "digest": False,
    }
    await session.execute(persons.insert().values(**(defaults | fields), updated_at=now))


async def update_person(
    session: AsyncSession, person_id: str, fields: dict[str, Any], now: datetime
) -> None:
    done = await session.execute(
        persons.update().where(persons.c.id == person_id).values(**fields, updated_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise NoSuchPerson()


async def remove_person(session: AsyncSession, person_id: str) -> None:
    """Erase a person's entry (contacts included); messages keep only the id."""
    done = await session.execute(persons.delete().where(persons.c.id == person_id))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise NoSuchPerson()


# --- a person's inbox ----------------------------------------------------------------------

_INBOX = messages.c.channel == Channel.INBOX.value


async def inbox(
    session: AsyncSession, person_id: str, unread_only: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, int]:
    """A page of the person's inbox (newest first), how many match and how many are unread."""
    mine = _INBOX & (messages.c.person_id == person_id)
    where = mine & messages.c.read_at.is_(None) if unread_only else mine
    query = (
        sa.select(messages)
        .where(where)
        .order_by(messages.c.created_at.desc(), messages.c.id)
        .limit(limit)
        .offset(offset)
    )
    items = [inbox_item(r._mapping) for r in await session.execute(query)]
    total = (await session.execute(sa.select(sa.func.count()).where(where))).scalar_one()
    return items, int(total), await unread_count(session, person_id)


async def unread_count(session: AsyncSession, person_id: str) -> int:
    query = sa.select(sa.func.count()).where(
        _INBOX, messages.c.person_id == person_id, messages.c.read_at.is_(None)
    )
    return int((await session.execute(query)).scalar_one())


async def mark_read(
    session: AsyncSession, person_id: str, message: UUID, now: datetime
) -> dict[str, Any]:
    mine = (messages.c.id == message) & _INBOX & (messages.c.person_id == person_id)
    row = (await session.execute(sa.select(messages).where(mine))).first()
    if row is None:
        raise NoSuchMessage()
    if row.read_at is None:
        await session.execute(messages.update().where(mine).values(read_at=now))
    found = (await session.execute(sa.select(messages).where(mine))).one()
    return inbox_item(found._mapping)


def inbox_item(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "event_type": row["event_type"],
        "case_id": row["case_id"],
        "case_number": row["case_number"],
        "created_at": row["created_at"],
        "read": row["read_at"] is not None,
        "read_at": row["read_at"],
    }


# --- a case's delivery log ----------------------------------------------------------------


async def delivery_log(session: AsyncSession, case_id: UUID) -> list[dict[str, Any]]:
    """Every message about a case: to whom (the person's id and name), on which channel,
    and what became of it (sent, failed, pending, read)."""
    query = (
        sa.select(messages, persons.c.name.label("person_name"))
        .select_from(messages.outerjoin(persons, persons.c.id == messages.c.person_id))
        .where(messages.c.case_id == case_id)
        .order_by(messages.c.created_at, messages.c.person_id, messages.c.channel)
    )
    return [_logged(r._mapping) for r in await session.execute(query)]


def _logged(row: Any) -> dict[str, Any]:
    status = "read" if row["read_at"] is not None else row["status"]
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "title": row["title"],
        "person_id": row["person_id"],
        "person_name": row["person_name"],
        "channel": row["channel"],
        "status": status,
        "attempts": row["attempts"],
        "created_at": row["created_at"],
        "sent_at": row["sent_at"],
        "read_at": row["read_at"],
        "last_error": row["last_error"],
    }
