"""KPI of the two answers a named (实名) reporter is owed (issue 20): 受理告知 and 结果告知,
15 working days each (``ledger.reporter_answers``), over the named cases registered in a
period — how many were answered on time, late, or are still owed (and of those, overdue)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.presentation import Context
from services.tracking.ledger.queries import visible_to
from services.tracking.ledger.reporter_answers import ANSWER_WORKING_DAYS, owed_answers
from services.tracking.ledger.schemas import Period
from services.tracking.ledger.tables import ledger
from shared.web.auth import Principal
from shared.web.authz import Action, require

router = APIRouter(prefix="/api/v1", tags=["tracking: statistics"])
StatsReader = Annotated[Principal, Depends(require(Action.READ_STATS))]
KINDS = {"acceptance": "受理告知", "result": "结果告知"}


def tally(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and the on-time rate: on time ÷ (answered + owed past due); None when none is
    due yet."""
    on_time = sum(1 for a in answers if a["answered_at"] is not None and not a["overdue"])
    late = sum(1 for a in answers if a["answered_at"] is not None and a["overdue"])
    overdue = sum(1 for a in answers if a["answered_at"] is None and a["overdue"])
    pending = sum(1 for a in answers if a["answered_at"] is None and not a["overdue"])
    judged = on_time + late + overdue
    return {
        "owed": len(answers),
        "on_time": on_time,
        "late": late,
        "overdue": overdue,
        "pending": pending,
        "on_time_rate": round(on_time / judged, 4) if judged else None,
    }


async def answers_in(
    session: AsyncSession, principal: Principal, period: Period, ctx: Context, timezone: str
) -> dict[str, list[dict[str, Any]]]:
    start, end = period.bounds(timezone)
    query = sa.select(ledger).where(ledger.c.named.is_(True), visible_to(principal))
    if start is not None:
        query = query.where(ledger.c.registered_at >= start)
    if end is not None:
        query = query.where(ledger.c.registered_at < end)
    found: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for row in await session.execute(query):
        for answer in owed_answers(dict(row._mapping), ctx) or []:
            found[answer["kind"]].append(answer)
    return found


@router.get("/stats/reporter-answers", summary="实名举报人的两次答复: on time, late, owed")
async def reporter_answer_stats(
    period: Annotated[Period, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: StatsReader,
) -> dict[str, Any]:
    ctx = await reader.context(session)
    found = await answers_in(session, principal, period, ctx, reader.settings.timezone)
    items = [
        {"answer": kind, "answer_label": name, **tally(found[kind])} for kind, name in KINDS.items()
    ]
    return {
        "from": period.from_,
        "to": period.to,
        "working_days": ANSWER_WORKING_DAYS,
        "items": items,
    }
