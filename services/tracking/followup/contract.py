"""Tracking's domain events → integration events (``shared.contracts.tracking``).

Every event of a ``FollowUp`` is published, so read models see each follow-up's versions
without gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.contracts import Contract
from shared.contracts import tracking as c


def _started(e: Any) -> Contract:
    return c.FollowUpStarted(
        case_id=_case(e),
        status="registered",
        pass_no=1,
        number=e.number,
        channel=e.channel,
        named=e.named,
        required_feedback=e.required_feedback,
    )


def _opened(e: Any) -> Contract:
    return c.FollowUpOpened(
        case_id=_case(e), status=e.status, pass_no=e.pass_no, required_feedback=e.required_feedback
    )


def _feedback(e: Any) -> Contract:
    return c.FeedbackDelivered(
        case_id=_case(e),
        status=e.status,
        pass_no=e.pass_no,
        channel=e.channel,
        content=e.content,
        delivered_feedback=e.delivered,
    )


def _evaluated(e: Any) -> Contract:
    return c.EvaluationRecorded(
        case_id=_case(e),
        status=e.status,
        pass_no=e.pass_no,
        rating=e.rating,
        evaluator_kind=e.evaluator_kind,
        comment=e.comment,
        via_receipt=e.via_receipt,
        linked_from=getattr(e, "linked_from", None),  # events before ADR 20 have none
    )


def _concluded(e: Any) -> Contract:
    return c.FollowUpConcluded(
        case_id=_case(e),
        status=e.status,
        pass_no=1,
        outcome=e.outcome,
        reason=e.reason,
        into_number=e.into_number,
    )


def _second_pass(e: Any) -> Contract:
    return c.SecondPassStarted(
        case_id=_case(e), status=e.status, pass_no=e.pass_no, reason=e.reason
    )


def _referred(e: Any) -> Contract:
    return c.DissatisfactionReferred(
        case_id=_case(e),
        status=e.status,
        pass_no=e.pass_no,
        evaluator_kind=e.evaluator_kind,
        reason=e.reason,
    )


def _referral_decided(e: Any) -> Contract:
    return c.ReferralDecided(
        case_id=_case(e), status=e.status, pass_no=e.pass_no, start=e.start, reason=e.reason
    )


def _escalated(e: Any) -> Contract:
    return c.EscalatedToSupervisors(
        case_id=_case(e), status=e.status, pass_no=e.pass_no, reason=e.reason
    )


def _accountability(e: Any) -> Contract:
    return c.AccountabilityRecorded(
        case_id=_case(e),
        status=e.status,
        pass_no=e.pass_no,
        target_kind=e.target_kind,
        name=e.name,
        position=e.position,
        measures=e.measures,
        circumstances=e.circumstances,
        exempted=e.exempted,
        note=e.note,
    )


def _closed_out(e: Any) -> Contract:
    return c.CaseClosedOut(
        case_id=_case(e), status=e.status, pass_no=e.pass_no, closed_at=e.timestamp
    )


def _answer_reminder(e: Any) -> Contract:
    cls = c.ReporterAnswerMissed if type(e).__name__ == "ReporterAnswerMissed" else None
    fields = {"status": e.status, "pass_no": e.pass_no, "answer": e.answer, "due": e.due}
    return (cls or c.ReporterAnswerApproaching)(case_id=_case(e), **fields)


def _case(e: Any) -> Any:
    return e.originator_id  # a follow-up's id is its case's id


# domain event class (by qualified name) → its integration event
TRANSLATIONS: dict[str, Callable[[Any], Contract]] = {
    "FollowUp.Started": _started,
    "FollowUp.Opened": _opened,
    "FollowUp.Concluded": _concluded,
    "FollowUp.FeedbackDelivered": _feedback,
    "FollowUp.EvaluationRecorded": _evaluated,
    "FollowUp.DissatisfactionReferred": _referred,
    "FollowUp.ReferralDecided": _referral_decided,
    "FollowUp.SecondPassStarted": _second_pass,
    "FollowUp.EscalatedToSupervisors": _escalated,
    "FollowUp.AccountabilityRecorded": _accountability,
    "FollowUp.ClosedOut": _closed_out,
    "FollowUp.ReporterAnswerApproaching": _answer_reminder,
    "FollowUp.ReporterAnswerMissed": _answer_reminder,
}


def to_contract(event: Any) -> Contract | None:
    translate = TRANSLATIONS.get(type(event).__qualname__)
    return translate(event) if translate else None
