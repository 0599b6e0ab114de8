"""The audit trail: every integration event of a case, as stored by the ledger projection,
shown as it happened — and folded again to rebuild the case as it stood at a moment."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
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


def in_step_order(
    events: Iterable[sa.Row[Any]], until: datetime | None = None
) -> list[sa.Row[Any]]:
    """A case's events in the order its steps happened. Each service's events in the order it
    recorded them (its notification log: ``position``, which keeps each aggregate's stream
    versions in order), the services' sequences interleaved by their own clocks. The clocks
    alone are not enough: two replicas of a service disagree by seconds, and a clock that was
    stepped back stamps a later step earlier than the one before it (tests/faults, clock skew).
    ``until``: the case as it stood then — each service's steps up to the first stamped after
    that moment (a step recorded after a later one is not shown before it)."""
    by_source: dict[str, list[sa.Row[Any]]] = {}
    for e in sorted(events, key=lambda e: (e.source, e.position)):
        by_source.setdefault(e.source, []).append(e)
    if until is not None:
        by_source = {source: _through(steps, until) for source, steps in by_source.items()}
    return list(heapq.merge(*by_source.values(), key=_clock_order))


def _through(steps: Sequence[sa.Row[Any]], until: datetime) -> list[sa.Row[Any]]:
    kept: list[sa.Row[Any]] = []
    for step in steps:
        if step.occurred_at > until:
            break
        kept.append(step)
    return kept


def _clock_order(e: sa.Row[Any]) -> tuple[datetime, str, int]:
    return (e.occurred_at, e.source, e.position)


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
