"""待分办's one click (一键交办): the routing rule's suggestion beside a case, dispatched as
the rule says by the person who clicks (the API's ``dispatch-by-rule``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.post(
    "/desk/{case_id}/dispatch-by-rule",
    response_class=HTMLResponse,
    dependencies=[Depends(check_csrf)],
)
async def dispatch_by_rule(request: Request, viewer: CurrentViewer, case_id: str) -> Response:
    form = await read_form(request)
    body = {"rule_id": form.get("rule_id", "")}
    try:
        case = await viewer.api.send("POST", f"/api/v1/cases/{case_id}/dispatch-by-rule", body)
    except ApiRefusal as refusal:
        if refusal.status not in (403, 404, 409, 422):
            raise
        return await desk_page(request, viewer, error=refusal.detail, status=refusal.status)
    done = urlencode({"dispatched": case.get("number", ""), "unit": case.get("lead_unit", "")})
    return RedirectResponse(f"/ui/desk?{done}", status_code=303)


async def desk_page(
    request: Request, viewer: CurrentViewer, error: str | None = None, status: int = 200
) -> Response:
    """The desk with each case's suggestion (the rule's lead unit by name); a case just
    dispatched is left out while dispatch's read model catches up."""
    items = []
    try:
        items = (await viewer.api.get("/api/v1/triage-desk"))["items"]
    except ApiRefusal as refusal:
        if refusal.status != 403:
            raise
        error, status = refusal.detail, refusal.status
    dispatched = request.query_params.get("dispatched", "")
    units = await viewer.api.raw("/api/v1/units")
    names = {u["code"]: u["name"] for u in units.json()["items"]} if units.is_success else {}
    return page(
        request,
        "desk.html",
        viewer,
        status=status,
        items=[i for i in items if i["number"] != dispatched],
        error=error,
        unit_names=names,
        dispatched=dispatched,
        dispatched_to=names.get(request.query_params.get("unit", ""), ""),
        # 疑似重复 reveal other reports: the office's column only (insight_pages fills it)
        duplicates_shown=allowed(viewer.principal, Action.READ_SUGGESTIONS),
    )
