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
from shared.web.authz import Action, allowed

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
    liaison = {k: form[f"liaison_{k}"] for k in ("name",) if form.get(f"liaison_{k}")}
    body: dict[str, Any] = {"name": form.get("name", ""), "kind": form.get("kind", "")}
    body["liaisons"] = [liaison] if liaison.get("name") else []
    if form.get("parent"):
        body["parent"] = form["parent"]
    if form.get("head_name"):  # 单位负责人: a name, and its position if given
        head = {"name": form["head_name"], "position": form.get("head_position") or None}
        body["responsible_person"] = head
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

MATCH_FIELDS = ("categories", "districts", "streets", "channels", "keywords")


async def _rules_page(
    request: Request,
    viewer: Viewer,
    *,
    text: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    current = (await viewer.api.get("/api/v1/routing-rules"))["rules"]
    manages = _manages(viewer)
    units = (await viewer.api.get("/api/v1/units"))["items"] if manages else []
    return page(
        request,
        "rules.html",
        viewer,
        status=status,
        rules=current,
        units=[u for u in units if u.get("active", True)],
        text=json.dumps(current, ensure_ascii=False, indent=2) if text is None else text,
        manages=manages,
        error=error,
    )


async def _replace_rules(
    request: Request, viewer: Viewer, change: Any, *, text: str | None = None
) -> Response:
    """Apply ``change`` (current rules → new rules) and PUT the whole list, as the API takes
    it; a refusal is shown above the rules, which stay as they were."""
    try:
        current = (await viewer.api.get("/api/v1/routing-rules"))["rules"]
        await viewer.api.send("PUT", "/api/v1/routing-rules", {"rules": change(current)})
    except ApiRefusal as refusal:
        if refusal.status == 401:
            raise
        return await _rules_page(
            request, viewer, text=text, error=refusal.detail, status=refusal.status
        )
    return RedirectResponse("/ui/rules", status_code=303)


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, viewer: CurrentViewer) -> Response:
    return await _rules_page(request, viewer)


def _words(text: str) -> list[str]:
    """A list typed as the office writes it: separated by 、 , , ; ; or spaces."""
    for separator in "、,,;;":
        text = text.replace(separator, " ")
    return [w for w in text.split() if w]


def _rule(form: dict[str, str]) -> dict[str, Any]:
    return {
        "id": form.get("id", ""),
        "name": form.get("name", ""),
        "match": {field: _words(form.get(field, "")) for field in MATCH_FIELDS},
        "lead_unit": form.get("lead_unit", ""),
        "co_units": _words(form.get("co_units", "")),
        "track": form.get("track", ""),
    }


@router.post("/rules/add", response_class=HTMLResponse, dependencies=[Checked])
async def add_rule(request: Request, viewer: CurrentViewer) -> Response:
    """One rule from the form's fields, at the position asked for (1 = first; else last)."""
    form = await _form(request)
    rule = _rule(form)
    position = form.get("position", "")

    def insert(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        at = int(position) - 1 if position.isdigit() and int(position) >= 1 else len(current)
        return [*current[:at], rule, *current[at:]]

    return await _replace_rules(request, viewer, insert)


@router.post("/rules/{rule_id}/up", response_class=HTMLResponse, dependencies=[Checked])
async def move_rule_up(request: Request, viewer: CurrentViewer, rule_id: str) -> Response:
    """Rules match in order: moving one up lets it win over the one before it."""

    def up(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [r["id"] for r in current]
        if rule_id not in ids:
            raise ApiRefusal(404, f"没有规则 {rule_id}")
        i = ids.index(rule_id)
        if i > 0:
            current[i - 1], current[i] = current[i], current[i - 1]
        return current

    return await _replace_rules(request, viewer, up)


@router.post("/rules/{rule_id}/edit", response_class=HTMLResponse, dependencies=[Checked])
async def edit_rule(request: Request, viewer: CurrentViewer, rule_id: str) -> Response:
    """One rule changed where it stands (its id and position kept)."""
    rule = _rule(await _form(request)) | {"id": rule_id}

    def edited(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if rule_id not in {r["id"] for r in current}:
            raise ApiRefusal(404, f"没有规则 {rule_id}")
        return [rule if r["id"] == rule_id else r for r in current]

    return await _replace_rules(request, viewer, edited)


@router.post("/rules/{rule_id}/delete", response_class=HTMLResponse, dependencies=[Checked])
async def delete_rule(request: Request, viewer: CurrentViewer, rule_id: str) -> Response:
    def without(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if rule_id not in {r["id"] for r in current}:
            raise ApiRefusal(404, f"没有规则 {rule_id}")
        return [r for r in current if r["id"] != rule_id]

    return await _replace_rules(request, viewer, without)


@router.post("/rules", response_class=HTMLResponse, dependencies=[Checked])
async def save_rules(request: Request, viewer: CurrentViewer) -> Response:
    """The whole ordered list as JSON, as the API takes it (for many changes at once)."""
    text = (await _form(request)).get("rules", "")

    def parsed(_: list[dict[str, Any]]) -> Any:
        try:
            return json.loads(text)
        except ValueError as e:
            raise ApiRefusal(
                422, f"规则不是有效的 JSON(第 {getattr(e, 'lineno', '?')} 行)"
            ) from None

    return await _replace_rules(request, viewer, parsed, text=text)


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
