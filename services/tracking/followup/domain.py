"""Tracking's aggregate: what happens to a case once its result is accepted.

Pure domain: no I/O. Every event names the actor and carries the follow-up's ``status`` and
``pass_no`` after it, so that the integration events can say so without recomputing.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from services.tracking.followup.errors import (
    AlreadyEvaluated,
    ClosedOutError,
    CloseOutRefused,
    ConcludedCaseFeedback,
    FeedbackAlreadyDelivered,
    NoReferral,
    NotAwaitingEvaluation,
    NotOpenError,
    PublicWordingUnsafe,
    check_accountability,
)
from services.tracking.followup.evaluators import DEFAULT_SECOND_PASS_STARTERS, EVALUATOR
from shared.contracts.vocabulary import (
    FEEDBACK_LABELS,
    PUBLIC_FEEDBACK,
    CaseStatus,
    EvaluatorKind,
    FeedbackChannel,
    Rating,
    required_feedback,
)
from shared.platform.redaction import redact

Actor = dict[str, Any]

REGISTERED = CaseStatus.REGISTERED.value
AWAITING_FEEDBACK = CaseStatus.AWAITING_FEEDBACK.value
AWAITING_EVALUATION = CaseStatus.AWAITING_EVALUATION.value
SECOND_PASS = CaseStatus.SECOND_PASS.value
CLOSED_OUT = CaseStatus.CLOSED_OUT.value
COMPLAINANT = EvaluatorKind.COMPLAINANT.value


# An announcement (催办 / 督办) of a deadline is not made again, and no 催办 follows a 督办: a
# replica whose clock reads earlier (or was stepped back) still sees the deadline ahead.
ALREADY_SAID = {True: ("missed",), False: ("missed", "approaching")}


class FollowUp(Aggregate):
    """跟踪 — a case after its result: 三个口径反馈 (feedback on up to three channels),
    回访/第三方评价 (evaluations), 二次办理 (second pass), 问责 (accountability) and 销号
    (close-out). One per case, started when dispatch opens the case."""

    id: UUID  # the case's id, as in every service: FollowUp(id=…)
    referral_pending = False  # also for a snapshot taken before referrals existed (ADR 20)
    concluded: str | None = None  # merged / not_accepted: answered, never handled (ADR 20)

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
        self.referral_pending = False  # a third party's dissatisfaction awaits the office
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

    # --- merged or not accepted: the reporter is still answered ---------------------------

    def conclude(
        self, outcome: str, reason: str | None, into_number: str | None, actor: Actor
    ) -> None:
        """Dispatch merged the case into another or did not accept it (不予受理): nothing is
        handled here, but the reporter is owed a reply on its own channel (直接反馈) with the
        reason or the original's number. Idempotent."""
        if self.closed or self.concluded is not None:
            return
        self._concluded(
            outcome=outcome, reason=reason, into_number=into_number, status=outcome, actor=actor
        )

    @event("Concluded")
    def _concluded(
        self, outcome: str, reason: str | None, into_number: str | None, status: str, actor: Actor
    ) -> None:
        self.concluded = outcome
        self.status = status

    # --- 三个口径反馈 ------------------------------------------------------------------------

    def check_feedback(self, channel: str) -> None:
        self.check_not_closed()
        if self.concluded is not None:
            if channel != FeedbackChannel.DIRECT_REPLY:
                raise ConcludedCaseFeedback(
                    "该案件已合并或不予受理,只能向举报人直接反馈 (a merged or not accepted case is "
                    "answered by direct_reply only)",
                    channel=channel,
                )
        else:
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
        check_public_wording(channel, content)
        delivered = sorted({*self.delivered, channel})
        done = set(self.required_feedback) <= set(delivered) and self.concluded is None
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

    def check_evaluation(
        self, evaluator_kind: str, actor: Actor, linked_from: str | None = None
    ) -> None:
        self.check_not_closed()
        if self.concluded is not None:
            raise NotAwaitingEvaluation(
                "该案件已合并或不予受理,无需评价 (a merged or not accepted case is not rated)",
                missing_feedback=[],
            )
        if self.status != AWAITING_EVALUATION:
            self.check_open()
            raise NotAwaitingEvaluation(
                "反馈尚未全部完成,暂不能评价 (required feedback not delivered yet: "
                f"{', '.join(self.missing_feedback)})",
                missing_feedback=self.missing_feedback,
            )
        if any(
            self._same_evaluator(e, evaluator_kind, actor, linked_from) for e in self.evaluations
        ):
            raise AlreadyEvaluated(
                f"本轮已评价过 (already evaluated in pass {self.pass_no} by this evaluator)"
            )

    @staticmethod
    def _same_evaluator(
        earlier: dict[str, Any], evaluator_kind: str, actor: Actor, linked_from: str | None
    ) -> bool:
        """The complainant is one person, whoever records the rating (the office after a
        回访 call, or the reporter by receipt code); an evaluator is its credential, whatever
        kind it rated as; the office, recording ratings given on paper, once per kind. The
        reporter of a case merged into this one is its own complainant."""
        if earlier.get("linked_from") or linked_from:
            return earlier.get("linked_from") == linked_from
        if evaluator_kind == COMPLAINANT or earlier["evaluator_kind"] == COMPLAINANT:
            return earlier["evaluator_kind"] == evaluator_kind
        if earlier["evaluator"] != actor.get("id"):
            return False
        return actor.get("role") == EVALUATOR or earlier["evaluator_kind"] == evaluator_kind

    def evaluate(
        self,
        rating: str,
        evaluator_kind: str,
        comment: str | None,
        actor: Actor,
        via_receipt: bool = False,
        starters: frozenset[str] = DEFAULT_SECOND_PASS_STARTERS,
        linked_from: str | None = None,
    ) -> None:
        """``starters``: the kinds whose ``dissatisfied`` starts a second pass (ADR 20); any
        other kind's is referred to the office, which decides (:meth:`decide_referral`).
        ``linked_from``: the number of a case merged into this one whose reporter rates; the
        original's complainant governs the second pass, so that reporter's is referred."""
        self.check_evaluation(evaluator_kind, actor, linked_from)
        self._evaluated(
            rating=rating,
            evaluator_kind=evaluator_kind,
            comment=comment,
            via_receipt=via_receipt,
            status=self.status,
            pass_no=self.pass_no,
            actor=actor,
            linked_from=linked_from,
        )
        if rating != Rating.DISSATISFIED:
            return
        if evaluator_kind not in starters or linked_from is not None:
            if not self.referral_pending:
                self._dissatisfaction_referred(
                    evaluator_kind=evaluator_kind,
                    reason="第三方评价不满意,提交办公室研究是否二次办理 (a third party's "
                    "dissatisfaction is referred to the office)",
                    status=self.status,
                    pass_no=self.pass_no,
                    actor=actor,
                )
            return
        self._dissatisfied(actor, "评价不满意,启动二次办理 (dissatisfied evaluation)")

    def _dissatisfied(self, actor: Actor, reason: str) -> None:
        """A second pass after the first; after the second, the supervisors take it up."""
        if self.pass_no == 1:
            self._second_pass_started(
                pass_no=self.pass_no + 1, status=SECOND_PASS, reason=reason, actor=actor
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
        linked_from: str | None = None,  # absent from events recorded before ADR 20
    ) -> None:
        self.evaluations.append(
            {
                "rating": rating,
                "evaluator_kind": evaluator_kind,
                "evaluator": actor.get("id"),
                "linked_from": linked_from,
            }
        )

    @event("DissatisfactionReferred")
    def _dissatisfaction_referred(
        self, evaluator_kind: str, reason: str, status: str, pass_no: int, actor: Actor
    ) -> None:
        self.referral_pending = True

    def decide_referral(self, start: bool, reason: str, actor: Actor) -> None:
        """The office's decision on a third party's dissatisfaction: a second pass (or, after
        one, the supervisors), or none — the case then goes on to close-out."""
        self.check_not_closed()
        if not self.referral_pending:
            raise NoReferral(
                "本轮没有待办公室研究的第三方不满意评价 (no third-party dissatisfaction "
                f"awaits the office's decision in pass {self.pass_no})"
            )
        self._referral_decided(
            start=start, reason=reason, status=self.status, pass_no=self.pass_no, actor=actor
        )
        if start:
            self._dissatisfied(actor, f"办公室研究决定二次办理:{reason}")

    @event("ReferralDecided")
    def _referral_decided(
        self, start: bool, reason: str, status: str, pass_no: int, actor: Actor
    ) -> None:
        self.referral_pending = False

    @event("SecondPassStarted")
    def _second_pass_started(self, pass_no: int, status: str, reason: str, actor: Actor) -> None:
        self.pass_no = pass_no
        self.status = status
        self.delivered = []
        self.evaluations = []
        self.referral_pending = False

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
        if self.referral_pending:
            missing.append(
                {
                    "code": "referral_undecided",
                    "message": "第三方不满意评价待办公室研究决定 (the office has not decided on "
                    "a third party's dissatisfaction)",
                }
            )
        return missing

    def close_out(self, actor: Actor, also_missing: list[dict[str, str]] | None = None) -> None:
        """``also_missing``: what else the case owes, e.g. its accountability procedure's
        decision or report back (asked by the application, ADR 19)."""
        self.check_not_closed()
        missing = self.missing_for_close_out() + list(also_missing or [])
        if missing:
            raise CloseOutRefused(
                "尚不能销号:" + ";".join(m["message"] for m in missing), missing=missing
            )
        self._closed_out(status=CLOSED_OUT, pass_no=self.pass_no, actor=actor)

    @event("ClosedOut")
    def _closed_out(self, status: str, pass_no: int, actor: Actor) -> None:
        self.status = status
        self.closed = True

    # --- 实名举报人的两次答复: 催办 / 督办 (issue 20, ADR 32) ------------------------------------

    answer_reminders: tuple[str, ...] = ()  # "<answer>|<pass>|<due>|approaching|missed"

    def remind_answer(self, *, answer: str, due: datetime, missed: bool, actor: Actor) -> bool:
        """Announce once that a named reporter's answer (``acceptance`` 受理告知 or ``result``
        结果告知, 15 working days each) is near its due time or past it. The due time comes
        from the ledger, which sees dispatch's side too; False when announced already."""
        due_key = f"{answer}|{self.pass_no}|{due.isoformat()}"
        said = {f"{due_key}|{state}" for state in ALREADY_SAID[missed]}
        # No 催办 after 督办: a replica whose clock reads earlier still sees it approaching.
        if self.closed or said & set(self.answer_reminders):
            return False
        announce = self._answer_missed if missed else self._answer_approaching
        announce(answer=answer, due=due, status=self.status, pass_no=self.pass_no, actor=actor)
        return True

    @event("ReporterAnswerApproaching")
    def _answer_approaching(
        self, answer: str, due: datetime, status: str, pass_no: int, actor: Actor
    ) -> None:
        key = f"{answer}|{pass_no}|{due.isoformat()}|approaching"
        self.answer_reminders = (*self.answer_reminders, key)

    @event("ReporterAnswerMissed")
    def _answer_missed(
        self, answer: str, due: datetime, status: str, pass_no: int, actor: Actor
    ) -> None:
        self.answer_reminders = (
            *self.answer_reminders,
            f"{answer}|{pass_no}|{due.isoformat()}|missed",
        )

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


def check_public_wording(channel: str, content: str) -> None:
    """What goes to the public (网上公示, 媒体回应) is the office's approved wording: text that
    still carries a phone, an ID number, an e-mail or an introduced name is refused with the
    masked text to approve instead (issue 20's explicit redaction step)."""
    if channel not in PUBLIC_FEEDBACK:
        return
    found = redact(content)
    if found.flags:
        raise PublicWordingUnsafe(
            f"公示内容含有{'、'.join(found.flag_labels)},请修改,或采用已遮盖的建议文本后再公示 "
            "(public wording carries personal particulars)",
            field="content",
            flags=list(found.flags),
            suggested=found.text,
        )
