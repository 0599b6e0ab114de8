"""问题分类 (the office keeps the category catalogue), the search box (a case number opens
that case; any other words search the ledger) and 待分办 (the triage desk)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.desk_pages import desk_page
from services.ui.render import page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)
CASE_NUMBER = re.compile(r"^\d{4}-\d{6}$")
CHANGES = ("renamed", "moved", "retired", "reinstated")


@router.get("/search")
async def search(request: Request, viewer: CurrentViewer) -> Response:
    q = request.query_params.get("q", "").strip()
    if CASE_NUMBER.match(q):
        found = await viewer.api.raw(f"/api/v1/cases/by-number/{q}")
        if found.status_code == 200:
            return RedirectResponse(f"/ui/cases/{found.json()['case_id']}", status_code=303)
    return RedirectResponse("/ui/ledger?" + urlencode({"q": q} if q else {}), status_code=303)


async def _catalogue_page(
    request: Request, viewer: Viewer, *, error: str | None = None, status: int = 200
) -> Response:
    found = await viewer.api.get("/api/v1/categories")
    return page(
        request,
        "categories.html",
        viewer,
        status=status,
        categories=found["items"],
        seed_version=found["seed_version"],
        manages=allowed(viewer.principal, Action.MANAGE_CATALOGUE),
        error=error,
    )


@router.get("/categories", response_class=HTMLResponse)
async def categories(request: Request, viewer: CurrentViewer) -> Response:
    return await _catalogue_page(request, viewer)


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await read_form(request)).items()}


async def _sent(request: Request, viewer: Viewer, path: str, body: dict[str, Any]) -> Response:
    try:
        await viewer.api.send("POST", path, body)
    except ApiRefusal as refusal:
        if refusal.status not in (403, 404, 409, 422):
            raise
        return await _catalogue_page(request, viewer, error=refusal.detail, status=refusal.status)
    return RedirectResponse("/ui/categories", status_code=303)


@router.post("/categories", response_class=HTMLResponse, dependencies=[Checked])
async def add_category(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    body = {"code": form.get("code", ""), "name": form.get("name", "")}
    if form.get("parent"):
        body["parent"] = form["parent"]
    return await _sent(request, viewer, "/api/v1/categories", body)


@router.post("/categories/{code}", response_class=HTMLResponse, dependencies=[Checked])
async def change_category(request: Request, viewer: CurrentViewer, code: str) -> Response:
    """One form per row: a new name, a new parent, or retire / reinstate."""
    form = await _form(request)
    change = form.get("change", "")
    body: dict[str, Any] = {"change": change if change in CHANGES else "renamed"}
    if body["change"] == "renamed":
        body["name"] = form.get("name", "")
    if body["change"] == "moved":
        body["parent"] = form.get("parent") or None
    return await _sent(request, viewer, f"/api/v1/categories/{code}/changes", body)


@router.get("/desk", response_class=HTMLResponse)
async def triage_desk(request: Request, viewer: CurrentViewer) -> Response:
    """待分办: the cases waiting for the office, named reports first, then the oldest, each
    with its routing rule's suggestion (``desk_pages``)."""
    return await desk_page(request, viewer)
