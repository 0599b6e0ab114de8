"""The office's decision on a referred dissatisfaction (issue 20, ADR 20): a third party
(人大代表, 政协委员 …) rated the result 不满意; the office decides whether a second pass
(二次办理) starts, with its reason (tracking's ``POST …/second-pass``). The case page loads
the form as a fragment while the referral is pending; only who may decide sees it."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.case_pages import case_page_with_errors
from services.ui.client import ApiRefusal
from services.ui.render import office_now, page
from services.ui.session import CurrentViewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)
CHOICES = {"start": True, "decline": False}


@router.get("/cases/{case_id}/referral", response_class=HTMLResponse)
async def referral_form(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    shown = allowed(viewer.principal, Action.DECIDE_SECOND_PASS)
    return page(request, "case_referral.html", viewer, shown=shown, case_id=case_id)


@router.get("/answers/panel", response_class=HTMLResponse)
async def answers_panel(request: Request, viewer: CurrentViewer) -> Response:
    """The dashboard's panel: named reporters' two answers (受理告知, 结果告知), on time or not,
    over the cases registered in the last six months."""
    found = await viewer.api.raw("/api/v1/stats/reporter-answers", {"from": _since(request)})
    items = found.json()["items"] if found.status_code == 200 else None
    return page(request, "reporter_answers_panel.html", viewer, items=items)


def _since(request: Request) -> str:
    today = office_now(request).date()
    return (today - timedelta(days=183)).isoformat()


@router.post("/cases/{case_id}/referral", dependencies=[Checked])
async def decide_referral(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    """启动二次办理 or not, with the reason; a refusal comes back on the case page."""
    form = await read_form(request)
    decision = str(form.get("decision", ""))
    if decision not in CHOICES:
        raise ApiRefusal(422, "请选择是否启动二次办理 (decision must be start or decline)")
    body = {"start": CHOICES[decision], "reason": str(form.get("reason", "")).strip()}
    mark = await viewer.api.mark()
    try:
        answer = await viewer.api.send("POST", f"/api/v1/cases/{case_id}/second-pass", body)
    except ApiRefusal as refusal:
        if refusal.status in (401, 404):
            raise
        errors = {"referral": refusal.detail}
        return await case_page_with_errors(request, viewer, case_id, errors, refusal.status)
    await viewer.api.wait_for_position(mark, answer, "tracking")
    return RedirectResponse(f"/ui/cases/{case_id}?done=referral", status_code=303)
