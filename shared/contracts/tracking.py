"""What tracking tells the other services.

Tracking owns what happens after a result is accepted: the three-channel feedback log,
evaluations, the second pass, accountability records and close-out. Its ``FollowUp`` events
carry ``status`` and ``pass_no`` like dispatch's case events.
"""

from __future__ import annotations

from datetime import datetime
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


@contract
class SecondPassStarted(FollowUpEvent):
    """二次办理 after a dissatisfied evaluation (status ``second_pass``, ``pass_no`` is the new
    pass). Dispatch reacts by reopening the case for the lead unit (一案双查)."""

    type = "SecondPassStarted"
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
