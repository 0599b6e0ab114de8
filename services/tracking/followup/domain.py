"""Tracking's aggregate: what happens to a case once its result is accepted.

Pure domain: no I/O. Every event names the actor and carries the follow-up's ``status`` and
``pass_no`` after it, so that the integration events can say so without recomputing.
"""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from services.tracking.followup.errors import (
    AlreadyEvaluated,
    ClosedOutError,
    CloseOutRefused,
    FeedbackAlreadyDelivered,
    NotAwaitingEvaluation,
    NotOpenError,
    check_accountability,
)
from shared.contracts.vocabulary import (
    FEEDBACK_LABELS,
    CaseStatus,
    EvaluatorKind,
    FeedbackChannel,
    Rating,
    required_feedback,
)

Actor = dict[str, Any]

REGISTERED = CaseStatus.REGISTERED.value
AWAITING_FEEDBACK = CaseStatus.AWAITING_FEEDBACK.value
AWAITING_EVALUATION = CaseStatus.AWAITING_EVALUATION.value
SECOND_PASS = CaseStatus.SECOND_PASS.value
CLOSED_OUT = CaseStatus.CLOSED_OUT.value
COMPLAINANT = EvaluatorKind.COMPLAINANT.value


class FollowUp(Aggregate):
    """跟踪 — a case after its result: 三个口径反馈 (feedback on up to three channels),
    回访/第三方评价 (evaluations), 二次办理 (second pass), 问责 (accountability) and 销号
    (close-out). One per case, started when dispatch opens the case."""

    id: UUID  # the case's id, as in every service: FollowUp(id=…)

    @classmethod
    def start(
        cls, *, case_id: UUID, number: str, channel: str, named: bool, actor: Actor
    ) -> FollowUp:
        required = sorted(c.value for c in required_feedback(channel, named))
        return cls(  # type: ignore[call-arg]  # the library takes id= for any aggregate
            id=case_id,
            number=number,
            channel=channel,
            named=named,
            required_feedback=required,
            actor=actor,
        )

    @event("Started")
    def __init__(
        self,
        *,
        number: str,
        channel: str,
        named: bool,
        required_feedback: list[str],
        actor: Actor,
    ) -> None:
        self.number = number
        self.channel = channel
        self.named = named
        self.required_feedback = required_feedback
        self.status = REGISTERED
        self.pass_no = 1
        self.opened_pass = 0  # the pass whose result was accepted last
        self.delivered: list[str] = []  # this pass
        self.evaluations: list[dict[str, Any]] = []  # this pass
        self.escalated = False
        self.closed = False

    # --- the result of a pass was accepted -------------------------------------------------

    def open(self, pass_no: int, actor: Actor) -> None:
        """Idempotent: a pass already opened, an older pass or a closed case changes nothing."""
        if self.closed or pass_no < self.pass_no or pass_no <= self.opened_pass:
            return
        status = AWAITING_FEEDBACK if self.required_feedback else AWAITING_EVALUATION
        self._opened(
            pass_no=pass_no, status=status, required_feedback=self.required_feedback, actor=actor
        )

    @event("Opened")
    def _opened(
        self, pass_no: int, status: str, required_feedback: list[str], actor: Actor
    ) -> None:
        self.pass_no = pass_no
        self.opened_pass = pass_no
        self.status = status
        self.delivered = []
        self.evaluations = []

    # --- 三个口径反馈 ------------------------------------------------------------------------

    def check_feedback(self, channel: str) -> None:
        self.check_not_closed()
        self.check_open()
        if channel in self.delivered:
            label = FEEDBACK_LABELS[FeedbackChannel(channel)]
            raise FeedbackAlreadyDelivered(
                f"本轮已通过「{label}」反馈过 (feedback on {channel} already delivered "
                f"in pass {self.pass_no})",
                channel=channel,
            )

    def deliver_feedback(self, channel: str, content: str, actor: Actor) -> None:
        self.check_feedback(channel)
        delivered = sorted({*self.delivered, channel})
        done = set(self.required_feedback) <= set(delivered)
        status = AWAITING_EVALUATION if done else self.status
        self._feedback_delivered(
            channel=channel,
            content=content,
            delivered=delivered,
            status=status,
            pass_no=self.pass_no,
            actor=actor,
        )

    @event("FeedbackDelivered")
    def _feedback_delivered(
        self,
        channel: str,
        content: str,
        delivered: list[str],
        status: str,
        pass_no: int,
        actor: Actor,
    ) -> None:
        self.delivered = delivered
        self.status = status

    @property
    def missing_feedback(self) -> list[str]:
        return [c for c in self.required_feedback if c not in self.delivered]

    # --- 回访/评价 ---------------------------------------------------------------------------

    def check_evaluation(self, evaluator_kind: str, actor: Actor) -> None:
        self.check_not_closed()
        if self.status != AWAITING_EVALUATION:
            self.check_open()
            raise NotAwaitingEvaluation(
                "反馈尚未全部完成,暂不能评价 (required feedback not delivered yet: "
                f"{', '.join(self.missing_feedback)})",
                missing_feedback=self.missing_feedback,
            )
        if any(self._same_evaluator(e, evaluator_kind, actor) for e in self.evaluations):
            raise AlreadyEvaluated(
                f"本轮已评价过 (already evaluated in pass {self.pass_no} by this evaluator)"
            )

    @staticmethod
    def _same_evaluator(earlier: dict[str, Any], evaluator_kind: str, actor: Actor) -> bool:
        """The complainant is one person, whoever records the rating (the office after a
        回访 call, or the reporter by receipt code); third parties are told apart by id."""
        if earlier["evaluator_kind"] != evaluator_kind:
            return False
        return evaluator_kind == COMPLAINANT or earlier["evaluator"] == actor.get("id")

    def evaluate(
        self,
        rating: str,
        evaluator_kind: str,
        comment: str | None,
        actor: Actor,
        via_receipt: bool = False,
    ) -> None:
        self.check_evaluation(evaluator_kind, actor)
        self._evaluated(
            rating=rating,
            evaluator_kind=evaluator_kind,
            comment=comment,
            via_receipt=via_receipt,
            status=self.status,
            pass_no=self.pass_no,
            actor=actor,
        )
        if rating != Rating.DISSATISFIED:
            return
        if self.pass_no == 1:
            self._second_pass_started(
                pass_no=self.pass_no + 1,
                status=SECOND_PASS,
                reason="评价不满意,启动二次办理 (dissatisfied evaluation)",
                actor=actor,
            )
        elif not self.escalated:
            self._escalated(
                status=self.status,
                pass_no=self.pass_no,
                reason="二次办理后仍不满意,提交纪委监察 (dissatisfied again after a second pass)",
                actor=actor,
            )

    @event("EvaluationRecorded")
    def _evaluated(
        self,
        rating: str,
        evaluator_kind: str,
        comment: str | None,
        via_receipt: bool,
        status: str,
        pass_no: int,
        actor: Actor,
    ) -> None:
        self.evaluations.append(
            {"rating": rating, "evaluator_kind": evaluator_kind, "evaluator": actor.get("id")}
        )

    @event("SecondPassStarted")
    def _second_pass_started(self, pass_no: int, status: str, reason: str, actor: Actor) -> None:
        self.pass_no = pass_no
        self.status = status
        self.delivered = []
        self.evaluations = []

    @event("EscalatedToSupervisors")
    def _escalated(self, status: str, pass_no: int, reason: str, actor: Actor) -> None:
        self.escalated = True

    # --- 问责 -------------------------------------------------------------------------------

    def record_accountability(
        self,
        *,
        target_kind: str,
        name: str,
        position: str | None,
        measures: list[str],
        circumstances: str,
        exempted: bool,
        note: str | None,
        actor: Actor,
    ) -> None:
        check_accountability(measures, circumstances, exempted)
        self._accountability_recorded(
            target_kind=target_kind,
            name=name,
            position=position,
            measures=measures,
            circumstances=circumstances,
            exempted=exempted,
            note=note,
            status=self.status,
            pass_no=self.pass_no,
            actor=actor,
        )

    @event("AccountabilityRecorded")
    def _accountability_recorded(
        self,
        target_kind: str,
        name: str,
        position: str | None,
        measures: list[str],
        circumstances: str,
        exempted: bool,
        note: str | None,
        status: str,
        pass_no: int,
        actor: Actor,
    ) -> None:
        pass  # a record only: nothing the follow-up decides depends on it

    # --- 销号 -------------------------------------------------------------------------------

    def missing_for_close_out(self) -> list[dict[str, str]]:
        """Everything that stands between this case and close-out, in the order to fix it."""
        missing: list[dict[str, str]] = []
        if self.opened_pass < self.pass_no:
            what = "二次办理结果" if self.pass_no > 1 else "办理结果"
            missing.append(
                {
                    "code": "result_not_accepted",
                    "message": f"{what}尚未审核通过 (the result of pass {self.pass_no} "
                    "is not accepted yet)",
                }
            )
        for channel in self.missing_feedback:
            label = FEEDBACK_LABELS[FeedbackChannel(channel)]
            missing.append(
                {
                    "code": "feedback_missing",
                    "channel": channel,
                    "message": f"尚未通过「{label}」反馈 (feedback on {channel} not delivered)",
                }
            )
        if not self.evaluations:
            missing.append(
                {"code": "evaluation_missing", "message": "尚无评价 (no evaluation yet)"}
            )
        return missing

    def close_out(self, actor: Actor) -> None:
        self.check_not_closed()
        missing = self.missing_for_close_out()
        if missing:
            raise CloseOutRefused(
                "尚不能销号:" + ";".join(m["message"] for m in missing), missing=missing
            )
        self._closed_out(status=CLOSED_OUT, pass_no=self.pass_no, actor=actor)

    @event("ClosedOut")
    def _closed_out(self, status: str, pass_no: int, actor: Actor) -> None:
        self.status = status
        self.closed = True

    # --- shared checks ----------------------------------------------------------------------

    def check_not_closed(self) -> None:
        if self.closed:
            raise ClosedOutError("该案件已销号 (the case is closed out)")

    def check_open(self) -> None:
        if self.opened_pass < self.pass_no:
            raise NotOpenError("办理结果尚未审核通过 (the result of this pass is not accepted yet)")


# Stores written before issue 23 name these events ``services.tracking.domain:FollowUp.…``:
# the old module's topics resolve to this one, so those stores read as they always did.
register_topic("services.tracking.domain", sys.modules[__name__])
