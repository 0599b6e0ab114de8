"""问责清单 and a person's record (issue 18): the list with its filters, and every decision
about one name (per unit and position) with the years it bars awards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer

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
