"""What the follow-up refuses, and why. The API's table (``followup.api.REFUSALS``) says how
each is answered; nothing here knows of HTTP."""

from __future__ import annotations

from typing import Any

from shared.contracts.vocabulary import Circumstance


class FollowUpNotFound(Exception):
    """No case of that id has reached tracking (or this caller may not see it)."""


class ReceiptNotFound(Exception):
    """A receipt code that names no case on the ledger (unknown, malformed or not there yet:
    all the same, so that no answer tells whether a number exists)."""


class FollowUpError(Exception):
    """A command the follow-up refuses; ``details`` say what stands in the way."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class ClosedOutError(FollowUpError):
    """The case is closed out (销号): nothing more is recorded on it."""


class NotOpenError(FollowUpError):
    """The result of the pass is not accepted yet: no feedback or evaluation before."""


class FeedbackAlreadyDelivered(FollowUpError):
    """Feedback on this channel was delivered for this pass already."""


class PublicWordingUnsafe(FollowUpError):
    """Public feedback that still carries personal particulars (``details``: the kinds found
    as ``flags``, and the ``suggested`` masked text)."""


class NotAwaitingEvaluation(FollowUpError):
    """The case does not wait for an evaluation now."""


class AlreadyEvaluated(FollowUpError):
    """This evaluator has evaluated this pass already."""


class CloseOutRefused(FollowUpError):
    """Something required is missing for close-out (``details['missing']``)."""


class AccountabilityError(FollowUpError):
    """An accountability record that contradicts itself (``details['field']``)."""


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


class EvaluatorKindRefused(FollowUpError):
    """The kind an evaluation would be recorded under is not the caller's (``details['code']``:
    an evaluator's credential names none, or the body names another, or the office gave none).
    """


class NoReferral(FollowUpError):
    """The office decides on a second pass only when a third party's dissatisfaction was
    referred to it in this pass and is not decided yet."""


class ConcludedCaseFeedback(FollowUpError):
    """A merged or not accepted case is answered to its reporter directly, on no other
    channel (there is no result to publish)."""
