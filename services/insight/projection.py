"""Events in, the insight table out: a tip when intake registers it, its category when the
office triages it, closed when its case reaches a final state. Idempotent (the projection's
mark; an insert that finds its row changes nothing).

A fetched batch is written set-based (:func:`write_batch`): one multi-row insert for its tips
and one update per kind of change, instead of a select and an insert per tip. In an
all-in-one embedded process the projection shares the event loop with intake's handlers and
the read-model file's write lock with every other projection and relay (ADR 45): each
statement is a trip through the loop made while that lock is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    await _insert(session, [_row(event)])


async def _case_moved(session: AsyncSession, envelope: Envelope) -> None:
    event = envelope.event
    assert isinstance(event, d.CaseEvent)
    changes = _changes(event)
    if changes:
        await session.execute(tips.update().where(tips.c.case_id == event.case_id).values(changes))


async def write_batch(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """The effects of envelopes already claimed, in the caller's transaction: the new tips in
    one insert, then each case's changes (folded in order) in one update per set of columns
    changed. A case event whose tip is in the same batch finds its row."""
    rows: dict[UUID, dict[str, Any]] = {}
    moved: dict[UUID, dict[str, object]] = {}
    for envelope in envelopes:
        event = envelope.event
        if isinstance(event, TipRegistered):
            rows.setdefault(event.case_id, _row(event))
        elif isinstance(event, d.CaseEvent):
            changes = _changes(event)
            if changes:
                moved.setdefault(event.case_id, {}).update(changes)
    if rows:
        await _insert(session, list(rows.values()))
    by_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for case_id, changes in moved.items():
        bound = {f"b_{column}": value for column, value in changes.items()}
        by_columns.setdefault(tuple(sorted(changes)), []).append({"b_case_id": case_id} | bound)
    for columns, params in by_columns.items():
        statement = (
            tips.update()
            .where(tips.c.case_id == sa.bindparam("b_case_id"))
            .values({column: sa.bindparam(f"b_{column}") for column in columns})
        )
        await session.execute(statement, params)


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert tips; one already there is left as it is (redelivery, a replica)."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(tips).on_conflict_do_nothing(index_elements=[tips.c.case_id])
    await session.execute(statement, rows)


def _row(event: TipRegistered) -> dict[str, Any]:
    tip = tip_of(event)
    return {
        "case_id": event.case_id,
        "number": tip.number,
        "content": tip.content,
        "category": tip.category,
        "street": tip.street,
        "subject_unit": tip.subject_unit,
        "subject_person": tip.subject_person,
        "registered_at": _aware(tip.registered_at),
        "closed": False,
    }


def _changes(event: d.CaseEvent) -> dict[str, object]:
    changes: dict[str, object] = {}
    if isinstance(event, d.CaseTriaged) and event.category:
        changes["category"] = event.category
    if event.status in CLOSED:
        changes["closed"] = True
    return changes


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
    return SqlProjection(NAME, ("intake", "dispatch"), sessions, handlers, write_batch)
