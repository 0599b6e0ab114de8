"""How a case's ledger row is built from its integration events — pure, no I/O.

One small fold per event type writes only the columns its producer owns (:data:`FOLDS`). The
live projection and time travel (``?as_of=``) both fold events through :func:`apply`, so a
case as it stood then is built by the very code that built it now. Each producer's
``(status, pass_no)`` is kept apart and the shown status is derived by :func:`shown_status`
(ADR 5), so delivery order across services never moves a case backwards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts import tracking as t
from shared.contracts.vocabulary import CaseStatus, EvaluatorKind, FeedbackChannel, Rating

Row = dict[str, Any]
Fold = Callable[[Row, Any, Envelope], None]
SATISFIED = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})


# --- intake ----------------------------------------------------------------------------------


def _registered(row: Row, e: i.TipRegistered, envelope: Envelope) -> None:
    row.update(
        number=e.number,
        channel=e.channel,
        tip_category=e.category,
        summary=e.summary,
        content=e.content,
        district=(e.location or {}).get("district"),
        lat=(e.location or {}).get("lat"),
        lon=(e.location or {}).get("lon"),
        subject=e.subject,
        named=e.named,
        receipt_digest=e.receipt_digest,
        registered_at=e.registered_at,
        registered_by=(envelope.actor or {}).get("id"),
    )


# --- dispatch --------------------------------------------------------------------------------


def _opened(row: Row, e: d.CaseOpened, _: Envelope) -> None:
    _fill(row, number=e.number, channel=e.channel, named=e.named)


def _triaged(row: Row, e: d.CaseTriaged, _: Envelope) -> None:
    row["track"] = e.track
    if e.category:
        row["triaged_category"] = e.category


def _dispatched(row: Row, e: d.CaseDispatched, envelope: Envelope) -> None:
    row.update(
        lead_unit=e.lead_unit,
        co_units=list(e.co_units),
        track=e.track,
        dispatched_at=envelope.occurred_at,
        sign_deadline=e.sign_deadline,
        sign_deadline_provisional=e.sign_deadline_provisional,
        handle_deadline=e.handle_deadline,
        handle_deadline_provisional=e.handle_deadline_provisional,
        signed_at=None,
        signed_on_time=None,
    )
    row["dispatches_by_unit"] = _counted(row["dispatches_by_unit"], e.lead_unit)


def _signed(row: Row, e: d.CaseSigned, envelope: Envelope) -> None:
    row.update(signed_at=envelope.occurred_at, signed_on_time=e.on_time)


def _returned(row: Row, e: d.CaseReturned, _: Envelope) -> None:
    row["returns"] += 1
    row["returns_by_unit"] = {**row["returns_by_unit"], e.unit: e.returns_by_unit}


def _overruled(row: Row, e: d.ReturnOverruled, _: Envelope) -> None:
    overruled = row.get("overruled_by_unit") or {}
    row["overruled_by_unit"] = {**overruled, e.unit: overruled.get(e.unit, 0) + 1}
    row.update(
        sign_deadline=e.sign_deadline,
        sign_deadline_provisional=e.sign_deadline_provisional,
        signed_at=None,
        signed_on_time=None,
    )


def _extension_requested(row: Row, e: d.ExtensionRequested, _: Envelope) -> None:
    row["extensions_requested"] += 1


def _extension_decided(row: Row, e: d.ExtensionDecided, _: Envelope) -> None:
    row["extensions_granted"] += 1 if e.granted else 0
    row["handle_deadline"] = e.handle_deadline
    row["handle_deadline_provisional"] = e.handle_deadline_provisional


def _result_submitted(row: Row, e: d.ResultSubmitted, envelope: Envelope) -> None:
    row.update(
        result_submitted_at=envelope.occurred_at,
        result_on_time=e.on_time,
        result_findings=e.findings,
        result_rectification=e.rectification,
        result_accepted_at=None,
    )


def _result_reviewed(row: Row, e: d.ResultReviewed, envelope: Envelope) -> None:
    if e.accepted:
        row["result_accepted_at"] = envelope.occurred_at


def _reopened(row: Row, e: d.CaseReopenedForSecondPass, _: Envelope) -> None:
    row.update(
        handle_deadline=e.handle_deadline,
        handle_deadline_provisional=e.handle_deadline_provisional,
        result_submitted_at=None,
        result_on_time=None,
        result_accepted_at=None,
    )


def _recalculated(row: Row, e: d.DeadlinesRecalculated, _: Envelope) -> None:
    if e.sign_deadline is not None:
        row["sign_deadline"] = e.sign_deadline
        row["sign_deadline_provisional"] = e.sign_deadline_provisional
    if e.handle_deadline is not None:
        row["handle_deadline"] = e.handle_deadline
        row["handle_deadline_provisional"] = e.handle_deadline_provisional


def _set(**values: Any) -> Fold:
    def fold(row: Row, e: Any, _: Envelope) -> None:
        row.update({column: source(e) for column, source in values.items()})

    return fold


def _count(column: str) -> Fold:
    def fold(row: Row, e: Any, _: Envelope) -> None:
        row[column] += 1

    return fold


# --- tracking --------------------------------------------------------------------------------


def _follow_up_started(row: Row, e: t.FollowUpStarted, _: Envelope) -> None:
    _fill(row, number=e.number, channel=e.channel, named=e.named)
    row["required_feedback"] = list(e.required_feedback)


def _follow_up_opened(row: Row, e: t.FollowUpOpened, _: Envelope) -> None:
    row.update(required_feedback=list(e.required_feedback), delivered_feedback=[])


def _feedback(row: Row, e: t.FeedbackDelivered, envelope: Envelope) -> None:
    delivery = {
        "channel": e.channel,
        "content": e.content,
        "pass_no": e.pass_no,
        "at": envelope.occurred_at.isoformat(),
    }
    row["feedback"] = [*row["feedback"], delivery]
    row["delivered_feedback"] = list(e.delivered_feedback)
    if e.channel == FeedbackChannel.ONLINE_PUBLICATION and row.get("published_at") is None:
        row["published_at"] = envelope.occurred_at


def _evaluated(row: Row, e: t.EvaluationRecorded, envelope: Envelope) -> None:
    row["evaluations_total"] += 1
    row["evaluations_satisfied"] += 1 if e.rating in SATISFIED else 0
    # [satisfied, evaluations] by the complainant and by third parties, for the KPIs
    who = "complainant" if e.evaluator_kind == EvaluatorKind.COMPLAINANT else "third_party"
    by_kind = dict(row.get("evaluations_by_kind") or {})
    satisfied, total = by_kind.get(who, (0, 0))
    by_kind[who] = [satisfied + (1 if e.rating in SATISFIED else 0), total + 1]
    row["evaluations_by_kind"] = by_kind
    row["latest_evaluation"] = {
        "rating": e.rating,
        "evaluator_kind": e.evaluator_kind,
        "comment": e.comment,
        "pass_no": e.pass_no,
        "at": envelope.occurred_at.isoformat(),
    }


def _referral(row: Row, e: t.DissatisfactionReferred | t.ReferralDecided, _: Envelope) -> None:
    """A third party's dissatisfaction awaits the office, or the office decided (ADR 20): on
    the latest evaluation, which is the one referred."""
    if isinstance(e, t.DissatisfactionReferred):
        state = "pending"
    else:
        state = "second_pass" if e.start else "declined"
    row["latest_evaluation"] = {**(row.get("latest_evaluation") or {}), "referral": state}


def _accountability(row: Row, e: t.AccountabilityRecorded, envelope: Envelope) -> None:
    record = e.model_dump(include={"target_kind", "name", "position", "measures"})
    record.update(
        circumstances=e.circumstances,
        exempted=e.exempted,
        at=envelope.occurred_at.isoformat(),
    )
    row["accountability"] = [*row["accountability"], record]


def _finding(row: Row, e: t.AccountabilityFindingRecorded, envelope: Envelope) -> None:
    """A decision of the case's procedure (ADR 19) in the same list as §6 records; a
    correction takes the place of the finding it corrects."""
    record = e.model_dump(
        mode="json",
        include={"target_kind", "name", "unit", "position", "measures", "liability", "n"},
    )
    record.update(
        circumstances=e.circumstances,
        exempted=e.exempted,
        decided_by=e.decided_by,
        decided_on=e.decided_on.isoformat() if e.decided_on else None,
        at=envelope.occurred_at.isoformat(),
    )
    kept = [r for r in row["accountability"] if e.corrects is None or r.get("n") != e.corrects]
    if e.corrects is not None:
        record["n"] = e.corrects
    row["accountability"] = [*kept, record]


def _procedure(row: Row, e: t.ProcedureEvent, envelope: Envelope) -> None:
    """The procedure's state on the row (ADR 19): what the 问责清单's checks read."""
    at = envelope.occurred_at.isoformat()
    p = dict(row.get("accountability_procedure") or {"triggers": []})
    p.update(stage=e.stage, round=e.round)
    if isinstance(e, t.AccountabilityProcedureOpened | t.AccountabilityTriggerAdded):
        p["triggers"] = sorted({*p["triggers"], e.trigger})
        p["report_back_required"] = e.report_back_required
        due = e.report_back_due
        p["report_back_due"] = due.isoformat() if due else p.get("report_back_due")
        if isinstance(e, t.AccountabilityProcedureOpened) or e.reopened:
            p.update(opened_at=at, decided_at=None, reported_on=None)
            p["report_back_due"] = due.isoformat() if due else None
    elif isinstance(e, t.AccountabilityDecided):
        p["decided_at"] = at
    elif isinstance(e, t.AccountabilityReportedBack):
        p["reported_on"] = e.reported_on.isoformat()
    row["accountability_procedure"] = p


def _closed_out(row: Row, e: t.CaseClosedOut, _: Envelope) -> None:
    row["closed_out_at"] = e.closed_at


def _fill(row: Row, **values: Any) -> None:
    """Registration facts that dispatch and tracking repeat: intake's word is final."""
    for column, value in values.items():
        if row.get(column) is None:
            row[column] = value


def _image_approved(row: Row, e: d.CaseAttachmentApprovedForPublic, _: Envelope) -> None:
    shown = [i for i in row.get("public_images") or [] if i["digest"] != e.digest]
    row["public_images"] = [*shown, {"n": e.n, "digest": e.digest, "media_type": e.media_type}]


def _image_withdrawn(row: Row, e: d.CaseAttachmentWithdrawnFromPublic, _: Envelope) -> None:
    row["public_images"] = [i for i in row.get("public_images") or [] if i["digest"] != e.digest]


def _image_cleaned(row: Row, e: d.CaseAttachmentCleaned, _: Envelope) -> None:
    """An approved file cleaned since (ADR 42): the portal shows it under its new digest."""
    shown = row.get("public_images") or []
    if any(i["digest"] == e.old_digest for i in shown):
        row["public_images"] = [
            i | {"digest": e.digest} if i["digest"] == e.old_digest else i for i in shown
        ]


def _counted(counts: dict[str, int], unit: str) -> dict[str, int]:
    return {**counts, unit: counts.get(unit, 0) + 1}


FOLDS: dict[type, Fold] = {
    i.TipRegistered: _registered,
    d.CaseOpened: _opened,
    d.CaseTriaged: _triaged,
    d.CaseFlaggedForAccountability: _set(flagged_for_accountability=lambda e: True),
    d.CaseMerged: _set(merged_into=lambda e: e.into_number),
    d.RepeatReportLinked: _set(repeats=lambda e: e.repeats),
    d.CaseNotAccepted: _set(not_accepted_reason=lambda e: e.reason),
    d.CaseDispatched: _dispatched,
    d.CaseSigned: _signed,
    d.CaseReturned: _returned,
    d.ReturnOverruled: _overruled,
    d.ExtensionRequested: _extension_requested,
    d.ExtensionDecided: _extension_decided,
    d.ResultSubmitted: _result_submitted,
    d.ResultReviewed: _result_reviewed,
    d.CaseReopenedForSecondPass: _reopened,
    d.DeadlinesRecalculated: _recalculated,
    d.CaseAttachmentApprovedForPublic: _image_approved,
    d.CaseAttachmentWithdrawnFromPublic: _image_withdrawn,
    d.CaseAttachmentCleaned: _image_cleaned,
    d.DeadlineApproaching: _count("reminders"),
    d.SupervisionNoticeIssued: _count("supervision_notices"),
    t.FollowUpStarted: _follow_up_started,
    t.FollowUpOpened: _follow_up_opened,
    t.FeedbackDelivered: _feedback,
    t.EvaluationRecorded: _evaluated,
    t.DissatisfactionReferred: _referral,
    t.ReferralDecided: _referral,
    t.EscalatedToSupervisors: _set(escalated=lambda e: True),
    t.AccountabilityRecorded: _accountability,
    t.AccountabilityFindingRecorded: _finding,
    t.AccountabilityProcedureOpened: _procedure,
    t.AccountabilityTriggerAdded: _procedure,
    t.AccountabilityDecided: _procedure,
    t.AccountabilityReportedBack: _procedure,
    t.AccountabilityProcedureClosed: _procedure,
    t.TypicalCasePublished: lambda row, e, envelope: row.update(
        typical_case={
            **e.model_dump(mode="json", include={"kind", "title", "text", "persons"}),
            "published_at": envelope.occurred_at.isoformat(),
        }
    ),
    t.CaseClosedOut: _closed_out,
}


# --- the row of a case ---------------------------------------------------------------------

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


# A file attached, downloaded or approved for the public, a look at the record or the
# reporter, or the reporter's SMS consent changed, is not the case moving on: the ledger's (and
# Open311's public) "updated" time stays where the case's last step put it, so a download or a
# look shows nowhere public.
NOT_STEPS = (
    d.CaseAttachmentAdded,
    d.CaseAttachmentDownloaded,
    d.CaseAttachmentApprovedForPublic,
    d.CaseAttachmentWithdrawnFromPublic,
    d.CaseAttachmentCleaned,
    i.ReporterIdentityViewed,
    i.TipRecordViewed,
    i.ReporterSmsConsentWithdrawn,
    i.ReporterSmsConsentGiven,
)


def apply(row: Row, envelope: Envelope) -> Row:
    """The row after this event (a new dict; ``row`` is left as it was)."""
    updated = dict(row)
    fold_into(updated, envelope)
    derive(updated)
    return updated


def fold_into(row: Row, envelope: Envelope) -> None:
    """:func:`apply` in place and without the derived columns: a rebuild's bulk replay folds
    each case's events into one dict and calls :func:`derive` once, when it writes the row
    (ADR 40). No fold reads a derived column, so the row comes out the same."""
    event = envelope.event
    if isinstance(event, d.CaseEvent):
        row["dispatch_status"], row["dispatch_pass"] = event.status, event.pass_no
    elif isinstance(event, t.FollowUpEvent):
        row["tracking_status"], row["tracking_pass"] = event.status, event.pass_no
    before = row.get("updated_at")  # no fold writes it
    fold = FOLDS.get(type(event))
    if fold is not None:
        fold(row, event, envelope)
    if not isinstance(event, NOT_STEPS) or not before:
        row["updated_at"] = max(filter(None, (before, envelope.occurred_at)))


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


def derive(row: Row) -> None:
    """The columns computed from others: the shown status, the pass, the category, the
    searched text."""
    row["status"] = shown_status(row)
    row["pass_no"] = max(row.get("dispatch_pass") or 1, row.get("tracking_pass") or 1)
    row["category"] = row.get("triaged_category") or row.get("tip_category")
    text = [row.get("summary"), row.get("content")]
    row["search_text"] = "\n".join(s for s in text if s) or None
