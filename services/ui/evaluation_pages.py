"""待评价: an evaluator's work list (ADR 20) — the cases it may rate, each with the summary,
the accepted result and the feedback given, never the reporter; each links to the case page,
where the evaluation form records the rating under the credential's kind."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.ui.render import page
from services.ui.session import CurrentViewer

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/evaluations", response_class=HTMLResponse)
async def evaluations(request: Request, viewer: CurrentViewer, p: int = 1) -> Response:
    worklist = await viewer.api.get("/api/v1/evaluations/worklist", {"page": max(1, p)})
    return page(request, "evaluations.html", viewer, worklist=worklist)
