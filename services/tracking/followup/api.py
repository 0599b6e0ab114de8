"""After the result: feedback, evaluations, accountability, close-out (SPEC §6), and the
anonymous reporter's evaluation by receipt code on the public portal.

Each answers ``201`` (close-out ``200``) with the case's follow-up status and the position of
its event, or a problem: ``404`` for an unknown case, ``409`` naming what stands in the way
(close-out lists everything missing), ``422`` for an invalid body. A refusal changes nothing.
:data:`REFUSALS` is how every follow-up error is answered.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool

from services.tracking.followup import errors
from services.tracking.followup.application import Recorded
from services.tracking.followup.deps import FollowUps, ReceiptCasesDep
from services.tracking.followup.schemas import (
    AccountabilityIn,
    EvaluationIn,
    FeedbackIn,
    FollowUpAnswer,
    PublicEvaluationIn,
)
from shared.contracts.vocabulary import EvaluatorKind
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import not_found
from shared.web.ratelimit import public_rate_limit
from shared.web.refusals import Refusal, Refusals, documented

REFUSALS: Refusals = {
    errors.FollowUpNotFound: Refusal(
        404, "no_such_case", "没有该案件", detail=not_found("case").detail
    ),
    errors.ReceiptNotFound: Refusal(
        404, "no_such_receipt", "没有该回执", detail=not_found("receipt").detail
    ),
    errors.FollowUpError: Refusal(409, "conflict", "当前状态不允许", coded=True),
    errors.ClosedOutError: Refusal(409, "closed_out", "已销号", coded=True),
    errors.NotOpenError: Refusal(409, "result_not_accepted", "办理结果尚未审核通过", coded=True),
    errors.FeedbackAlreadyDelivered: Refusal(
        409, "feedback_already_delivered", "该渠道已反馈", coded=True
    ),
    errors.NotAwaitingEvaluation: Refusal(
        409, "not_awaiting_evaluation", "当前不在待评价状态", coded=True
    ),
    errors.AlreadyEvaluated: Refusal(409, "already_evaluated", "已评价", coded=True),
    errors.CloseOutRefused: Refusal(409, "close_out_refused", "尚不能销号", coded=True),
    errors.AccountabilityError: Refusal(422, "invalid_accountability", "问责记录自相矛盾"),
}
RESPONSES = documented(REFUSALS)

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["tracking"], responses=RESPONSES)

FeedbackRecorder = Annotated[Principal, Depends(require(Action.RECORD_FEEDBACK))]
Evaluator = Annotated[Principal, Depends(require(Action.RECORD_EVALUATION))]
AccountabilityRecorder = Annotated[Principal, Depends(require(Action.RECORD_ACCOUNTABILITY))]
Closer = Annotated[Principal, Depends(require(Action.CLOSE_OUT))]


def answered(recorded: Recorded) -> FollowUpAnswer:
    return FollowUpAnswer(**recorded.as_dict())


@router.post(
    "/feedback",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Log feedback delivered on one channel (三个口径反馈)",
)
def deliver_feedback(
    case_id: UUID, body: FeedbackIn, follow_ups: FollowUps, principal: FeedbackRecorder
) -> FollowUpAnswer:
    actor = principal.actor()
    return answered(follow_ups.deliver_feedback(case_id, body.channel.value, body.content, actor))


@router.post(
    "/evaluations",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Record an evaluation (回访/评价); dissatisfied starts a second pass",
)
def record_evaluation(
    case_id: UUID, body: EvaluationIn, follow_ups: FollowUps, principal: Evaluator
) -> FollowUpAnswer:
    return answered(
        follow_ups.evaluate(
            case_id,
            rating=body.rating.value,
            evaluator_kind=body.evaluator_kind.value,
            comment=body.comment,
            actor=principal.actor(),
        )
    )


@router.post(
    "/accountability",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="Record accountability (问责) against a person or a unit's leadership",
)
def record_accountability(
    case_id: UUID, body: AccountabilityIn, follow_ups: FollowUps, principal: AccountabilityRecorder
) -> FollowUpAnswer:
    record = body.model_dump(mode="json")
    return answered(follow_ups.record_accountability(case_id, principal.actor(), **record))


@router.post(
    "/close-out",
    response_model=FollowUpAnswer,
    summary="Close the case out (销号); 409 lists what is still missing",
)
def close_out(case_id: UUID, follow_ups: FollowUps, principal: Closer) -> FollowUpAnswer:
    return answered(follow_ups.close_out(case_id, principal.actor()))


# --- the public portal: the anonymous reporter's evaluation -------------------------------

# Rate limited per client: receipt codes must not be guessable by trying (SPEC §4, issue 7).
public = APIRouter(
    prefix="/public/v1", tags=["public portal"], dependencies=[Depends(public_rate_limit)]
)
ReceiptCode = Annotated[str, Path(max_length=64)]
RECEIPT_ACTOR = {"id": "public:receipt", "name": "匿名举报人", "role": "public", "unit": None}


@public.post(
    "/receipts/{code}/evaluation",
    status_code=201,
    summary="The anonymous reporter rates the handling",
    responses=RESPONSES,
)
async def evaluate_by_receipt(
    code: ReceiptCode,
    body: PublicEvaluationIn,
    follow_ups: FollowUps,
    receipts: ReceiptCasesDep,
) -> dict[str, Any]:
    """A receipt code that is unknown, malformed or not yet on the ledger gets the same
    ``404`` with the same body, so no answer tells whether a case number exists."""
    case_id = await receipts.receipt_case_id(code)
    if case_id is None:
        raise errors.ReceiptNotFound()
    try:
        recorded = await run_in_threadpool(
            follow_ups.evaluate,
            case_id,
            rating=body.rating.value,
            evaluator_kind=EvaluatorKind.COMPLAINANT.value,
            comment=body.comment,
            actor=RECEIPT_ACTOR,
            via_receipt=True,
        )
    except errors.FollowUpNotFound:
        raise errors.ReceiptNotFound() from None
    return {"status": recorded.status, "pass_no": recorded.pass_no}
