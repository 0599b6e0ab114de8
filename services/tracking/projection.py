"""The ledger projection: every integration event of intake, dispatch and tracking into the
read tables — the case's ledger row, the audit trail, unit names and calendar years.

Rows are built by :mod:`services.tracking.ledger`; here they are loaded (locked, since
events of one case arrive on three streams at once), folded and written back, column by
changed column, in the transaction that advances the projection's marks.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking import ledger as rows
from services.tracking.tables import calendar_years, case_history, case_units, ledger, units
from shared.contracts import Contract, Envelope, dispatch, intake, tracking
from shared.projection import Handler, SqlProjection

NAME = "ledger"
SOURCES = ("intake", "dispatch", "tracking")
# Never kept in the audit trail: a receipt digest is the anonymous reporter's key to the case.
REDACTED = frozenset({"receipt_digest"})
UNIT_COLUMNS = ("lead_unit", "co_units", "dispatches_by_unit", "returns_by_unit")
INSERT_HISTORY = case_history.insert()
INSERT_LEDGER = ledger.insert()


async def project(session: AsyncSession, envelope: Envelope) -> None:
    # Values as parameters of one statement built once, not a statement built per event.
    await session.execute(INSERT_HISTORY, history_entry(envelope))
    event = envelope.event
    case_id = rows.case_of(event)
    if case_id is not None:
        await _fold_case(session, case_id, envelope)
    elif isinstance(event, dispatch.UnitRegistered | dispatch.UnitUpdated):
        await _upsert(session, units, {"code": event.code}, _unit(event))
    elif isinstance(event, dispatch.CalendarYearLoaded):
        days = {
            "holidays": [d.isoformat() for d in sorted(event.holidays)],
            "workdays": [d.isoformat() for d in sorted(event.workdays)],
        }
        await _upsert(session, calendar_years, {"year": event.year}, days)


def history_entry(envelope: Envelope) -> dict[str, Any]:
    actor = envelope.actor or {}
    data = envelope.event.model_dump(mode="json")
    for field in REDACTED & data.keys():
        data[field] = None
    return {
        "case_id": rows.case_of(envelope.event),
        "source": envelope.source,
        "position": envelope.position,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "occurred_at": envelope.occurred_at,
        "type": envelope.type,
        "version": envelope.event.version,
        "actor_id": actor.get("id"),
        "actor_name": actor.get("name"),
        "actor_role": actor.get("role"),
        "actor_unit": actor.get("unit"),
        "data": data,
    }


async def _fold_case(session: AsyncSession, case_id: UUID, envelope: Envelope) -> None:
    found = (
        await session.execute(
            sa.select(ledger).where(ledger.c.case_id == case_id).with_for_update()
        )
    ).first()
    before = dict(found._mapping) if found is not None else rows.new_row(case_id)
    after = rows.apply(before, envelope)
    if found is None:
        await session.execute(INSERT_LEDGER, after)
    else:
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        await session.execute(ledger.update().where(ledger.c.case_id == case_id).values(**changed))
    if found is None or any(before.get(c) != after.get(c) for c in UNIT_COLUMNS):
        # A new case has no units yet: nothing to delete (one round trip per tip saved).
        await _sync_case_units(session, after, new=found is None)


async def _sync_case_units(session: AsyncSession, row: rows.Row, *, new: bool) -> None:
    if not new:
        await session.execute(case_units.delete().where(case_units.c.case_id == row["case_id"]))
    entries = case_unit_entries(row)
    if entries:
        await session.execute(case_units.insert(), entries)


def case_unit_entries(row: rows.Row) -> list[dict[str, Any]]:
    co_units = set(row.get("co_units") or [])
    dispatches, returns = row.get("dispatches_by_unit") or {}, row.get("returns_by_unit") or {}
    lead = row.get("lead_unit")
    every = {*co_units, *dispatches, *returns, *([lead] if lead else [])}
    return [
        {
            "case_id": row["case_id"],
            "unit": unit,
            "lead": unit == lead,
            "co": unit in co_units,
            "dispatches": dispatches.get(unit, 0),
            "returns": returns.get(unit, 0),
        }
        for unit in sorted(every)
    ]


def _unit(event: dispatch.UnitRegistered | dispatch.UnitUpdated) -> dict[str, Any]:
    return {
        "name": event.name,
        "kind": event.kind,
        "parent": event.parent,
        "active": getattr(event, "active", True),
    }


async def _upsert(
    session: AsyncSession, table: sa.Table, key: dict[str, Any], values: dict[str, Any]
) -> None:
    where = [table.c[k] == v for k, v in key.items()]
    updated = await session.execute(table.update().where(*where).values(**values))
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(table.insert().values(**key, **values))


def contracts(*modules: ModuleType) -> list[type[Contract]]:
    """Every concrete integration event the modules define."""
    return [
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Contract) and "type" in vars(obj)
    ]


HANDLERS: dict[type, Handler] = {c: project for c in contracts(intake, dispatch, tracking)}


def ledger_projection(sessions: async_sessionmaker[AsyncSession]) -> SqlProjection:
    return SqlProjection(NAME, SOURCES, sessions, HANDLERS)
