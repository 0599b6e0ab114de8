"""Events in, messages out: the one transaction that turns an event concerning people into a
message per person and channel (the outbox), with the projection's mark.

A redelivered event changes nothing (the mark), and were it applied twice its messages keep
their ids (``domain.message_id``), so a person is never told twice of one event on one
channel. Recipients are the directory's persons at the moment the event is applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.domain import (
    HELD,
    Audience,
    Channel,
    Role,
    Rule,
    channels_for,
    message_id,
    title,
)
from services.notify.tables import cases, messages, persons
from shared.contracts import Contract, Envelope, contract_class
from shared.contracts import dispatch as c
from shared.platform.messaging.policy import NotYet
from shared.platform.projection import Handler, SqlProjection
from shared.platform.sending import quiet_until

NAME = "notify"
# tracking: its reminders; insight: the 苗头预警 it raised (ADR 32)
SOURCES = ("dispatch", "tracking", "insight")


async def _opened(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, c.CaseOpened)
    await session.execute(cases.delete().where(cases.c.case_id == event.case_id))
    await session.execute(
        cases.insert().values(case_id=event.case_id, number=event.number, co_units=[])
    )


async def _dispatched(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, c.CaseDispatched)
    await session.execute(
        cases.update()
        .where(cases.c.case_id == event.case_id)
        .values(lead_unit=event.lead_unit, co_units=list(event.co_units))
    )


async def _recipients(
    session: AsyncSession, audiences: Sequence[Audience], event: Any, case: Any
) -> list[dict[str, Any]]:
    lead = getattr(event, "lead_unit", None) or (case.lead_unit if case else None)
    co = list(getattr(event, "co_units", None) or (case.co_units if case else []))
    units: set[str] = set()
    roles: set[str] = set()
    for audience in audiences:
        if audience is Audience.LEAD and lead:
            units.add(lead)
        elif audience is Audience.CO_UNITS:
            units.update(co)
        elif audience is Audience.UNIT:
            units.add(getattr(event, "unit", None) or lead or "")
        elif audience is Audience.UNITS:
            units.update(getattr(event, "units", None) or [])
        elif audience is Audience.OFFICE:
            roles.add(Role.OFFICE.value)
        elif audience is Audience.SUPERVISORS:
            roles.add(Role.SUPERVISOR.value)
    liaisons = (persons.c.role == Role.LIAISON.value) & persons.c.unit.in_(units - {""})
    query = sa.select(persons).where(liaisons | persons.c.role.in_(roles)).order_by(persons.c.id)
    return [dict(row._mapping) for row in await session.execute(query)]


def _notifying(
    rule: Rule,
    prepare: Callable[[AsyncSession, Envelope], Any] | None,
    clock: Callable[[], datetime],
    timezone: str,
    sms: bool,
) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        if prepare is not None:
            await prepare(session, envelope)
        event = envelope.event
        case_id = getattr(event, "case_id", None)
        case = None
        if case_id is not None:
            case = (
                await session.execute(sa.select(cases).where(cases.c.case_id == case_id))
            ).first()
        if case_id is not None and case is None:
            # Dispatch's CaseOpened (the case's number) comes on another stream and may lag:
            # wait for it rather than title a message "(未编号)" for good.
            raise NotYet(f"case {case_id} not opened here yet")
        number = case.number if case else None
        text = title(rule, number, event.model_dump())
        now = clock()
        rows = []
        for person in await _recipients(session, rule.audiences, event, case):
            for channel in channels_for(person, sms):
                rows.append(
                    _message(envelope, person, channel, case_id, number, text, now, timezone)
                )
        if rows:
            await session.execute(messages.insert(), rows)

    return handle


def _message(
    envelope: Envelope,
    person: dict[str, Any],
    channel: Channel,
    case_id: Any,
    number: str | None,
    text: str,
    now: datetime,
    timezone: str,
) -> dict[str, Any]:
    inbox = channel is Channel.INBOX
    held = not inbox and bool(person.get("digest"))  # waits for the person's daily digest
    return {
        "id": message_id(envelope.message_id, person["id"], channel),
        "event_id": envelope.message_id,
        "event_type": envelope.type,
        "case_id": case_id,
        "case_number": number,
        "person_id": person["id"],
        "channel": channel.value,
        "title": text[:300],
        "created_at": now,
        "status": "sent" if inbox else (HELD if held else "pending"),
        "attempts": 0,
        "next_attempt_at": None if inbox or held else first_attempt(person, now, timezone),
        "sent_at": now if inbox else None,
        "read_at": None,
        "last_error": None,
    }


def first_attempt(person: dict[str, Any], now: datetime, timezone: str) -> datetime:
    """Now — unless the person's quiet hours (免打扰) hold it until they end."""
    start, end = _hhmm(person.get("quiet_start")), _hhmm(person.get("quiet_end"))
    later = quiet_until(now.astimezone(ZoneInfo(timezone)), start, end)
    return later or now


def _hhmm(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def notify_projection(
    sessions: async_sessionmaker[AsyncSession],
    rules: dict[str, Rule],
    clock: Callable[[], datetime],
    timezone: str,
    sms: bool = False,
) -> SqlProjection:
    """``sms``: the deployment has an SMS provider (``TAIZHANG_NOTIFY`` ``sms_url``)."""
    prepare: dict[type[Contract], Any] = {c.CaseDispatched: _dispatched}
    handlers: dict[type[Contract], Handler] = {c.CaseOpened: _opened}
    for event_type, rule in rules.items():
        cls = contract_class(event_type)
        if rule.audiences:
            handlers[cls] = _notifying(rule, prepare.get(cls), clock, timezone, sms)
        elif cls in prepare:
            handlers[cls] = prepare[cls]
    return SqlProjection(NAME, SOURCES, sessions, handlers)
