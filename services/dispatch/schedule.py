"""Dispatch's read side of its own events: the desk (one row per case) and the schedule (one
row per case and running deadline) that the reminder scheduler scans.

Every case event carries the status after it, which alone decides whether a deadline runs:
sign-for while ``dispatched``, handling while ``dispatched`` or ``in_progress``. A deadline
that is set again (dispatch, overrule, granted extension, second pass, recount) is a new
deadline, with nothing announced yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.tables import dispatch_cases, dispatch_deadlines
from shared.contracts import Envelope
from shared.contracts import dispatch as c
from shared.contracts.vocabulary import CaseStatus as S
from shared.contracts.vocabulary import DeadlineKind
from shared.platform.projection import Handler, SqlProjection

SIGN, HANDLE = DeadlineKind.SIGN.value, DeadlineKind.HANDLE.value
LEFT_DISPATCH = {S.AWAITING_FEEDBACK, S.MERGED, S.NOT_ACCEPTED}  # no deadline runs any more


def _row(case_id: UUID, kind: str) -> Any:
    return (dispatch_deadlines.c.case_id == case_id) & (dispatch_deadlines.c.kind == kind)


async def _set_deadline(
    session: AsyncSession,
    case_id: UUID,
    kind: str,
    unit: str,
    start: datetime,
    deadline: datetime,
    provisional: bool,
) -> None:
    await session.execute(dispatch_deadlines.delete().where(_row(case_id, kind)))
    await session.execute(
        dispatch_deadlines.insert().values(
            case_id=case_id,
            kind=kind,
            unit=unit,
            start=start,
            deadline=deadline,
            provisional=provisional,
            running=False,  # set from the status right after
            approaching_announced=False,
            missed_announced=False,
        )
    )


async def _move_deadline(
    session: AsyncSession, case_id: UUID, kind: str, deadline: datetime | None, provisional: bool
) -> None:
    """A deadline counted again: announcements start over only if the moment moved."""
    if deadline is None:
        return
    row = _row(case_id, kind)
    await session.execute(
        dispatch_deadlines.update()
        .where(row, dispatch_deadlines.c.deadline != deadline)
        .values(deadline=deadline, approaching_announced=False, missed_announced=False)
    )
    await session.execute(dispatch_deadlines.update().where(row).values(provisional=provisional))


async def _status(session: AsyncSession, envelope: Envelope) -> None:
    """For every case event: the desk's status, and which deadlines run."""
    e: Any = envelope.event
    await session.execute(
        dispatch_cases.update()
        .where(dispatch_cases.c.case_id == e.case_id)
        .values(status=e.status, pass_no=e.pass_no, updated_at=envelope.occurred_at)
    )
    if e.status in LEFT_DISPATCH:
        await session.execute(
            dispatch_deadlines.delete().where(dispatch_deadlines.c.case_id == e.case_id)
        )
        return
    for kind, running in (
        (SIGN, e.status == S.DISPATCHED),
        (HANDLE, e.status in (S.DISPATCHED, S.IN_PROGRESS)),
    ):
        await session.execute(
            dispatch_deadlines.update().where(_row(e.case_id, kind)).values(running=running)
        )


async def _opened(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.CaseOpened)
    await session.execute(dispatch_cases.delete().where(dispatch_cases.c.case_id == e.case_id))
    await session.execute(
        dispatch_cases.insert().values(
            case_id=e.case_id,
            number=e.number,
            channel=e.channel,
            status=e.status,
            pass_no=e.pass_no,
            updated_at=envelope.occurred_at,
        )
    )


async def _triaged(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.CaseTriaged)
    await session.execute(
        dispatch_cases.update().where(dispatch_cases.c.case_id == e.case_id).values(track=e.track)
    )


async def _dispatched(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.CaseDispatched)
    start = e.dispatched_at or envelope.occurred_at
    await session.execute(
        dispatch_cases.update()
        .where(dispatch_cases.c.case_id == e.case_id)
        .values(track=e.track, lead_unit=e.lead_unit)
    )
    await _set_deadline(
        session, e.case_id, SIGN, e.lead_unit, start, e.sign_deadline, e.sign_deadline_provisional
    )
    await _set_deadline(
        session,
        e.case_id,
        HANDLE,
        e.lead_unit,
        start,
        e.handle_deadline,
        e.handle_deadline_provisional,
    )


async def _overruled(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.ReturnOverruled)
    start = e.overruled_at or envelope.occurred_at
    await _set_deadline(
        session, e.case_id, SIGN, e.unit, start, e.sign_deadline, e.sign_deadline_provisional
    )


async def _extension_decided(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.ExtensionDecided)
    if e.granted:
        await _move_deadline(
            session, e.case_id, HANDLE, e.handle_deadline, e.handle_deadline_provisional
        )


async def _reopened(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.CaseReopenedForSecondPass)
    start = e.reopened_at or envelope.occurred_at
    await session.execute(dispatch_deadlines.delete().where(_row(e.case_id, SIGN)))
    await _set_deadline(
        session, e.case_id, HANDLE, e.unit, start, e.handle_deadline, e.handle_deadline_provisional
    )


async def _recalculated(session: AsyncSession, envelope: Envelope) -> None:
    e = envelope.event
    assert isinstance(e, c.DeadlinesRecalculated)
    await _move_deadline(session, e.case_id, SIGN, e.sign_deadline, e.sign_deadline_provisional)
    await _move_deadline(
        session, e.case_id, HANDLE, e.handle_deadline, e.handle_deadline_provisional
    )


def _announced(flag: str) -> Handler:
    async def mark(session: AsyncSession, envelope: Envelope) -> None:
        e: Any = envelope.event
        await session.execute(
            dispatch_deadlines.update()
            .where(_row(e.case_id, e.deadline_kind), dispatch_deadlines.c.deadline == e.deadline)
            .values({flag: True})
        )

    return mark


def _then_status(handler: Handler | None) -> Handler:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        if handler is not None:
            await handler(session, envelope)
        await _status(session, envelope)

    return handle


SPECIFIC: dict[type, Handler] = {
    c.CaseOpened: _opened,
    c.CaseTriaged: _triaged,
    c.CaseDispatched: _dispatched,
    c.ReturnOverruled: _overruled,
    c.ExtensionDecided: _extension_decided,
    c.CaseReopenedForSecondPass: _reopened,
    c.DeadlinesRecalculated: _recalculated,
    c.DeadlineApproaching: _announced("approaching_announced"),
    c.DeadlineMissed: _announced("missed_announced"),
}
CASE_EVENTS = [
    cls
    for cls in vars(c).values()
    if isinstance(cls, type) and issubclass(cls, c.CaseEvent) and cls is not c.CaseEvent
]
HANDLERS: dict[type, Handler] = {
    **{cls: _then_status(SPECIFIC.get(cls)) for cls in CASE_EVENTS},
    c.CaseOpened: _opened,
}


def schedule_projection(sessions: async_sessionmaker[AsyncSession]) -> SqlProjection:
    return SqlProjection("dispatch_schedule", ("dispatch",), sessions, HANDLERS)


async def running_deadlines(session: AsyncSession) -> list[Any]:
    """Deadlines that run and still owe an announcement."""
    query = sa.select(dispatch_deadlines).where(
        dispatch_deadlines.c.running, sa.not_(dispatch_deadlines.c.missed_announced)
    )
    return list((await session.execute(query)).all())


async def provisional_deadlines(session: AsyncSession) -> list[Any]:
    query = sa.select(dispatch_deadlines).where(dispatch_deadlines.c.provisional)
    return list((await session.execute(query)).all())


async def desk(session: AsyncSession) -> list[dict[str, Any]]:
    """The office's triage desk: cases registered or returned, waiting for the office."""
    query = (
        sa.select(dispatch_cases)
        .where(dispatch_cases.c.status.in_([S.REGISTERED.value, S.RETURNED.value]))
        .order_by(dispatch_cases.c.number)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]
