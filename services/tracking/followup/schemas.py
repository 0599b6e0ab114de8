"""What the follow-up's commands receive (strict: unknown fields and wrong types are refused
with the field's name) and what they answer."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from shared.contracts.vocabulary import (
    EvaluatorKind,
    FeedbackChannel,
    Rating,
)
from shared.web.schemas import Content, Strict, Text500


class FeedbackIn(Strict):
    channel: FeedbackChannel
    content: Content


class EvaluationIn(Strict):
    """``evaluator_kind``: an evaluator's comes from its credential (it may leave this out;
    naming another is refused); the office names the kind it records (ADR 20)."""

    rating: Rating
    evaluator_kind: EvaluatorKind | None = None
    comment: Text500 | None = None


class ReferralDecisionIn(Strict):
    """The office's decision on a third party's dissatisfaction (ADR 20)."""

    start: bool
    reason: Text500


class PublicEvaluationIn(Strict):
    rating: Rating
    comment: Text500 | None = None


class FollowUpAnswer(BaseModel):
    """The case after a command; ``position`` is where the event sits in tracking's log —
    ``GET /api/v1/ledger/positions`` tells when the ledger has caught up with it."""

    case_id: UUID
    status: str
    pass_no: int
    position: int | None
