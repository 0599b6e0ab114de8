"""Documents the workbench hands out as the API produced them — 问责清单 Excel, the annual
assessment report, the month's circular, its live report — fetched with the viewer's own
credential (a browser's session cookie is not an API credential), so each download keeps the
viewer's scope and the API's audit of it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.ui.session import CurrentViewer

router = APIRouter(prefix="/ui/documents", include_in_schema=False)
Kind = Literal["docx", "pdf"]
Month = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get("/accountability.xlsx")
async def accountability_list(request: Request, viewer: CurrentViewer) -> Response:
    return await viewer.api.document("/api/v1/accountability.xlsx", dict(request.query_params))


@router.get("/assessment/{year}.{kind}")
async def assessment_report(year: int, kind: Kind, viewer: CurrentViewer) -> Response:
    return await viewer.api.document(f"/api/v1/assessments/{year}/report.{kind}")


@router.get("/circular/{month}.{kind}")
async def circular(kind: Kind, viewer: CurrentViewer, month: str = Month) -> Response:
    return await viewer.api.document(f"/api/v1/circulars/{month}/{kind}")


@router.get("/monthly/{month}")
async def monthly_report(viewer: CurrentViewer, month: str = Month) -> Response:
    return await viewer.api.document(f"/api/v1/reports/monthly/{month}")
