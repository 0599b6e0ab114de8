"""疑似重复 and 苗头预警 in the workbench (issue 25): the insight service's suggestions on the
case page with one-click 登记留存 (dispatch's merge, either way round), and the warnings on
the dashboard and their own page. The case page and the dashboard load these as fragments,
so neither waits for insight, and nobody without the right sees even an empty panel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.case_pages import case_page_with_errors
from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)
INTO_OTHER, INTO_THIS = "into_other", "into_this"
REASON_PREFIX = "系统提示疑似重复:"
POLLS = 5  # a tip registered a moment ago may not have reached insight yet


@router.get("/cases/{case_id}/suggestions", response_class=HTMLResponse)
async def suggestions_panel(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    """The case's likely duplicates, best first (the office only: they reveal other reports)."""
    if not allowed(viewer.principal, Action.READ_SUGGESTIONS):
        return page(request, "case_suggestions.html", viewer, shown=False)
    found = await viewer.api.raw(f"/api/v1/cases/{case_id}/suggestions")
    items = found.json()["items"] if found.status_code == 200 else []
    # Just registered: insight may not have the tip yet — say so and ask again shortly,
    # rather than "no duplicates" (the operator may still be on the phone with the reporter).
    attempt = int(a) if (a := request.query_params.get("attempt", "1")).isdigit() else POLLS
    pending = found.status_code == 404
    return page(
        request,
        "case_suggestions.html",
        viewer,
        shown=True,
        case_id=case_id,
        items=items,
        pending=pending,
        again=attempt + 1 if pending and attempt < POLLS else None,
        may_merge=allowed(viewer.principal, Action.MERGE),
    )


def merge_body(
    direction: str, case_id: UUID, other: UUID, reason: str
) -> tuple[str, dict[str, Any]]:
    """The merge as dispatch takes it: which case folds into which, and why."""
    source, target = (case_id, other) if direction == INTO_OTHER else (other, case_id)
    text = (REASON_PREFIX + reason)[:500]
    return f"/api/v1/cases/{source}/merge", {"into": str(target), "reason": text}


@router.post("/cases/{case_id}/suggestions/merge", dependencies=[Checked])
async def merge_suggested(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    """登记留存 in one click: this case into the suggested one (``into_other``), or the
    suggested one into this (``into_this``); a refusal comes back on the case page."""
    form = await read_form(request)
    direction = str(form.get("direction", ""))
    try:
        other = UUID(str(form.get("other", "")))
    except ValueError:
        raise ApiRefusal(422, "未指明疑似重复的案件 (no suggested case given)") from None
    if direction not in (INTO_OTHER, INTO_THIS):
        raise ApiRefusal(422, "合并方向无效 (direction must be into_other or into_this)")
    path, body = merge_body(direction, case_id, other, str(form.get("reason", "")).strip())
    folded = case_id if direction == INTO_OTHER else other
    return await _merge(request, viewer, case_id, folded, path, body)


async def _merge(
    request: Request, viewer: Viewer, case_id: UUID, folded: UUID, path: str, body: dict[str, Any]
) -> Response:
    mark = await viewer.api.mark()
    try:
        answer = await viewer.api.send("POST", path, body)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        errors = {"suggestions": refusal.detail}
        return await case_page_with_errors(request, viewer, case_id, errors, refusal.status)
    await viewer.api.wait_for_position(mark, answer, "dispatch")
    return RedirectResponse(f"/ui/cases/{case_id}?done=merge", status_code=303)


# --- the triage desk's column ----------------------------------------------------------------


@router.get("/desk/duplicates", response_class=HTMLResponse)
async def desk_duplicates(request: Request, viewer: CurrentViewer) -> Response:
    """待分办's 疑似重复 column, filled in after the desk is shown (one request for the page's
    cases; each cell the case page's own best suggestion). Cases insight has not seen yet are
    asked for again, a few times."""
    asked = request.query_params.getlist("case_id")[:50]
    attempt = int(a) if (a := request.query_params.get("attempt", "1")).isdigit() else POLLS
    if not asked or not allowed(viewer.principal, Action.READ_SUGGESTIONS):
        return HTMLResponse("")
    found = await viewer.api.raw("/api/v1/suggestions", params={"case_id": asked})
    cells = found.json()["items"] if found.status_code == 200 else []
    unseen = [c["case_id"] for c in cells if not c["seen"]]
    return page(
        request,
        "desk_duplicates.html",
        viewer,
        cells=cells,
        again=unseen if attempt < POLLS else [],
        attempt=attempt + 1,
    )


# --- 苗头预警 ----------------------------------------------------------------------------------


async def _warnings(viewer: Viewer) -> dict[str, Any] | None:
    if not allowed(viewer.principal, Action.READ_WARNINGS):
        return None
    answer: dict[str, Any] = await viewer.api.get("/api/v1/warnings")
    return answer


@router.get("/warnings/panel", response_class=HTMLResponse)
async def warnings_panel(request: Request, viewer: CurrentViewer) -> Response:
    """The dashboard's panel: the last 30 days' warnings, each with its cases."""
    return page(request, "warnings_panel.html", viewer, warnings=await _warnings(viewer))


@router.get("/warnings", response_class=HTMLResponse)
async def warnings_page(request: Request, viewer: CurrentViewer) -> Response:
    found = await _warnings(viewer)
    if found is None:
        raise ApiRefusal(403, "只有纠风办和纪委监察可以查看苗头预警 (office and supervisors only)")
    return page(request, "warnings.html", viewer, warnings=found)
