"""案件: one case (summary, units, deadlines, timeline, the viewer's actions) and 登记."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.actions import BY_KEY, api_path, offered
from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)


async def _case_page(
    request: Request,
    viewer: Viewer,
    case_id: UUID,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    case = await viewer.api.get(f"/api/v1/cases/{case_id}")  # 404 outside the viewer's scope
    history = await viewer.api.get(f"/api/v1/cases/{case_id}/history")
    handling = await viewer.api.raw(f"/api/v1/cases/{case_id}/dispatch")
    units = await viewer.api.raw("/api/v1/units")
    done = request.query_params.get("done")
    return page(
        request,
        "case.html",
        viewer,
        status=status,
        case=case,
        timeline=history["items"],
        handling=handling.json() if handling.status_code == 200 else None,
        actions=offered(viewer.principal, case),
        units=units.json()["items"] if units.status_code == 200 else [],
        errors=errors or {},
        done=done,
        done_label=BY_KEY[done].label if done in BY_KEY else None,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    return await _case_page(request, viewer, case_id)


@router.post("/cases/{case_id}/actions/{key}", dependencies=[Checked])
async def act(case_id: UUID, key: str, request: Request, viewer: CurrentViewer) -> Response:
    """Run one action through the API; a refusal comes back beside its form."""
    action = BY_KEY.get(key)
    if action is None:
        raise ApiRefusal(404, f"没有名为 {key} 的操作 (no such action)")
    form = await read_form(request)
    fields: dict[str, Any] = dict(form) | {"measures": form.getlist("measures")}
    past = await viewer.api.history_length(str(case_id))
    try:
        await viewer.api.send("POST", api_path(action, str(case_id), fields), action.body(fields))
    except ApiRefusal as refusal:
        if refusal.status in (401, 404):
            raise
        errors = {key: refusal.detail}
        return await _case_page(request, viewer, case_id, errors=errors, status=refusal.status)
    await viewer.api.wait_for_ledger(str(case_id), past)
    return RedirectResponse(f"/ui/cases/{case_id}?done={key}", status_code=303)


# --- 登记: the office's own registrations (walk-ins, inspection findings) ------------------


@router.get("/intake", response_class=HTMLResponse)
async def intake_form(request: Request, viewer: CurrentViewer) -> Response:
    return page(request, "intake.html", viewer, allowed=_may_register(viewer), form={})


def _may_register(viewer: Viewer) -> bool:
    return allowed(viewer.principal, Action.REGISTER_TIP)


def _part(form: dict[str, str], prefix: str, *names: str) -> dict[str, str] | None:
    found = {n: form[prefix + n] for n in names if form.get(prefix + n)}
    return found or None


def _tip(form: dict[str, str]) -> dict[str, Any]:
    """The intake form as the API's tip body (blank fields left out)."""
    body: dict[str, Any] = {
        k: form[k] for k in ("channel", "content", "summary", "category") if form.get(k)
    }
    body["location"] = _part(form, "location_", "district", "street", "address")
    body["subject"] = _part(form, "subject_", "unit", "person", "position")
    named = form.get("reporter_named") == "true"
    body["reporter"] = {"anonymous": not named}
    if named:
        body["reporter"] |= _part(form, "reporter_", "name", "phone") or {}
    return {k: v for k, v in body.items() if v is not None}


@router.post("/intake", response_class=HTMLResponse, dependencies=[Checked])
async def register(request: Request, viewer: CurrentViewer) -> Response:
    form = {k: str(v).strip() for k, v in (await read_form(request)).items()}
    try:
        created = await viewer.api.send("POST", "/api/v1/tips", _tip(form))
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return page(
            request,
            "intake.html",
            viewer,
            status=refusal.status,
            allowed=_may_register(viewer),
            form=form,
            error=refusal.detail,
        )
    await viewer.api.wait_for_registration(str(created["case_id"]))
    return page(request, "registered.html", viewer, status=201, created=created)
