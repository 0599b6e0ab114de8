"""The audit trail: every integration event of a case, as stored by the ledger projection,
shown as it happened — and folded again to rebuild the case as it stood at a moment."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from services.tracking.ledger import rows
from shared.contracts import Envelope, UnknownContract, decode
from shared.contracts import intake as i
from shared.web.auth import Principal
from shared.web.authz import Action, allowed

# Whether a named reporter agreed to SMS notices is for those who may reveal the reporter
# (ADR 37): a unit's liaison reading the case's history does not see these steps.
REPORTER_ONLY = frozenset({i.ReporterSmsConsentWithdrawn.type, i.ReporterSmsConsentGiven.type})


def shown_to(principal: Principal, events: Iterable[sa.Row[Any]]) -> list[sa.Row[Any]]:
    """The case's events this reader may see in its history."""
    if allowed(principal, Action.VIEW_REPORTER):
        return list(events)
    return [e for e in events if e.type not in REPORTER_ONLY]


def entry(row: sa.Row[Any]) -> dict[str, Any]:
    """One event of the trail: what, when, who, and its data."""
    return {
        "type": row.type,
        "occurred_at": row.occurred_at,
        "actor": {
            "id": row.actor_id,
            "name": row.actor_name,
            "role": row.actor_role,
            "unit": row.actor_unit,
        },
        "source": row.source,
        "position": row.position,
        "case_id": row.case_id,
        "data": row.data,
    }


def envelope(row: sa.Row[Any]) -> Envelope:
    """The stored event as its consumers received it, upcast to the newest contract."""
    message = {
        "type": row.type,
        "version": row.version,
        "source": row.source,
        "position": row.position,
        "stream_id": str(row.stream_id),
        "stream_version": row.stream_version,
        "occurred_at": row.occurred_at.isoformat(),
        "actor": _actor(row),
        "data": row.data,
    }
    return decode(json.dumps(message, ensure_ascii=False).encode())


def replay(case_id: UUID, events: Iterable[sa.Row[Any]]) -> rows.Row | None:
    """The case's ledger row built from these events alone (None if there are none)."""
    row: rows.Row | None = None
    for stored in events:
        try:
            event = envelope(stored)
        except UnknownContract:
            continue  # written by a newer producer than this build
        row = rows.apply(row or rows.new_row(case_id), event)
    return row


def _actor(row: sa.Row[Any]) -> dict[str, Any] | None:
    if row.actor_id is None:
        return None
    return {
        "id": row.actor_id,
        "name": row.actor_name,
        "role": row.actor_role,
        "unit": row.actor_unit,
    }
