"""问责清单 and a person's record (issue 18): the list with its filters, and every decision
about one name (per unit and position) with the years it bars awards; and the procedure a
unit's assessment opened (004), with the office's decision forms while it is open."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.actions import accountability_body
from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)

FILTERS = ("year", "unit", "person", "measure", "liability", "trigger")


@router.get("/accountability", response_class=HTMLResponse)
async def accountability_list(request: Request, viewer: CurrentViewer) -> Response:
    filters = {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}
    found: dict[str, Any] = {"items": [], "total": 0}
    units: dict[str, Any] = {"items": []}
    error, status = None, 200
    try:
        found = await viewer.api.get("/api/v1/accountability", filters)
        units = await viewer.api.get("/api/v1/accountability/units")
    except ApiRefusal as refusal:
        if refusal.status not in (403, 422):
            raise
        error, status = refusal.detail, refusal.status
    return page(
        request,
        "accountability.html",
        viewer,
        status=status,
        filters=filters,
        items=found["items"],
        total=found["total"],
        unit_procedures=units["items"],
        error=error,
    )


@router.get("/accountability/persons", response_class=HTMLResponse)
async def person_record(request: Request, viewer: CurrentViewer) -> Response:
    name = request.query_params.get("name", "").strip()
    persons: list[dict[str, Any]] = []
    error, status = None, 200
    if name:
        try:
            persons = (await viewer.api.get("/api/v1/accountability/persons", {"name": name}))[
                "items"
            ]
        except ApiRefusal as refusal:
            if refusal.status not in (403, 422):
                raise
            error, status = refusal.detail, refusal.status
    return page(
        request, "person.html", viewer, status=status, asked=name, persons=persons, error=error
    )


Year = Annotated[int, Path(ge=2000, le=2100)]
REFUSED = (403, 404, 409, 422)


async def _unit_procedure_page(
    request: Request,
    viewer: Viewer,
    unit: str,
    year: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    found = await viewer.api.get(f"/api/v1/accountability/units/{unit}/{year}")
    return page(
        request,
        "unit_procedure.html",
        viewer,
        status=status,
        p=found,
        decides=allowed(viewer.principal, Action.DECIDE_ACCOUNTABILITY),
        error=error,
    )


@router.get("/accountability/units/{unit}/{year}", response_class=HTMLResponse)
async def unit_procedure(
    unit: str, year: Year, request: Request, viewer: CurrentViewer
) -> Response:
    return await _unit_procedure_page(request, viewer, unit, year)


@router.post(
    "/accountability/units/{unit}/{year}",
    response_class=HTMLResponse,
    dependencies=[Depends(check_csrf)],
)
async def decide_unit_procedure(
    unit: str, year: Year, request: Request, viewer: CurrentViewer
) -> Response:
    """The office's decision: a finding (``step=finding``) or no one accountable."""
    form = await read_form(request)
    base = f"/api/v1/accountability/units/{unit}/{year}"
    if form.get("step") == "no_accountability":
        path = f"{base}/no-accountability"
        body: dict[str, Any] = {
            k: form.get(k, "").strip() or None for k in ("reason", "decided_by", "decided_on")
        }
    else:
        path = base
        body = accountability_body(dict(form) | {"measures": form.getlist("measures")})
    try:
        await viewer.api.send("POST", path, body)
    except ApiRefusal as refusal:
        if refusal.status not in REFUSED:
            raise
        return await _unit_procedure_page(
            request, viewer, unit, year, error=refusal.detail, status=refusal.status
        )
    return RedirectResponse(f"/ui/accountability/units/{unit}/{year}", status_code=303)
