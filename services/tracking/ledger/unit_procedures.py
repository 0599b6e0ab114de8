"""问责程序 opened by a unit's assessment (004: 连续两年考核列小组末位), as the 问责清单 reads
them: one row per procedure (``tables.unit_procedures``), folded from its published events
by :func:`fold` (pure), beside the cases' procedures on the ledger rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from services.tracking.ledger.tables import unit_procedures
from shared.contracts import Envelope
from shared.contracts import tracking as t

Row = dict[str, Any]


def fold(row: Row | None, envelope: Envelope) -> Row:
    """The procedure's row after one of its events (``row`` None before its opening)."""
    e, at = envelope.event, envelope.occurred_at
    if isinstance(e, t.UnitAccountabilityProcedureOpened):
        return {
            "procedure_id": envelope.stream_id,
            "unit": e.unit,
            "year": e.year,
            "assessment_group": e.group,
            "trigger": e.trigger,
            "reason": e.reason,
            "stage": e.stage,
            "opened_at": at,
            "decided_at": None,
            "decisions": [],
            "no_accountability": None,
        }
    if row is None:
        raise ValueError(f"{envelope.message_id}: a unit's procedure event before its opening")
    assert isinstance(e, t.UnitProcedureEvent)
    row = {**row, "stage": e.stage}
    if isinstance(e, t.UnitAccountabilityFindingRecorded):
        record = e.model_dump(
            mode="json",
            include={"target_kind", "name", "position", "measures", "liability", "n"},
        )
        record.update(
            unit=e.unit,
            circumstances=e.circumstances,
            exempted=e.exempted,
            decided_by=e.decided_by,
            decided_on=e.decided_on.isoformat() if e.decided_on else None,
            at=at.isoformat(),
        )
        kept = [r for r in row["decisions"] if e.corrects is None or r.get("n") != e.corrects]
        if e.corrects is not None:
            record["n"] = e.corrects
        row["decisions"] = [*kept, record]
    elif isinstance(e, t.UnitNoAccountabilityFound):
        row["no_accountability"] = {
            "reason": e.reason,
            "decided_by": e.decided_by,
            "decided_on": e.decided_on.isoformat(),
        }
    elif isinstance(e, t.UnitAccountabilityDecided):
        row["decided_at"] = at
    return row


async def project(session: Any, envelopes: list[Envelope]) -> None:
    """Fold a batch's events of units' procedures into their rows, each row read once."""
    folded: dict[Any, Row | None] = {}
    for envelope in envelopes:
        key = envelope.stream_id
        if key not in folded:
            found = await session.execute(
                sa.select(unit_procedures).where(unit_procedures.c.procedure_id == key)
            )
            first = found.first()
            folded[key] = None if first is None else dict(first._mapping)
        folded[key] = fold(folded[key], envelope)
    for key, row in folded.items():
        assert row is not None
        values = {k: v for k, v in row.items() if k != "procedure_id"}
        updated = await session.execute(
            unit_procedures.update().where(unit_procedures.c.procedure_id == key).values(**values)
        )
        if updated.rowcount == 0:
            await session.execute(unit_procedures.insert().values(procedure_id=key, **values))


async def listed(session: Any) -> list[Row]:
    """Every unit's procedure, newest year first."""
    found = await session.execute(
        sa.select(unit_procedures).order_by(unit_procedures.c.year.desc(), unit_procedures.c.unit)
    )
    return [dict(r._mapping) for r in found]
