"""The public feedback portal's API (no sign-in): published results, and an anonymous
reporter's look-up and evaluation by receipt code.

A receipt code that is unknown, malformed or not yet on the ledger gets the same ``404``
with the same body, so no answer tells whether a case number exists.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool

from services.tracking import public
from services.tracking.api_commands import refusals
from services.tracking.main import ReadSession, TrackingDep
from services.tracking.schemas import Page, PublicEvaluationIn
from shared.contracts.vocabulary import EvaluatorKind
from shared.web.problems import not_found
from shared.web.ratelimit import public_rate_limit

# Rate limited per client: receipt codes must not be guessable by trying (SPEC §4, issue 7).
router = APIRouter(
    prefix="/public/v1", tags=["public portal"], dependencies=[Depends(public_rate_limit)]
)

ReceiptCode = Annotated[str, Path(max_length=64)]
RECEIPT_ACTOR = {"id": "public:receipt", "name": "匿名举报人", "role": "public", "unit": None}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"content": {"application/problem+json": {}}, "description": "No such receipt"}
}


@router.get("/results", summary="Published results (网上公示), redacted")
async def published_results(
    page: Annotated[Page, Query()], tracking: TrackingDep, session: ReadSession
) -> dict[str, Any]:
    ctx = await tracking.context(session)
    rows, total = await public.published_page(session, page=page.page, page_size=page.page_size)
    return {
        "items": [public.published_result(r, ctx) for r in rows],
        "total": total,
        "page": page.page,
        "page_size": page.page_size,
    }


@router.get("/receipts/{code}", summary="Follow a case by its receipt code", responses=_NOT_FOUND)
async def receipt(code: ReceiptCode, tracking: TrackingDep, session: ReadSession) -> dict[str, Any]:
    row = await tracking.receipt_case(session, code)
    if row is None:
        raise not_found("receipt")
    return public.receipt_status(row)


@router.post(
    "/receipts/{code}/evaluation",
    status_code=201,
    summary="The anonymous reporter rates the handling",
    responses={**_NOT_FOUND, 409: {"content": {"application/problem+json": {}}}},
)
async def evaluate_by_receipt(
    code: ReceiptCode, body: PublicEvaluationIn, tracking: TrackingDep, session: ReadSession
) -> dict[str, Any]:
    row = await tracking.receipt_case(session, code)
    if row is None:
        raise not_found("receipt")
    with refusals(unknown="receipt"):
        recorded = await run_in_threadpool(
            tracking.app.evaluate,
            row["case_id"],
            rating=body.rating.value,
            evaluator_kind=EvaluatorKind.COMPLAINANT.value,
            comment=body.comment,
            actor=RECEIPT_ACTOR,
            via_receipt=True,
        )
    return {"status": recorded.status, "pass_no": recorded.pass_no}
