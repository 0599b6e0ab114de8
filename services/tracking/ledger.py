"""How a case's ledger row is built from its integration events — pure, no I/O.

The live projection and time travel (``?as_of=``) both fold events through :func:`apply`, so
a case as it stood then is built by the very code that built it now. Columns belong to the
service whose events set them; each producer's ``(status, pass_no)`` is kept apart and the
shown status is derived by :func:`shown_status` (ADR 5), so delivery order across services
never moves a case backwards.
"""

from __future__ import annotations

from uuid import UUID

from services.tracking.folds import FOLDS, Row
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.contracts import tracking as t
from shared.contracts.vocabulary import CaseStatus

# Tracking's view wins on the same pass only once it has the case (ADR 5).
FOLLOW_UP_STATUSES = frozenset(
    {CaseStatus.AWAITING_FEEDBACK, CaseStatus.AWAITING_EVALUATION, CaseStatus.CLOSED_OUT}
)


def new_row(case_id: UUID) -> Row:
    return {
        "case_id": case_id,
        "extensions_requested": 0,
        "extensions_granted": 0,
        "returns": 0,
        "returns_by_unit": {},
        "dispatches_by_unit": {},
        "co_units": [],
        "repeats": 0,
        "flagged_for_accountability": False,
        "reminders": 0,
        "supervision_notices": 0,
        "required_feedback": [],
        "delivered_feedback": [],
        "feedback": [],
        "evaluations_total": 0,
        "evaluations_satisfied": 0,
        "escalated": False,
        "accountability": [],
        "status": CaseStatus.REGISTERED.value,
        "pass_no": 1,
    }


def apply(row: Row, envelope: Envelope) -> Row:
    """The row after this event (a new dict; ``row`` is left as it was)."""
    updated = dict(row)
    event = envelope.event
    if isinstance(event, d.CaseEvent):
        updated["dispatch_status"], updated["dispatch_pass"] = event.status, event.pass_no
    elif isinstance(event, t.FollowUpEvent):
        updated["tracking_status"], updated["tracking_pass"] = event.status, event.pass_no
    fold = FOLDS.get(type(event))
    if fold is not None:
        fold(updated, event, envelope)
    _derive(updated)
    updated["updated_at"] = max(filter(None, (row.get("updated_at"), envelope.occurred_at)))
    return updated


def case_of(event: Contract) -> UUID | None:
    """The case an event is about, if any (units and calendar years are about none)."""
    case_id = getattr(event, "case_id", None)
    return case_id if isinstance(case_id, UUID) else None


def shown_status(row: Row) -> str:
    dispatch, tracking = row.get("dispatch_status"), row.get("tracking_status")
    dispatch_pass, tracking_pass = row.get("dispatch_pass") or 1, row.get("tracking_pass") or 1
    if tracking is not None and (
        dispatch is None
        or tracking_pass > dispatch_pass
        or (
            tracking_pass == dispatch_pass
            and dispatch == CaseStatus.AWAITING_FEEDBACK
            and tracking in FOLLOW_UP_STATUSES
        )
    ):
        return str(tracking)
    return str(dispatch or CaseStatus.REGISTERED.value)


def _derive(row: Row) -> None:
    row["status"] = shown_status(row)
    row["pass_no"] = max(row.get("dispatch_pass") or 1, row.get("tracking_pass") or 1)
    row["category"] = row.get("triaged_category") or row.get("tip_category")
    text = [row.get("summary"), row.get("content")]
    row["search_text"] = "\n".join(s for s in text if s) or None
