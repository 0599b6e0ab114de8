"""What dispatch tells the other services.

Every event of a dispatch ``Case``, ``Unit`` and ``CalendarYear`` aggregate is published (so
read models see each aggregate's versions without gaps); routing rules and the reminder
schedule stay inside dispatch. Case events carry ``status`` — the case's lifecycle status in
dispatch's view after the event — and ``pass_no`` (1, or 2+ after a second pass), so that
the ledger can tell dispatch's phase from tracking's (see ``services/tracking``).
Deadlines are timezone-aware; ``*_provisional`` is true when a day counted lay in a year
whose official calendar was not loaded yet.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.contracts.base import Contract, contract, upcaster


class CaseEvent(Contract):
    case_id: UUID
    status: str
    pass_no: int = 1


@contract
class CaseOpened(CaseEvent):
    """Dispatch took the registered tip onto its desk (status ``registered``)."""

    type = "CaseOpened"
    number: str
    channel: str
    named: bool


@contract
class CaseTriaged(CaseEvent):
    """分类处置: the office (or a routing rule) chose the track and category."""

    type = "CaseTriaged"
    track: str
    category: str | None
    note: str | None
    rule_id: str | None = None


@contract
class CaseFlaggedForAccountability(CaseEvent):
    """A higher level's undercover finding or a media exposure: accountability starts now."""

    type = "CaseFlaggedForAccountability"
    reason: str


@contract
class CaseOriginRecorded(CaseEvent):
    """The office said at triage where the case came from (``origin {level, body}``)."""

    type = "CaseOriginRecorded"
    origin: dict[str, Any]


@contract
class CaseMerged(CaseEvent):
    """Folded into another case as a duplicate (status ``merged``; both records kept)."""

    type = "CaseMerged"
    into_case_id: UUID
    into_number: str
    reason: str | None


@contract
class RepeatReportLinked(CaseEvent):
    """登记留存: another report of this problem was registered and linked here."""

    type = "RepeatReportLinked"
    repeat_case_id: UUID
    repeat_number: str
    repeats: int


@contract
class CaseNotAccepted(CaseEvent):
    """不予受理, with the reason (status ``not_accepted``)."""

    type = "CaseNotAccepted"
    reason: str


@contract
class CaseDispatched(CaseEvent):
    """交办 to a lead unit and co-units, with separate sign-for and handling deadlines."""

    type = "CaseDispatched"
    lead_unit: str
    co_units: list[str]
    track: str
    handle_working_days: int
    sign_deadline: datetime
    sign_deadline_provisional: bool
    handle_deadline: datetime
    handle_deadline_provisional: bool
    redispatch: bool
    rule_id: str | None = None
    # Added (optional): when the deadlines started to run, on dispatch's clock.
    dispatched_at: datetime | None = None


@contract
class CaseSigned(CaseEvent):
    """签收 by the lead unit (status ``in_progress``)."""

    type = "CaseSigned"
    unit: str
    on_time: bool


@contract
class CaseReturned(CaseEvent):
    """退回: the unit says it is not responsible (status ``returned``); counted per unit."""

    type = "CaseReturned"
    unit: str
    reason: str
    returns_by_unit: int


@contract
class ReturnOverruled(CaseEvent):
    """The office overruled a return: back to the same unit with a new sign-for deadline."""

    type = "ReturnOverruled"
    unit: str
    reason: str
    sign_deadline: datetime
    sign_deadline_provisional: bool
    overruled_at: datetime | None = None  # added (optional): the new sign-for time starts


@contract
class ExtensionRequested(CaseEvent):
    type = "ExtensionRequested"
    n: int
    unit: str
    working_days: int
    reason: str


@contract
class ExtensionDecided(CaseEvent):
    """The office granted (deadline moves by working days) or refused an extension."""

    type = "ExtensionDecided"
    n: int
    granted: bool
    reason: str | None
    handle_deadline: datetime
    handle_deadline_provisional: bool


@contract
class ProgressReported(CaseEvent):
    type = "ProgressReported"
    unit: str
    note: str


@contract
class ResultSubmitted(CaseEvent):
    """办理结果 with the unit head's sign-off (status ``result_submitted``)."""

    type = "ResultSubmitted"
    n: int
    unit: str
    findings: str
    rectification: str
    proposal_kind: str
    proposal_text: str
    signed_off_by: str
    direct_person_findings: str | None
    leadership_findings: str | None
    on_time: bool


@contract
class ResultReviewed(CaseEvent):
    """The office accepted (status ``awaiting_feedback``) or rejected (``in_progress``) it."""

    type = "ResultReviewed"
    n: int
    accepted: bool
    reason: str | None


@contract
class CaseAttachmentAdded(CaseEvent):
    """附件: a file was attached to the case (the unit's 佐证材料, the signed form, a tip's
    evidence …). Only the keyed digest, the type, the size and the purpose: never the bytes,
    never the file's name (ADR 22)."""

    type = "CaseAttachmentAdded"
    n: int
    digest: str
    media_type: str
    size: int
    purpose: str


@contract
class CaseAttachmentDownloaded(CaseEvent):
    """Someone downloaded a case's attachment (the actor is the envelope's): the audit trail."""

    type = "CaseAttachmentDownloaded"
    n: int
    digest: str


@contract
class CaseAttachmentApprovedForPublic(CaseEvent):
    """公开: the office let the public portal show this image (or MP4 video, since ADR 22's
    last amendment) of the case (the actor is the envelope's); the portal shows it only while
    the case's result is published."""

    type = "CaseAttachmentApprovedForPublic"
    n: int
    digest: str
    media_type: str


@contract
class CaseAttachmentWithdrawnFromPublic(CaseEvent):
    """撤回公开: the office withdrew an image or video from the public portal. Version 2 says
    why (``reason``, the office's words); a version 1 message is upcast to none."""

    type = "CaseAttachmentWithdrawnFromPublic"
    version = 2
    n: int
    digest: str
    reason: str | None = None


@upcaster("CaseAttachmentWithdrawnFromPublic", 1)
def _no_withdrawal_reason(data: dict[str, Any]) -> dict[str, Any]:
    """Released version 1 asked for no reason: none was given."""
    return data | {"reason": None}


@contract
class CaseAttachmentCleaned(CaseEvent):
    """清除元数据: a file kept before files of its kind were cleaned (ADR 22's last amendment)
    was cleaned since (the actor is the envelope's: the operator's tool, ADR 42); its cleaned
    bytes are kept under ``digest``, and the case names that one instead of ``old_digest``
    from now on — a list, an approval, the portal follow it. The old blob is left to the
    sweep."""

    type = "CaseAttachmentCleaned"
    n: int
    old_digest: str
    digest: str
    media_type: str
    size: int


@contract
class CaseReopenedForSecondPass(CaseEvent):
    """二次办理: back to the lead unit with a new handling deadline (status ``in_progress``)."""

    type = "CaseReopenedForSecondPass"
    unit: str
    handle_deadline: datetime
    handle_deadline_provisional: bool
    reopened_at: datetime | None = None  # added (optional): the new handling time starts


@contract
class DeadlinesRecalculated(CaseEvent):
    """A year's official calendar was loaded: provisional deadlines became exact."""

    type = "DeadlinesRecalculated"
    sign_deadline: datetime | None
    sign_deadline_provisional: bool
    handle_deadline: datetime | None
    handle_deadline_provisional: bool


@contract
class DeadlineApproaching(CaseEvent):
    """催办: 80 % of the time is gone (once per case and deadline)."""

    type = "DeadlineApproaching"
    deadline_kind: str
    deadline: datetime
    unit: str


@contract
class DeadlineMissed(CaseEvent):
    """The deadline passed (once per case and deadline)."""

    type = "DeadlineMissed"
    deadline_kind: str
    deadline: datetime
    unit: str


@contract
class SupervisionNoticeIssued(CaseEvent):
    """督办: escalated to the office and supervisors because a deadline was missed."""

    type = "SupervisionNoticeIssued"
    deadline_kind: str
    deadline: datetime
    unit: str


@contract
class UnitRegistered(Contract):
    """A responsible unit (责任单位) joined the directory. Version 2 adds its responsible
    person (单位负责人, ``{name, position}`` or none); a version 1 message is upcast to none."""

    type = "UnitRegistered"
    version = 2
    code: str
    name: str
    kind: str
    parent: str | None
    liaisons: list[dict[str, Any]]
    responsible_person: dict[str, Any] | None = None


@contract
class UnitUpdated(Contract):
    """A unit's entry changed (the whole entry, as the office now keeps it). Version 2 adds
    its responsible person, as :class:`UnitRegistered`."""

    type = "UnitUpdated"
    version = 2
    code: str
    name: str
    kind: str
    parent: str | None
    liaisons: list[dict[str, Any]]
    active: bool = True
    responsible_person: dict[str, Any] | None = None


@upcaster("UnitRegistered", 1)
@upcaster("UnitUpdated", 1)
def _no_responsible_person(data: dict[str, Any]) -> dict[str, Any]:
    """Released version 1 knew no responsible person: none was kept."""
    return data | {"responsible_person": None}


@contract
class CalendarYearLoaded(Contract):
    """The office loaded a year's official holidays and make-up working days (调休)."""

    type = "CalendarYearLoaded"
    year: int
    holidays: list[date]
    workdays: list[date]
