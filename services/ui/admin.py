"""单位 / 分办规则 / 日历: the directory pages. Everyone who may read the directory sees them;
the forms are for the administrator, and the API refuses anyone else with its own message."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import office_now, page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)


def _manages(viewer: Viewer) -> bool:
    return allowed(viewer.principal, Action.MANAGE_DIRECTORY)


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await read_form(request)).items()}


# --- units -----------------------------------------------------------------------------------


async def _units_page(
    request: Request, viewer: Viewer, *, error: str | None = None, status: int = 200
) -> Response:
    units = (await viewer.api.get("/api/v1/units"))["items"]
    return page(
        request,
        "units.html",
        viewer,
        status=status,
        units=units,
        manages=_manages(viewer),
        error=error,
    )


@router.get("/units", response_class=HTMLResponse)
async def units(request: Request, viewer: CurrentViewer) -> Response:
    return await _units_page(request, viewer)


def _unit(form: dict[str, str]) -> dict[str, Any]:
    liaison = {k: form[f"liaison_{k}"] for k in ("name", "phone") if form.get(f"liaison_{k}")}
    body: dict[str, Any] = {"name": form.get("name", ""), "kind": form.get("kind", "")}
    body["liaisons"] = [liaison] if liaison.get("name") else []
    if form.get("parent"):
        body["parent"] = form["parent"]
    return body


@router.post("/units", response_class=HTMLResponse, dependencies=[Checked])
async def save_unit(request: Request, viewer: CurrentViewer) -> Response:
    """A new unit (``code`` given and unknown) or a change to one (``existing`` set)."""
    form = await _form(request)
    body = _unit(form)
    try:
        if form.get("existing"):
            body["active"] = form.get("active") == "true"
            await viewer.api.send("PUT", f"/api/v1/units/{form['existing']}", body)
        else:
            await viewer.api.send("POST", "/api/v1/units", body | {"code": form.get("code", "")})
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return await _units_page(request, viewer, error=refusal.detail, status=refusal.status)
    return RedirectResponse("/ui/units", status_code=303)


# --- routing rules ---------------------------------------------------------------------------


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, viewer: CurrentViewer) -> Response:
    found = await viewer.api.get("/api/v1/routing-rules")
    text = json.dumps(found["rules"], ensure_ascii=False, indent=2)
    return page(
        request, "rules.html", viewer, rules=found["rules"], text=text, manages=_manages(viewer)
    )


@router.post("/rules", response_class=HTMLResponse, dependencies=[Checked])
async def save_rules(request: Request, viewer: CurrentViewer) -> Response:
    """The rules are edited as one ordered JSON list, as the API takes them."""
    text = (await _form(request)).get("rules", "")
    try:
        try:
            parsed = json.loads(text)
        except ValueError as e:
            raise ApiRefusal(
                422, f"规则不是有效的 JSON(第 {getattr(e, 'lineno', '?')} 行)"
            ) from None
        await viewer.api.send("PUT", "/api/v1/routing-rules", {"rules": parsed})
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        current = (await viewer.api.get("/api/v1/routing-rules"))["rules"]
        return page(
            request,
            "rules.html",
            viewer,
            status=refusal.status,
            rules=current,
            text=text,
            manages=_manages(viewer),
            error=refusal.detail,
        )
    return RedirectResponse("/ui/rules", status_code=303)


# --- the year calendar -----------------------------------------------------------------------


def _year(request: Request, raw: str | None) -> int:
    if raw and raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return office_now(request).year


def _days(text: str) -> list[str]:
    return [d for d in text.replace(",", " ").replace(",", " ").split() if d]


async def _calendar_page(
    request: Request, viewer: Viewer, year: int, *, error: str | None = None, status: int = 200
) -> Response:
    answer = await viewer.api.raw(f"/api/v1/calendar/{year}")
    known = answer.json() if answer.status_code == 200 else None
    missing = None if known else ApiRefusal.of(answer).detail
    return page(
        request,
        "calendar.html",
        viewer,
        status=status,
        year=year,
        known=known,
        missing=missing,
        manages=_manages(viewer),
        error=error,
    )


@router.get("/calendar", response_class=HTMLResponse)
async def calendar(request: Request, viewer: CurrentViewer) -> Response:
    return await _calendar_page(request, viewer, _year(request, request.query_params.get("year")))


@router.post("/calendar", response_class=HTMLResponse, dependencies=[Checked])
async def load_year(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    year = _year(request, form.get("year"))
    body = {
        "holidays": _days(form.get("holidays", "")),
        "workdays": _days(form.get("workdays", "")),
    }
    try:
        await viewer.api.send("PUT", f"/api/v1/calendar/{year}", body)
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return await _calendar_page(
            request, viewer, year, error=refusal.detail, status=refusal.status
        )
    return RedirectResponse(f"/ui/calendar?year={year}", status_code=303)
