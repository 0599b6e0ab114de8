"""The evaluator's work list (回访/第三方评价, ADR 20): the cases awaiting evaluation, each with
what an evaluator needs to rate it — the summary, the accepted result and the feedback given —
and never the reporter (no content as typed, no name, no channel of contact).

``my_rating`` says whether this credential rated the case's current pass already (one rating
per evaluator per pass); the list is the evaluator's row scope (``queries.visible_to``).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.presentation import Context, label
from services.tracking.ledger.tables import case_history, ledger
from shared.contracts.vocabulary import (
    EVALUATOR_LABELS,
    FEEDBACK_LABELS,
    RATING_LABELS,
    CaseStatus,
    EvaluatorKind,
    FeedbackChannel,
    Rating,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require

router = APIRouter(prefix="/api/v1/evaluations", tags=["tracking"])
WorklistReader = Annotated[Principal, Depends(require(Action.READ_EVALUATION_WORKLIST))]

SHOWN = (
    ledger.c.case_id,
    ledger.c.number,
    ledger.c.summary,
    ledger.c.category,
    ledger.c.lead_unit,
    ledger.c.pass_no,
    ledger.c.result_findings,
    ledger.c.result_rectification,
    ledger.c.result_accepted_at,
    ledger.c.feedback,
)


@router.get("/worklist", summary="The cases this evaluator may rate (summary, result, feedback)")
async def worklist(
    reader: LedgerDep,
    session: ReadSession,
    principal: WorklistReader,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    ctx = await reader.context(session)
    waiting = ledger.c.status == CaseStatus.AWAITING_EVALUATION.value
    total = (await session.execute(sa.select(sa.func.count()).where(waiting))).scalar_one()
    rows = (
        await session.execute(
            sa.select(*SHOWN)
            .where(waiting)
            .order_by(ledger.c.result_accepted_at, ledger.c.number)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    mine = await _my_ratings(session, principal.id, [r.case_id for r in rows])
    items = [_item(dict(r._mapping), ctx, mine) for r in rows]
    return {
        "evaluator_kind": principal.kind,
        "evaluator_label": label(EVALUATOR_LABELS, EvaluatorKind, principal.kind),
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
    }


async def _my_ratings(
    session: AsyncSession, actor_id: str, case_ids: list[UUID]
) -> dict[tuple[UUID, int], str]:
    """(case, pass) → this evaluator's rating, from the audit trail."""
    if not case_ids:
        return {}
    found = await session.execute(
        sa.select(case_history.c.case_id, case_history.c.data).where(
            case_history.c.case_id.in_(case_ids),
            case_history.c.type == "EvaluationRecorded",
            case_history.c.actor_id == actor_id,
        )
    )
    return {(r.case_id, int(r.data.get("pass_no") or 1)): r.data["rating"] for r in found}


def _item(row: dict[str, Any], ctx: Context, mine: dict[tuple[UUID, int], str]) -> dict[str, Any]:
    rating = mine.get((row["case_id"], row["pass_no"]))
    feedback = [f for f in row["feedback"] or [] if f.get("pass_no") == row["pass_no"]]
    return {
        "case_id": row["case_id"],
        "number": row["number"],
        "summary": row["summary"],
        "category": row["category"],
        "lead_unit": ctx.unit(row["lead_unit"]),
        "pass_no": row["pass_no"],
        "result": {
            "findings": row["result_findings"],
            "rectification": row["result_rectification"],
            "accepted_at": row["result_accepted_at"],
        },
        "feedback": [
            {
                "channel": f["channel"],
                "channel_label": label(FEEDBACK_LABELS, FeedbackChannel, f["channel"]),
                "content": f["content"],
                "at": f["at"],
            }
            for f in feedback
        ],
        "my_rating": rating,
        "my_rating_label": label(RATING_LABELS, Rating, rating),
        "may_rate": rating is None,
    }
