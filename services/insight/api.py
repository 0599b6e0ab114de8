"""Insight's API: duplicate suggestions for a case (the office only: they reveal other
reports) and the 苗头预警 of a period. Thin: one query of ``queries.py`` each."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from services.insight import errors, queries
from services.insight.deps import InsightDep, ReadSession
from services.insight.domain import Suggestion
from services.insight.schemas import (
    CaseSuggestions,
    SuggestionList,
    SuggestionOut,
    SuggestionsOfCases,
    WarningCase,
    WarningKey,
    WarningList,
    WarningOut,
)
from services.insight.warning import LEVELS, WARNING_DEFAULT
from shared.contracts.categories import BY_CODE
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.refusals import Refusal, Refusals, documented

REFUSALS: Refusals = {
    errors.NotSeen: Refusal(404, "case_not_seen", "尚未收到该案件的线索"),
    errors.BadPeriod: Refusal(422, "invalid_period", "期间无效"),
}
MAX_PERIOD_DAYS = 366
MAX_CASES_ASKED = 50  # a page of the triage desk

router = APIRouter(prefix="/api/v1", tags=["insight"], responses=documented(REFUSALS))

Suggester = Annotated[Principal, Depends(require(Action.READ_SUGGESTIONS))]
Watcher = Annotated[Principal, Depends(require(Action.READ_WARNINGS))]


@router.get(
    "/cases/{case_id}/suggestions",
    response_model=SuggestionList,
    summary="Open cases likely the same problem (疑似重复), best first, with the reason",
)
async def case_suggestions(case_id: UUID, session: ReadSession, who: Suggester) -> SuggestionList:
    found = await queries.suggestions(session, case_id)
    return SuggestionList(case_id=case_id, items=[_out(s) for s in found])


@router.get(
    "/suggestions",
    response_model=SuggestionsOfCases,
    summary="疑似重复 for several cases at once (the triage desk's page), as each case's own",
)
async def suggestions_of_cases(
    session: ReadSession,
    who: Suggester,
    case_id: Annotated[
        list[UUID],
        Query(min_length=1, max_length=MAX_CASES_ASKED, description="案件 id,可重复,至多 50 个"),
    ],
) -> SuggestionsOfCases:
    asked = list(dict.fromkeys(case_id))
    found = await queries.suggestions_for(session, asked)
    return SuggestionsOfCases(
        items=[
            CaseSuggestions(
                case_id=c, seen=found[c] is not None, items=[_out(s) for s in found[c] or []]
            )
            for c in asked
        ]
    )


def _out(s: Suggestion) -> SuggestionOut:
    return SuggestionOut(
        case_id=UUID(s.case_id),
        number=s.number,
        score=round(s.score, 3),
        text_similarity=round(s.text_similarity, 3),
        reason=s.reason,
    )


@router.get("/warnings", response_model=WarningList, summary="苗头预警 raised in a period")
async def period_warnings(
    insight: InsightDep,
    session: ReadSession,
    who: Watcher,
    first: Annotated[date | None, Query(alias="from", description="默认:30 天前")] = None,
    last: Annotated[date | None, Query(alias="to", description="默认:今天")] = None,
) -> WarningList:
    today = insight.now().astimezone(ZoneInfo(insight.settings.timezone)).date()
    last = last or today
    first = first or last - timedelta(days=29)
    if first > last:
        raise errors.BadPeriod("起始日期晚于截止日期 (from is after to)")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise errors.BadPeriod(
            f"期间不能超过 {MAX_PERIOD_DAYS} 天 (at most {MAX_PERIOD_DAYS} days)"
        )
    raised, numbers = await queries.warnings(session, first, last, insight.settings.timezone)
    return WarningList(
        first=first,
        last=last,
        rule=WARNING_DEFAULT.describe(),
        items=[
            WarningOut(
                category=w.category,
                category_label=BY_CODE[w.category].name if w.category in BY_CODE else w.category,
                keys=[WarningKey(level=k, level_label=LEVELS[k], value=v) for k, v in w.keys],
                day=w.day,
                count=w.count,
                expected=round(w.expected, 2),
                reason=w.reason,
                cases=[
                    WarningCase(case_id=UUID(c), number=numbers.get(c, ""))
                    for c in sorted(w.case_ids, key=lambda c: numbers.get(c, c))
                ],
            )
            for w in raised
        ],
    )
