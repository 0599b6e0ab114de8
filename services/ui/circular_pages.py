"""一月一通报 (issue 19 points 3–5): the office issues a month's circular once the month is
over, downloads it to edit (.docx) or print (.pdf) as issued, and publishes its 红黑榜 on the
public portal when it decides to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import office_now, page
from services.ui.session import CurrentViewer, Viewer, check_csrf
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)
REFUSED = (403, 404, 409, 422)


async def _circulars_page(
    request: Request, viewer: Viewer, year: int, *, error: str | None = None, status: int = 200
) -> Response:
    today = office_now(request)
    last = 12 if year < today.year else today.month if year == today.year else 0
    months: list[dict[str, Any]] = [
        {"month": f"{year}-{m:02d}", "label": f"{m}月", "circular": None, "current": False}
        for m in range(1, last + 1)
    ]
    for item in months:
        item["circular"] = await viewer.api.found(f"/api/v1/circulars/{item['month']}")
        item["current"] = item["month"] == f"{today.year}-{today.month:02d}"
    return page(
        request,
        "circulars.html",
        viewer,
        status=status,
        year=year,
        months=list(reversed(months)),
        decides=allowed(viewer.principal, Action.DECIDE_ASSESSMENT),
        error=error,
    )


@router.get("/circulars", response_class=HTMLResponse)
async def circulars(
    request: Request, viewer: CurrentViewer, year: int | None = Query(None, ge=2000, le=2100)
) -> Response:
    return await _circulars_page(request, viewer, year or office_now(request).year)


async def _sent(request: Request, viewer: Viewer, path: str, month: str) -> Response:
    year = int(month[:4]) if month[:4].isdigit() else office_now(request).year
    try:
        await viewer.api.send("POST", path)
    except ApiRefusal as refusal:
        if refusal.status not in REFUSED:
            raise
        return await _circulars_page(
            request, viewer, year, error=refusal.detail, status=refusal.status
        )
    return RedirectResponse(f"/ui/circulars?year={year}", status_code=303)


@router.post("/circulars/{month}", response_class=HTMLResponse, dependencies=[Checked])
async def issue(request: Request, viewer: CurrentViewer, month: str) -> Response:
    return await _sent(request, viewer, f"/api/v1/circulars/{month}", month)


@router.post("/circulars/{month}/honours", response_class=HTMLResponse, dependencies=[Checked])
async def publish_honours(request: Request, viewer: CurrentViewer, month: str) -> Response:
    return await _sent(request, viewer, f"/api/v1/circulars/{month}/honours", month)
