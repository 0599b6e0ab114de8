"""What tracking tells the other services.

Tracking owns what happens after a result is accepted: the three-channel feedback log,
evaluations, the second pass, accountability records and close-out. Its ``FollowUp`` events
carry ``status`` and ``pass_no`` like dispatch's case events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.contracts.base import Contract, contract


class FollowUpEvent(Contract):
    case_id: UUID
    status: str
    pass_no: int = 1


@contract
class FollowUpStarted(FollowUpEvent):
    """Tracking took a case onto its books when dispatch opened it (status ``registered``);
    ``required_feedback`` follows from the channel and whether the reporter is named."""

    type = "FollowUpStarted"
    number: str
    channel: str
    named: bool
    required_feedback: list[str]


@contract
class FollowUpOpened(FollowUpEvent):
    """The result of this pass was accepted: feedback is due on the required channels."""

    type = "FollowUpOpened"
    required_feedback: list[str]


@contract
class FollowUpConcluded(FollowUpEvent):
    """Dispatch merged the case (``outcome`` ``merged``, into ``into_number``) or did not
    accept it (``not_accepted``, with ``reason``): nothing is handled, but the reporter is
    still answered by a direct reply (ADR 20)."""

    type = "FollowUpConcluded"
    outcome: str
    reason: str | None
    into_number: str | None = None


@contract
class FeedbackDelivered(FollowUpEvent):
    """One channel of 三个口径反馈 delivered (logged once per channel and pass)."""

    type = "FeedbackDelivered"
    channel: str
    content: str
    delivered_feedback: list[str]


@contract
class EvaluationRecorded(FollowUpEvent):
    """回访/第三方评价."""

    type = "EvaluationRecorded"
    rating: str
    evaluator_kind: str
    comment: str | None
    via_receipt: bool = False
    # The number of a case merged into this one, whose reporter rated by its receipt (ADR 20).
    linked_from: str | None = None


@contract
class SecondPassStarted(FollowUpEvent):
    """二次办理 after a dissatisfied evaluation (status ``second_pass``, ``pass_no`` is the new
    pass). Dispatch reacts by reopening the case for the lead unit (一案双查)."""

    type = "SecondPassStarted"
    reason: str


@contract
class DissatisfactionReferred(FollowUpEvent):
    """A third party's ``dissatisfied`` (a kind that does not start a second pass by itself,
    ADR 20): the office is to decide whether the case is handled again."""

    type = "DissatisfactionReferred"
    evaluator_kind: str
    reason: str


@contract
class ReferralDecided(FollowUpEvent):
    """The office's decision on a referred dissatisfaction: ``start`` a second pass (which
    follows as its own event) or not."""

    type = "ReferralDecided"
    start: bool
    reason: str


@contract
class EscalatedToSupervisors(FollowUpEvent):
    """A second ``dissatisfied``: the supervisors take it up."""

    type = "EscalatedToSupervisors"
    reason: str


@contract
class AccountabilityRecorded(FollowUpEvent):
    """问责 against a person or a unit's leadership."""

    type = "AccountabilityRecorded"
    target_kind: str
    name: str
    position: str | None
    measures: list[str]
    circumstances: str
    exempted: bool
    note: str | None = None


@contract
class CaseClosedOut(FollowUpEvent):
    """销号: the case leaves the open ledger."""

    type = "CaseClosedOut"
    closed_at: datetime


# --- 问责程序: the accountability procedure of a case (its own aggregate, ADR 19) -----------


class ProcedureEvent(Contract):
    """An event of a case's accountability procedure; ``stage`` is the procedure's stage after
    it (``open``, ``decided``, ``closed``) and ``round`` counts reopenings from 1."""

    case_id: UUID
    stage: str
    round: int = 1


@contract
class AccountabilityProcedureOpened(ProcedureEvent):
    """问责程序启动, by a trigger (``shared.contracts.vocabulary.AccountabilityTrigger``)."""

    type = "AccountabilityProcedureOpened"
    trigger: str
    reason: str
    origin: dict[str, Any] | None = None
    report_back_required: bool = False
    report_back_due: datetime | None = None


@contract
class AccountabilityTriggerAdded(ProcedureEvent):
    """One more trigger for an open procedure, or one that reopens a finished one."""

    type = "AccountabilityTriggerAdded"
    trigger: str
    reason: str
    reopened: bool = False
    origin: dict[str, Any] | None = None
    report_back_required: bool = False
    report_back_due: datetime | None = None


@contract
class AccountabilityFindingRecorded(ProcedureEvent):
    """A decision about one target (or its correction, ``corrects`` naming finding ``n``):
    who (name, unit, position), the liability, measures, circumstances and grounds, 容错免责
    with its grounds and approver, the deciding body and date."""

    type = "AccountabilityFindingRecorded"
    n: int
    corrects: int | None = None
    correction_reason: str | None = None
    target_kind: str
    name: str
    unit: str | None
    position: str | None
    liability: str
    measures: list[str]
    circumstances: str
    grounds: str | None
    exempted: bool
    exemption: dict[str, Any] | None = None
    decided_by: str | None
    decided_on: date | None
    note: str | None = None
    legacy: bool = False


@contract
class NoAccountabilityFound(ProcedureEvent):
    """A reasoned finding that no one is accountable."""

    type = "NoAccountabilityFound"
    reason: str
    decided_by: str
    decided_on: date


@contract
class AccountabilityDecided(ProcedureEvent):
    """The procedure's round has its decision (findings, or no one accountable)."""

    type = "AccountabilityDecided"
    findings: int
    no_accountability: bool


@contract
class AccountabilityReportedBack(ProcedureEvent):
    """回告/上报: the decision reported back to the higher level the case came from."""

    type = "AccountabilityReportedBack"
    reported_to: str
    content: str
    reported_on: date
    on_time: bool


@contract
class TypicalCasePublished(ProcedureEvent):
    """典型案例 (``kind`` ``typical``) or 容错免责's 标杆案例 (``benchmark``) published for
    circulation (通报曝光): the office's title and text; ``persons`` with names only when the
    office decided to keep them (``keep_names``)."""

    type = "TypicalCasePublished"
    kind: str
    title: str
    text: str
    keep_names: bool
    persons: list[dict[str, Any]]


@contract
class AccountabilityProcedureClosed(ProcedureEvent):
    """Nothing more is owed: decided, and reported back where that is required."""

    type = "AccountabilityProcedureClosed"


@contract
class ReportBackApproaching(ProcedureEvent):
    """催办: the report back to the higher level (回告) is due soon (issue 18, ADR 32)."""

    type = "ReportBackApproaching"
    due: datetime


@contract
class ReportBackMissed(ProcedureEvent):
    """督办: the report back is past its deadline and still not recorded (问而不报 looms)."""

    type = "ReportBackMissed"
    due: datetime


@contract
class ReporterAnswerApproaching(FollowUpEvent):
    """催办: a named reporter's answer — ``acceptance`` (受理告知) or ``result`` (结果告知),
    15 working days each — is due soon (issue 20, ADR 32)."""

    type = "ReporterAnswerApproaching"
    answer: str
    due: datetime


@contract
class ReporterAnswerMissed(FollowUpEvent):
    """督办: a named reporter's answer is past its 15 working days and still not given."""

    type = "ReporterAnswerMissed"
    answer: str
    due: datetime


# --- the office's periodic duties (定期任务, issue 19) -------------------------------------
# Every event of a round is published, so read models see its versions without gaps; the
# envelope's ``stream_id`` is the round. The reports themselves stay inside tracking.


@contract
class RoundOpened(Contract):
    """The office opened a periodic duty for ``units``, due at ``due`` on the working
    calendar: a self-inspection round (``self_inspection``, period YYYY-06 / YYYY-12), the
    annual report (``annual_report``, YYYY) or the monthly circular (``monthly_circular``)."""

    type = "RoundOpened"
    kind: str
    period: str
    units: list[str]
    due: datetime


@contract
class RoundSubmitted(Contract):
    """A unit reported on the round."""

    type = "RoundSubmitted"
    unit: str
    on_time: bool


@contract
class RoundReviewed(Contract):
    type = "RoundReviewed"
    unit: str
    accepted: bool


@contract
class RoundReminded(Contract):
    """督办: ``units`` had not reported once ``due`` passed — reminded by the office, or by
    tracking's sweep (the system actor) every few working days until they do."""

    type = "RoundReminded"
    kind: str
    period: str
    units: list[str]
    due: datetime


@contract
class RectificationNoticeReminded(Contract):
    """督办: ``unit`` has not replied to the rectification notice ``notice_number``
    (《告知与整改通知书》 of the ``year``'s assessment, 002 第二十九条: 限期整改, 按时限回告) by
    its reply deadline ``due``. ``count``: the notice's reminders so far — the first when it
    fell due, then one every few working days (tracking's sweep, the system actor) until the
    unit replies. The envelope's ``stream_id`` is the notice's reminders, not the year."""

    type = "RectificationNoticeReminded"
    year: int
    unit: str
    notice_number: str
    due: datetime
    count: int


# --- 问责程序 of a unit, opened by its assessment (004), not by a case ----------------------
# Every event of a unit's procedure is published; the envelope's ``stream_id`` is the
# procedure (one per unit and assessment year).


class UnitProcedureEvent(Contract):
    """An event of a unit's accountability procedure: ``unit`` and the assessment ``year``
    that opened it; ``stage`` and ``round`` as for a case's (:class:`ProcedureEvent`)."""

    unit: str
    year: int
    stage: str
    round: int = 1


@contract
class UnitAccountabilityProcedureOpened(UnitProcedureEvent):
    """问责程序启动 for the unit's main leader (主要负责人) by its annual assessment: last in
    its assessment ``group`` two years running (``trigger`` ``last_place_twice``, 004)."""

    type = "UnitAccountabilityProcedureOpened"
    group: str
    trigger: str
    reason: str


@contract
class UnitAccountabilityFindingRecorded(UnitProcedureEvent):
    """A decision about one target of a unit's procedure (or its correction), with the same
    fields as a case's (:class:`AccountabilityFindingRecorded`)."""

    type = "UnitAccountabilityFindingRecorded"
    n: int
    corrects: int | None = None
    correction_reason: str | None = None
    target_kind: str
    name: str
    position: str | None
    liability: str
    measures: list[str]
    circumstances: str
    grounds: str | None
    exempted: bool
    exemption: dict[str, Any] | None = None
    decided_by: str | None
    decided_on: date | None
    note: str | None = None


@contract
class UnitNoAccountabilityFound(UnitProcedureEvent):
    """A reasoned finding that no one is accountable, in a unit's procedure."""

    type = "UnitNoAccountabilityFound"
    reason: str
    decided_by: str
    decided_on: date


@contract
class UnitAccountabilityDecided(UnitProcedureEvent):
    """A unit's procedure has its decision (findings, or no one accountable)."""

    type = "UnitAccountabilityDecided"
    findings: int
    no_accountability: bool


@contract
class UnitAccountabilityProcedureClosed(UnitProcedureEvent):
    """Nothing more is owed in a unit's procedure (no report back: the source is the office's)."""

    type = "UnitAccountabilityProcedureClosed"
