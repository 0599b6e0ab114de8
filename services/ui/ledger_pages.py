"""台账: the ledger page (the API's filters, overdue rows, countdown, pages) and its export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import page
from services.ui.session import CurrentViewer
from shared.contracts.wording import REPORTER_KIND_LABELS

router = APIRouter(prefix="/ui", include_in_schema=False)

FILTERS = (
    "status",
    "unit",
    "channel",
    "track",
    "overdue",
    "from",
    "to",
    "q",
    "category",
    "district",
    "person",
    "reporter",
)
PAGE_SIZE = 20


def chosen_filters(request: Request) -> dict[str, str]:
    return {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() else 1


def has_next_page(found: dict[str, Any], number: int) -> bool:
    """With an exact total, while pages remain; past the count limit (ADR 13) the total is a
    lower bound, so while this page came full."""
    if found["total_exact"]:
        return number * PAGE_SIZE < found["total"]
    return len(found["items"]) == PAGE_SIZE


@router.get("/ledger", response_class=HTMLResponse)
async def ledger(request: Request, viewer: CurrentViewer) -> Response:
    filters = chosen_filters(request)
    number = page_number(request)
    error, status = None, 200
    found: dict[str, Any] = {"items": [], "total": 0, "total_exact": True}
    try:
        found = await viewer.api.get(
            "/api/v1/ledger", filters | {"page": number, "page_size": PAGE_SIZE}
        )
    except ApiRefusal as refusal:
        if refusal.status not in (400, 403, 422):
            raise
        # A filter the API refused (say which, keep the form), or a role without the ledger
        # (an evaluator follows the links the office sends).
        error, status = refusal.detail, refusal.status
    units = await viewer.api.raw("/api/v1/units")
    catalogue = await viewer.api.raw("/api/v1/categories")
    context = {
        "filters": filters,
        "rows": found["items"],
        "total": found["total"],
        "total_exact": found["total_exact"],
        "page_no": number,
        "pages": max((found["total"] + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        "more": has_next_page(found, number),
        "query": urlencode(filters),
        "units": units.json()["items"] if units.status_code == 200 else [],
        "categories": catalogue.json()["items"] if catalogue.status_code == 200 else [],
        "error": error,
        "reporter_kinds": REPORTER_KIND_LABELS,
    }
    # htmx asks for the table alone when a filter changes; a plain visit gets the whole page.
    name = "ledger_table.html" if request.headers.get("HX-Request") else "ledger.html"
    return page(request, name, viewer, status=status, **context)


@router.get("/ledger.xlsx")
async def export(request: Request, viewer: CurrentViewer) -> Response:
    """导出Excel: the API's xlsx export with the page's filters, under the viewer's scope."""
    answer = await viewer.api.raw("/api/v1/ledger.xlsx", chosen_filters(request))
    if answer.status_code != 200:
        raise ApiRefusal.of(answer)
    headers = {
        k: v
        for k, v in answer.headers.items()
        if k.lower() in ("content-type", "content-disposition")
    }
    return Response(answer.content, headers=headers)
