"""考核: the year's assessment ranking with grades, and one unit's breakdown with the case
numbers behind each figure (read from ``/api/v1/assessments``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.ui.render import office_now, page
from services.ui.session import CurrentViewer

router = APIRouter(prefix="/ui", include_in_schema=False)

FIGURES = {
    "signed_on_time": "按期签收",
    "unsigned_past_deadline": "逾期未签收",
    "completed_on_time": "按期办结",
    "late_without_result": "逾期未办结",
    "complainant_evaluations": "群众评价",
    "third_party_evaluations": "第三方评价",
    "returns": "退单",
}


@router.get("/assessment", response_class=HTMLResponse)
async def assessment(
    request: Request, viewer: CurrentViewer, year: int | None = Query(None, ge=2000, le=2100)
) -> Response:
    chosen = year or office_now(request).year
    ranking = await viewer.api.get(f"/api/v1/assessments/{chosen}")  # refusals: ui/__init__
    return page(request, "assessment.html", viewer, year=chosen, items=ranking["items"])


@router.get("/assessment/{year}/{unit}", response_class=HTMLResponse)
async def assessment_unit(
    request: Request, viewer: CurrentViewer, year: int, unit: str
) -> Response:
    found = await viewer.api.get(f"/api/v1/assessments/{year}/{unit}")
    return page(request, "assessment_unit.html", viewer, year=year, a=found, figures=FIGURES)
