"""案件: one case (summary, units, deadlines, timeline, the viewer's actions) and 登记."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import ImmutableMultiDict, UploadFile

from services.ui.actions import BY_KEY, api_path, offered
from services.ui.client import ApiRefusal, source_of
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
    reporter: dict[str, Any] | None = None,
    drafts: dict[str, dict[str, Any]] | None = None,
) -> Response:
    case = await viewer.api.get(f"/api/v1/cases/{case_id}")  # 404 outside the viewer's scope
    history = await viewer.api.get(f"/api/v1/cases/{case_id}/history")
    handling = await viewer.api.raw(f"/api/v1/cases/{case_id}/dispatch")
    units = await viewer.api.raw("/api/v1/units")
    files = await viewer.api.raw(f"/api/v1/cases/{case_id}/attachments")
    deliveries = None
    if allowed(viewer.principal, Action.READ_DELIVERIES):
        log = await viewer.api.raw(f"/api/v1/cases/{case_id}/notifications")
        deliveries = log.json()["items"] if log.status_code == 200 else None
    procedure = None
    if allowed(viewer.principal, Action.READ_ACCOUNTABILITY):
        found = await viewer.api.raw(f"/api/v1/cases/{case_id}/accountability")
        procedure = found.json() if found.status_code == 200 else None
    may_reveal = case.get("named") and allowed(viewer.principal, Action.VIEW_REPORTER)
    sms_notices = None
    if may_reveal:  # whether the reporter was texted: the office sees it, never the phone
        found = await viewer.api.raw(f"/api/v1/tips/{case_id}/reporter-notices")
        sms_notices = found.json() if found.status_code == 200 else None
    done = request.query_params.get("done")
    return page(
        request,
        "case.html",
        viewer,
        status=status,
        case=case,
        timeline=history["items"],
        handling=handling.json() if handling.status_code == 200 else None,
        procedure=procedure,
        attachments=files.json()["items"] if files.status_code == 200 else None,
        may_attach=allowed(viewer.principal, Action.ATTACH_FILE),
        may_publish=allowed(viewer.principal, Action.PUBLISH_IMAGE),
        deliveries=deliveries,
        actions=offered(viewer.principal, case | {"procedure": procedure}),
        units=units.json()["items"] if units.status_code == 200 else [],
        errors=errors or {},
        drafts=drafts or {},
        may_reveal=may_reveal,
        reporter=reporter,
        sms_notices=sms_notices,
        may_record_consent=may_reveal and allowed(viewer.principal, Action.RECORD_SMS_CONSENT),
        done=done,
        done_label=BY_KEY[done].label if done in BY_KEY else None,
    )


async def case_page_with_errors(
    request: Request, viewer: Viewer, case_id: UUID, errors: dict[str, str], status: int
) -> Response:
    """The case page again with a refusal beside the form it answers (the upload form)."""
    return await _case_page(request, viewer, case_id, errors=errors, status=status)


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
    path = api_path(action, str(case_id), fields)
    mark = await viewer.api.mark()  # not the case's history: that read is audited (ADR 26)
    try:
        answer = await viewer.api.send("POST", path, action.body(fields))
    except ApiRefusal as refusal:
        if refusal.status in (401, 404):
            raise
        errors = {key: refusal.detail}
        drafts = {key: _draft(fields, refusal)}
        return await _case_page(
            request, viewer, case_id, errors=errors, status=refusal.status, drafts=drafts
        )
    await viewer.api.wait_for_position(mark, answer, source_of(path))
    return RedirectResponse(f"/ui/cases/{case_id}?done={key}", status_code=303)


@router.post("/cases/{case_id}/reporter", dependencies=[Checked])
async def reveal_reporter(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    """The named reporter's contacts, on an explicit request with a reason: intake records who
    looked and why (``ReporterIdentityViewed``, in the audit trail). Shown in this answer only
    (no redirect, ``no-store``): reloading the page hides them again."""
    reason = str((await read_form(request)).get("reason", "")).strip()
    try:
        identity = await viewer.api.send(
            "POST", f"/api/v1/tips/{case_id}/reporter-views", {"reason": reason}
        )
    except ApiRefusal as refusal:
        if refusal.status in (401, 403):
            raise
        errors = {"reveal": refusal.detail}
        return await _case_page(request, viewer, case_id, errors=errors, status=refusal.status)
    return await _case_page(request, viewer, case_id, reporter=identity)


@router.post("/cases/{case_id}/reporter-sms-consent", dependencies=[Checked])
async def record_sms_consent(case_id: UUID, request: Request, viewer: CurrentViewer) -> Response:
    """撤回/恢复短信告知: the reporter's later word (by phone), recorded on the tip by intake
    with who and when; a refusal (anonymous, no phone) comes back beside the form."""
    form = await read_form(request)
    reason = str(form.get("reason", "")).strip() or None
    body = {"consent": form.get("consent") == "true", "reason": reason}
    try:
        await viewer.api.send("PUT", f"/api/v1/tips/{case_id}/sms-consent", body)
    except ApiRefusal as refusal:
        if refusal.status in (401, 403, 404):
            raise
        errors = {"sms_consent": refusal.detail}
        return await _case_page(request, viewer, case_id, errors=errors, status=refusal.status)
    return RedirectResponse(f"/ui/cases/{case_id}#reporter-sms", status_code=303)


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
    if form.get("origin_level"):
        body["origin"] = _part(form, "origin_", "level", "body")
    named = form.get("reporter_named") == "true"
    body["reporter"] = {"anonymous": not named}
    if named:
        body["reporter"] |= _part(form, "reporter_", "name", "phone") or {}
        if form.get("reporter_sms_consent") == "true":  # 同意短信告知 (ADR 37): never assumed
            body["reporter"]["sms_consent"] = True
    return {k: v for k, v in body.items() if v is not None}


@router.post("/intake", response_class=HTMLResponse)
async def register(request: Request, viewer: CurrentViewer) -> Response:
    """登记, with the tip's evidence when files are chosen (one request: a refused file
    registers nothing)."""
    posted = await request.form()
    fields = {k: v for k, v in posted.multi_items() if isinstance(v, str)}
    request.state.form = ImmutableMultiDict(fields)  # the CSRF check reads the text fields
    await check_csrf(request)
    form = {k: v.strip() for k, v in fields.items()}
    files = [
        v
        for k, v in posted.multi_items()
        if k == "files" and isinstance(v, UploadFile) and v.filename
    ]
    mark = await viewer.api.mark()
    try:
        parts = [(f.filename or "file", await f.read(), "application/octet-stream") for f in files]
        created, position = await viewer.api.register(_tip(form), parts)
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
    await viewer.api.wait_for_registration(str(created["case_id"]), mark, position)
    return page(
        request,
        "registered.html",
        viewer,
        status=201,
        created=created,
        named=form.get("reporter_named") == "true",
        portal_url=request.app.state.runtime.settings.portal_url,
        suggestions_shown=allowed(viewer.principal, Action.READ_SUGGESTIONS),
    )


def _draft(fields: dict[str, Any], refusal: ApiRefusal) -> dict[str, Any]:
    """What the form showed, to show again beside the refusal; for public wording that still
    carried particulars, the masked text the API suggests, for the office to read and approve."""
    draft: dict[str, Any] = {k: v for k, v in fields.items() if isinstance(v, str) and k != "csrf"}
    if refusal.body.get("suggested"):
        draft["content"] = refusal.body["suggested"]
        draft["flagged"] = refusal.body.get("flags") or []
    return draft
