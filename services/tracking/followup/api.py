"""After the result: feedback, evaluations, close-out (SPEC §6; accountability is its own wing,
``tracking/accountability``), and the
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
    EvaluationIn,
    FeedbackIn,
    FollowUpAnswer,
    PublicEvaluationIn,
    ReferralDecisionIn,
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
    errors.FollowUpError: Refusal(409, "conflict", "当前状态不允许"),
    errors.ClosedOutError: Refusal(409, "closed_out", "已销号"),
    errors.NotOpenError: Refusal(409, "result_not_accepted", "办理结果尚未审核通过"),
    errors.FeedbackAlreadyDelivered: Refusal(409, "feedback_already_delivered", "该渠道已反馈"),
    errors.NotAwaitingEvaluation: Refusal(409, "not_awaiting_evaluation", "当前不在待评价状态"),
    errors.AlreadyEvaluated: Refusal(409, "already_evaluated", "已评价"),
    errors.PublicWordingUnsafe: Refusal(422, "public_wording_unsafe", "公示内容含有个人信息"),
    errors.CloseOutRefused: Refusal(409, "close_out_refused", "尚不能销号"),
    errors.AccountabilityError: Refusal(422, "invalid_accountability", "问责记录自相矛盾"),
    errors.EvaluatorKindRefused: Refusal(422, "evaluator_kind_refused", "评价人类别不符"),
    errors.ConcludedCaseFeedback: Refusal(
        409, "concluded_direct_reply_only", "已合并或不予受理的案件只能直接反馈"
    ),
    errors.NoReferral: Refusal(409, "no_referral", "没有待研究的不满意评价"),
}
RESPONSES = documented(REFUSALS)

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["tracking"], responses=RESPONSES)

FeedbackRecorder = Annotated[Principal, Depends(require(Action.RECORD_FEEDBACK))]
Evaluator = Annotated[Principal, Depends(require(Action.RECORD_EVALUATION))]
Closer = Annotated[Principal, Depends(require(Action.CLOSE_OUT))]
ReferralDecider = Annotated[Principal, Depends(require(Action.DECIDE_SECOND_PASS))]


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
    summary="Record an evaluation (回访/评价); the complainant's dissatisfied starts a second "
    "pass, a third party's is referred to the office",
)
def record_evaluation(
    case_id: UUID, body: EvaluationIn, follow_ups: FollowUps, principal: Evaluator
) -> FollowUpAnswer:
    """An evaluator's kind is its credential's: a body naming another answers ``422``."""
    return answered(
        follow_ups.evaluate(
            case_id,
            rating=body.rating.value,
            evaluator_kind=body.evaluator_kind.value if body.evaluator_kind else None,
            comment=body.comment,
            actor=principal.actor(),
            credential_kind=principal.kind,
        )
    )


@router.post(
    "/second-pass",
    status_code=201,
    response_model=FollowUpAnswer,
    summary="The office decides on a referred third-party dissatisfaction (二次办理 or not)",
)
def decide_second_pass(
    case_id: UUID, body: ReferralDecisionIn, follow_ups: FollowUps, principal: ReferralDecider
) -> FollowUpAnswer:
    actor = principal.actor()
    return answered(follow_ups.decide_referral(case_id, body.start, body.reason, actor))


@router.post(
    "/close-out",
    response_model=FollowUpAnswer,
    summary="Close the case out (销号); 409 lists what is still missing",
)
def close_out(case_id: UUID, follow_ups: FollowUps, principal: Closer) -> FollowUpAnswer:
    return answered(follow_ups.close_out(case_id, principal.actor()))


# --- the public portal: a reporter's evaluation by receipt --------------------------------

# Rate limited per client: receipt codes must not be guessable by trying (SPEC §4, issue 7).
public = APIRouter(
    prefix="/public/v1", tags=["public portal"], dependencies=[Depends(public_rate_limit)]
)
ReceiptCode = Annotated[str, Path(max_length=64)]
RECEIPT_ACTOR = {"id": "public:receipt", "name": "匿名举报人", "role": "public", "unit": None}
# A named reporter rating by the receipt (ADR 44): the complainant as well, never by name.
NAMED_RECEIPT_NAME = "实名举报人(凭回执码)"
LINKED = "public:receipt:merged"  # the reporter of a case merged into the one rated


@public.post(
    "/receipts/{code}/evaluation",
    status_code=201,
    summary="The reporter rates the handling by receipt code (as the complainant)",
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
    rated = await receipts.receipt_rated_case(code)
    if rated is None:
        raise errors.ReceiptNotFound()
    case_id, linked_from, named = rated
    # A merged case's reporter rates the original as its own complainant (ADR 20).
    actor = RECEIPT_ACTOR if linked_from is None else RECEIPT_ACTOR | {"id": LINKED}
    if named:
        actor = actor | {"name": NAMED_RECEIPT_NAME}
    try:
        recorded = await run_in_threadpool(
            follow_ups.evaluate,
            case_id,
            rating=body.rating.value,
            evaluator_kind=EvaluatorKind.COMPLAINANT.value,
            comment=body.comment,
            actor=actor,
            via_receipt=True,
            linked_from=linked_from,
        )
    except errors.FollowUpNotFound:
        raise errors.ReceiptNotFound() from None
    return {"status": recorded.status, "pass_no": recorded.pass_no}
