"""The ledger projection: every integration event of intake, dispatch and tracking into the
read tables — the case's ledger row, the audit trail, unit names, calendar years, the office's
changes to the category catalogue and the procedures units' assessments opened.

Rows are built by :mod:`services.tracking.ledger.rows`; here a batch of events is written with a
few bulk statements (:func:`project_batch`), in the transaction that advances the
projection's marks — live and in a rebuild alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import ModuleType
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger import persons, rows, tallies, unit_procedures
from services.tracking.ledger.tables import (
    calendar_years,
    case_history,
    case_persons,
    case_units,
    category_changes,
    ledger,
    units,
)
from shared.contracts import Contract, Envelope, dispatch, intake, tracking
from shared.platform.bulk import insert_rows
from shared.platform.projection import Handler, SqlProjection

NAME = "ledger"
SOURCES = ("intake", "dispatch", "tracking")
# Never kept in the audit trail: a receipt digest is the anonymous reporter's key to the case.
REDACTED = frozenset({"receipt_digest"})
# Statements built once, values as parameters (not a statement built per event).
LEDGER_COLUMNS = tuple(c.name for c in ledger.columns)
UPDATE_LEDGER = ledger.update().where(ledger.c.case_id == sa.bindparam("b_case_id"))


async def project(session: AsyncSession, envelope: Envelope) -> None:
    """One envelope (what a batch falls back to)."""
    await project_batch(session, [envelope])


async def project_batch(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Envelopes already claimed, in order, with a few bulk statements: the audit rows in
    one, the cases' ledger rows read (locked, in key order, since events of one case arrive
    on three streams at once) in one, folded in memory by the pure :func:`rows.apply`, and
    written back in one insert and one update; their ``case_units`` (each unit with the
    case's status) likewise."""
    if not envelopes:
        return
    await insert_rows(session, case_history, [history_entry(e) for e in envelopes])
    case_ids = sorted({c for e in envelopes if (c := rows.case_of(e.event)) is not None})
    stored = await _lock_rows(session, case_ids)
    folded = dict(stored)
    for envelope in envelopes:
        event = envelope.event
        case_id = rows.case_of(event)
        if case_id is not None:
            folded[case_id] = rows.apply(folded.get(case_id) or rows.new_row(case_id), envelope)
        elif isinstance(event, dispatch.UnitRegistered | dispatch.UnitUpdated):
            await _upsert(session, units, {"code": event.code}, _unit(event))
        elif isinstance(event, dispatch.CalendarYearLoaded):
            days = {
                "holidays": [d.isoformat() for d in sorted(event.holidays)],
                "workdays": [d.isoformat() for d in sorted(event.workdays)],
            }
            await _upsert(session, calendar_years, {"year": event.year}, days)
        elif isinstance(event, intake.CategoryCatalogueChanged):
            key = {"source": envelope.source, "position": envelope.position}
            change = {"change": event.change, "code": event.code}
            await _upsert(session, category_changes, key, change | _named(event))
    await _write_cases(session, case_ids, stored, folded)
    procedures = [e for e in envelopes if isinstance(e.event, tracking.UnitProcedureEvent)]
    if procedures:
        await unit_procedures.project(session, procedures)


async def _write_cases(
    session: AsyncSession,
    case_ids: list[UUID],
    stored: dict[UUID, rows.Row],
    folded: dict[UUID, rows.Row],
) -> None:
    """The folded rows back: new ones in one insert, changed ones in one update, the
    units of those whose units or status moved, the change to the KPIs' counters, and the
    parts of the names of those whose person (or place in the ledger's order) moved."""
    new = [folded[c] for c in case_ids if c not in stored]
    changed = [folded[c] for c in case_ids if c in stored and folded[c] != stored[c]]
    await insert_rows(session, ledger, [_full(row) for row in new])
    if changed:
        await session.execute(
            UPDATE_LEDGER, [{"b_case_id": r["case_id"], **_full(r, key=False)} for r in changed]
        )
    # A case's units are rewritten when they or its status moved (nearly every event of a
    # dispatched case): one DELETE and one INSERT for the batch, whatever moved.
    units = {r["case_id"]: case_unit_entries(r) for r in (*new, *changed)}
    rewritten = {
        c: e for c, e in units.items() if c not in stored or e != case_unit_entries(stored[c])
    }
    replaced = [c for c in rewritten if c in stored]
    if replaced:
        await session.execute(case_units.delete().where(case_units.c.case_id.in_(replaced)))
    await insert_rows(session, case_units, [e for found in rewritten.values() for e in found])
    moved = [(stored.get(r["case_id"]), r) for r in (*new, *changed)]
    await tallies.add(session, tallies.delta(moved))  # the KPIs' counters (ADR 33)
    gone, parts = persons.moved(moved)  # the person filter's index (ADR 43)
    if gone:
        await session.execute(case_persons.delete().where(case_persons.c.case_id.in_(gone)))
    await insert_rows(session, case_persons, parts)


async def _lock_rows(session: AsyncSession, case_ids: list[UUID]) -> dict[UUID, rows.Row]:
    if not case_ids:
        return {}
    found = await session.execute(
        sa.select(ledger)
        .where(ledger.c.case_id.in_(case_ids))
        .order_by(ledger.c.case_id)
        .with_for_update()
    )
    return {r.case_id: dict(r._mapping) for r in found}


def _full(row: rows.Row, *, key: bool = True) -> dict[str, Any]:
    """Every column, so that the rows of one bulk statement have the same parameters."""
    return {c: row.get(c) for c in LEDGER_COLUMNS if key or c != "case_id"}


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


# history_entry's keys, in its order: the columns of :func:`history_record`
HISTORY_COLUMNS = tuple(c.name for c in case_history.columns if c.name != "id")


def history_record(envelope: Envelope) -> tuple[Any, ...]:
    """:func:`history_entry` as a ``COPY`` record, its data already JSON text: serialised by
    pydantic in one step (a rebuild writes one an event; the same JSON value as the live
    projection's ``json.dumps``, in compact form)."""
    event = envelope.event
    if REDACTED.isdisjoint(type(event).model_fields):
        data = event.model_dump_json()
    else:
        data = json.dumps(history_entry(envelope)["data"])
    actor = envelope.actor or {}
    return (
        rows.case_of(event),
        envelope.source,
        envelope.position,
        envelope.stream_id,
        envelope.stream_version,
        envelope.occurred_at,
        envelope.type,
        event.version,
        actor.get("id"),
        actor.get("name"),
        actor.get("role"),
        actor.get("unit"),
        data,
    )


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
            "status": row["status"],  # so that one index finds a unit's cases in a status
        }
        for unit in sorted(every)
    ]


def _unit(event: dispatch.UnitRegistered | dispatch.UnitUpdated) -> dict[str, Any]:
    return {
        "name": event.name,
        "kind": event.kind,
        "parent": event.parent,
        "active": getattr(event, "active", True),
        "responsible_person": event.responsible_person,
    }


def _named(event: intake.CategoryCatalogueChanged) -> dict[str, Any]:
    return {"name": event.name, "parent": event.parent}


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
    return SqlProjection(NAME, SOURCES, sessions, HANDLERS, write_batch=project_batch)
