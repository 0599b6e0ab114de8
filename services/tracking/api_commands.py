"""After the result: feedback, evaluations, accountability, close-out (SPEC §6).

Each answers ``201`` (close-out ``200``) with the case's follow-up status and the position of
its event, or a problem: ``404`` for an unknown case, ``409`` naming what stands in the way
(close-out lists everything missing), ``422`` for an invalid body. A refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends

from services.tracking.application import FollowUpNotFound, Recorded
from services.tracking.main import TrackingDep
from services.tracking.refusals import FollowUpError
from services.tracking.schemas import AccountabilityIn, EvaluationIn, FeedbackIn, FollowUpAnswer
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import Problem, not_found

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["tracking"])

FeedbackRecorder = Annotated[Principal, Depends(require(Action.RECORD_FEEDBACK))]
Evaluator = Annotated[Principal, Depends(require(Action.RECORD_EVALUATION))]
AccountabilityRecorder = Annotated[Principal, Depends(require(Action.RECORD_ACCOUNTABILITY))]
Closer = Annotated[Principal, Depends(require(Action.CLOSE_OUT))]
RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (401, 403, 404, 409, 422)
}


@contextmanager
def refusals(unknown: str = "case") -> Iterator[None]:
    """Domain refusals → problem+json with the reason (and, for close-out, what is missing);
    ``unknown`` names what a 404 says was not found."""
    try:
        yield
    except FollowUpNotFound:
        raise not_found(unknown) from None
    except FollowUpError as e:
        if e.status == 409:
            raise Problem(409, "Conflict", str(e), code=e.code, **e.details) from None
        field = e.details.get("field", "body")
        errors = [{"field": field, "message": str(e), "code": e.code}]
        raise Problem(422, "Invalid request", f"{field}: {e}", errors=errors, **e.details) from None


def answered(command: Callable[[], Recorded]) -> FollowUpAnswer:
    with refusals():
        recorded = command()
    return FollowUpAnswer(**recorded.as_dict())


@router.post(
    "/feedback",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Log feedback delivered on one channel (三个口径反馈)",
    responses=RESPONSES,
)
def deliver_feedback(
    case_id: UUID, body: FeedbackIn, tracking: TrackingDep, principal: FeedbackRecorder
) -> FollowUpAnswer:
    actor = principal.actor()
    return answered(
        lambda: tracking.app.deliver_feedback(case_id, body.channel.value, body.content, actor)
    )


@router.post(
    "/evaluations",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Record an evaluation (回访/评价); dissatisfied starts a second pass",
    responses=RESPONSES,
)
def record_evaluation(
    case_id: UUID, body: EvaluationIn, tracking: TrackingDep, principal: Evaluator
) -> FollowUpAnswer:
    return answered(
        lambda: tracking.evaluate(
            case_id, principal, body.rating.value, body.evaluator_kind.value, body.comment
        )
    )


@router.post(
    "/accountability",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Record accountability (问责) against a person or a unit's leadership",
    responses=RESPONSES,
)
def record_accountability(
    case_id: UUID, body: AccountabilityIn, tracking: TrackingDep, principal: AccountabilityRecorder
) -> FollowUpAnswer:
    record = body.model_dump(mode="json")
    return answered(
        lambda: tracking.app.record_accountability(case_id, principal.actor(), **record)
    )


@router.post(
    "/close-out",
    response_model=FollowUpAnswer,
    summary="Close the case out (销号); 409 lists what is still missing",
    responses=RESPONSES,
)
def close_out(case_id: UUID, tracking: TrackingDep, principal: Closer) -> FollowUpAnswer:
    return answered(lambda: tracking.app.close_out(case_id, principal.actor()))
