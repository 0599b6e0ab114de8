"""What the follow-up refuses, and why: each refusal knows the HTTP status it deserves
(409 for a state that does not allow it, 422 for an inconsistent request)."""

from __future__ import annotations

from typing import Any

from shared.contracts.vocabulary import Circumstance


class FollowUpError(Exception):
    """A command the follow-up refuses; ``status`` is the HTTP answer it deserves."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class ClosedOutError(FollowUpError):
    code = "closed_out"


class NotOpenError(FollowUpError):
    code = "result_not_accepted"


class FeedbackAlreadyDelivered(FollowUpError):
    code = "feedback_already_delivered"


class NotAwaitingEvaluation(FollowUpError):
    code = "not_awaiting_evaluation"


class AlreadyEvaluated(FollowUpError):
    code = "already_evaluated"


class CloseOutRefused(FollowUpError):
    code = "close_out_refused"


class AccountabilityError(FollowUpError):
    status = 422
    code = "invalid_accountability"


def check_accountability(measures: list[str], circumstances: str, exempted: bool) -> None:
    """容错免责 means no measure; otherwise at least one, each once."""
    if exempted and measures:
        raise AccountabilityError(
            "容错免责时不应再有问责措施 (an exempted record carries no measures)",
            field="measures",
        )
    if not exempted and not measures:
        raise AccountabilityError(
            "请至少选择一项问责措施,或标记容错免责 (give a measure, or exempted=true)",
            field="measures",
        )
    if len(set(measures)) != len(measures):
        raise AccountabilityError("问责措施重复 (a measure is listed twice)", field="measures")
    if exempted and circumstances == Circumstance.AGGRAVATING:
        raise AccountabilityError(
            "容错免责不能同时从重 (exempted and aggravating contradict each other)",
            field="circumstances",
        )
