"""Dispatch's domain events → integration events (``shared.contracts.dispatch``).

Every event of a ``Case``, ``Unit`` and ``CalendarYear`` is published, so read models see each
aggregate's versions without gaps; the routing rules, the unit directory's code list and the
case-number index stay inside dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.dispatch.directory import responsible, without_contacts
from shared.contracts import Contract
from shared.contracts import dispatch as c


def _case(cls: type[c.CaseEvent], event: Any, **fields: Any) -> Contract:
    return cls(case_id=event.originator_id, status=event.status, pass_no=event.pass_no, **fields)


def _opened(e: Any) -> Contract:
    return c.CaseOpened(
        case_id=e.originator_id,
        status="registered",
        number=e.number,
        channel=e.channel,
        named=e.named,
    )


def _dispatched(e: Any) -> Contract:
    return _case(
        c.CaseDispatched,
        e,
        lead_unit=e.lead_unit,
        co_units=e.co_units,
        track=e.track,
        handle_working_days=e.handle["days"],
        sign_deadline=e.sign["at"],
        sign_deadline_provisional=e.sign["provisional"],
        handle_deadline=e.handle["at"],
        handle_deadline_provisional=e.handle["provisional"],
        redispatch=e.redispatch,
        rule_id=e.rule_id,
        dispatched_at=e.handle["start"],
    )


def _result_submitted(e: Any) -> Contract:
    r = e.result
    return _case(
        c.ResultSubmitted,
        e,
        n=e.n,
        unit=e.unit,
        findings=r["findings"],
        rectification=r["rectification"],
        proposal_kind=r["proposal_kind"],
        proposal_text=r["proposal_text"],
        signed_off_by=r["signed_off_by"],
        direct_person_findings=r.get("direct_person_findings"),
        leadership_findings=r.get("leadership_findings"),
        on_time=e.on_time,
    )


def _recalculated(e: Any) -> Contract:
    sign, handle = e.sign or {}, e.handle or {}
    return _case(
        c.DeadlinesRecalculated,
        e,
        sign_deadline=sign.get("at"),
        sign_deadline_provisional=bool(sign.get("provisional")),
        handle_deadline=handle.get("at"),
        handle_deadline_provisional=bool(handle.get("provisional")),
    )


def _announced(cls: type[c.CaseEvent]) -> Callable[[Any], Contract]:
    return lambda e: _case(cls, e, deadline_kind=e.deadline_kind, deadline=e.deadline, unit=e.unit)


def _unit(cls: type[c.UnitRegistered] | type[c.UnitUpdated], e: Any, **more: Any) -> Contract:
    liaisons = without_contacts(e.liaisons)  # an event recorded before ADR 21 had phones
    person = responsible(getattr(e, "responsible_person", None))  # none before it was kept
    return cls(
        code=e.code,
        name=e.name,
        kind=e.kind,
        parent=e.parent,
        liaisons=liaisons,
        responsible_person=person,
        **more,
    )


def _year(e: Any) -> Contract:
    return c.CalendarYearLoaded(year=e.year, holidays=e.holidays, workdays=e.workdays)


# domain event class (by qualified name) → its integration event
TRANSLATIONS: dict[str, Callable[[Any], Contract]] = {
    "Case.Opened": _opened,
    "Case.Triaged": lambda e: _case(
        c.CaseTriaged, e, track=e.track, category=e.category, note=e.note, rule_id=e.rule_id
    ),
    "Case.OriginRecorded": lambda e: _case(c.CaseOriginRecorded, e, origin=e.origin),
    "Case.FlaggedForAccountability": lambda e: _case(
        c.CaseFlaggedForAccountability, e, reason=e.reason
    ),
    "Case.Merged": lambda e: _case(
        c.CaseMerged,
        e,
        into_case_id=e.into_case_id,
        into_number=e.into_number,
        reason=e.reason,
    ),
    "Case.RepeatReportLinked": lambda e: _case(
        c.RepeatReportLinked,
        e,
        repeat_case_id=e.repeat_case_id,
        repeat_number=e.repeat_number,
        repeats=e.repeats,
    ),
    "Case.NotAccepted": lambda e: _case(c.CaseNotAccepted, e, reason=e.reason),
    "Case.Dispatched": _dispatched,
    "Case.ReturnOverruled": lambda e: _case(
        c.ReturnOverruled,
        e,
        unit=e.unit,
        reason=e.reason,
        sign_deadline=e.sign["at"],
        sign_deadline_provisional=e.sign["provisional"],
        overruled_at=e.sign["start"],
    ),
    "Case.Signed": lambda e: _case(c.CaseSigned, e, unit=e.unit, on_time=e.on_time),
    "Case.Returned": lambda e: _case(
        c.CaseReturned, e, unit=e.unit, reason=e.reason, returns_by_unit=e.returns_by_unit
    ),
    "Case.ExtensionRequested": lambda e: _case(
        c.ExtensionRequested,
        e,
        n=e.n,
        unit=e.unit,
        working_days=e.working_days,
        reason=e.reason,
    ),
    "Case.ExtensionDecided": lambda e: _case(
        c.ExtensionDecided,
        e,
        n=e.n,
        granted=e.granted,
        reason=e.reason,
        handle_deadline=e.handle_deadline,
        handle_deadline_provisional=e.handle_deadline_provisional,
    ),
    "Case.ProgressReported": lambda e: _case(c.ProgressReported, e, unit=e.unit, note=e.note),
    "Case.ResultSubmitted": _result_submitted,
    "Case.ResultReviewed": lambda e: _case(
        c.ResultReviewed, e, n=e.n, accepted=e.accepted, reason=e.reason
    ),
    "Case.ReopenedForSecondPass": lambda e: _case(
        c.CaseReopenedForSecondPass,
        e,
        unit=e.unit,
        handle_deadline=e.handle["at"],
        handle_deadline_provisional=e.handle["provisional"],
        reopened_at=e.handle["start"],
    ),
    "Case.DeadlinesRecalculated": _recalculated,
    "Case.AttachmentAdded": lambda e: _case(
        c.CaseAttachmentAdded,
        e,
        n=e.n,
        digest=e.digest,
        media_type=e.media_type,
        size=e.size,
        purpose=e.purpose,
    ),
    "Case.AttachmentDownloaded": lambda e: _case(
        c.CaseAttachmentDownloaded, e, n=e.n, digest=e.digest
    ),
    "Case.AttachmentApprovedForPublic": lambda e: _case(
        c.CaseAttachmentApprovedForPublic, e, n=e.n, digest=e.digest, media_type=e.media_type
    ),
    "Case.AttachmentWithdrawnFromPublic": lambda e: _case(
        c.CaseAttachmentWithdrawnFromPublic, e, n=e.n, digest=e.digest, reason=e.reason
    ),
    "Case.AttachmentCleaned": lambda e: _case(
        c.CaseAttachmentCleaned,
        e,
        n=e.n,
        old_digest=e.old_digest,
        digest=e.digest,
        media_type=e.media_type,
        size=e.size,
    ),
    "Case.DeadlineApproaching": _announced(c.DeadlineApproaching),
    "Case.DeadlineMissed": _announced(c.DeadlineMissed),
    "Case.SupervisionNoticeIssued": _announced(c.SupervisionNoticeIssued),
    "Unit.Registered": lambda e: _unit(c.UnitRegistered, e),
    "Unit.Updated": lambda e: _unit(c.UnitUpdated, e, active=e.active),
    "CalendarYear.Loaded": _year,
    "CalendarYear.Reloaded": _year,
}


def to_contract(event: Any) -> Contract | None:
    translate = TRANSLATIONS.get(type(event).__qualname__)
    return translate(event) if translate else None
