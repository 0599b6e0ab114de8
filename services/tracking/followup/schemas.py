"""What the follow-up's commands receive (strict: unknown fields and wrong types are refused
with the field's name) and what they answer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from shared.contracts.vocabulary import (
    AccountabilityTarget,
    Circumstance,
    EvaluatorKind,
    FeedbackChannel,
    Measure,
    Rating,
)
from shared.web.schemas import Content, Strict, Text100, Text500


class FeedbackIn(Strict):
    channel: FeedbackChannel
    content: Content


class EvaluationIn(Strict):
    rating: Rating
    evaluator_kind: EvaluatorKind
    comment: Text500 | None = None


class PublicEvaluationIn(Strict):
    rating: Rating
    comment: Text500 | None = None


class AccountabilityIn(Strict):
    target_kind: AccountabilityTarget
    name: Text100
    position: Text100 | None = None
    measures: Annotated[list[Measure], Field(default_factory=list, max_length=len(Measure))]
    circumstances: Circumstance = Circumstance.NONE
    exempted: StrictBool = False
    note: Text500 | None = None


class FollowUpAnswer(BaseModel):
    """The case after a command; ``position`` is where the event sits in tracking's log —
    ``GET /api/v1/ledger/positions`` tells when the ledger has caught up with it."""

    case_id: UUID
    status: str
    pass_no: int
    position: int | None
