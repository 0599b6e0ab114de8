"""Statistics and reports (SPEC §4, §6): unit and channel KPIs, cases per status, the monthly
circular and the annual summary as Markdown, HTML or xlsx (``?format=`` or ``Accept``)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi import Path as PathParam

from services.tracking.ledger import audit
from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.presentation import Context, label
from services.tracking.ledger.reports import documents, kpis, summaries
from services.tracking.ledger.reports.summaries import Report
from services.tracking.ledger.schemas import Period
from services.tracking.ledger.workbook import xlsx_response
from shared.contracts.vocabulary import CHANNEL_LABELS, STATUS_LABELS, CaseStatus, Channel
from shared.web.auth import Principal
from shared.web.authz import Action, require

router = APIRouter(prefix="/api/v1", tags=["tracking: statistics"])

StatsReader = Annotated[Principal, Depends(require(Action.READ_STATS))]
ReportReader = Annotated[Principal, Depends(require(Action.READ_REPORTS))]
Format = Annotated[Literal["md", "html", "xlsx"] | None, Query(alias="format")]


async def _stats(
    by: str, period: Period, reader: LedgerDep, session: ReadSession, principal: Principal
) -> dict[str, Any]:
    ctx = await reader.context(session)
    start, end = period.bounds(reader.settings.timezone)
    groups = await kpis.kpis(session, principal, by, ctx.now, start, end)
    for group in groups:
        key = group.pop("key")
        if by == "unit":
            group["unit"] = ctx.unit(key)
        elif by == "category":  # the code for clients, the Chinese name for people
            group.update(category=key, category_name=ctx.category_name(key))
        else:
            group.update(channel=key, channel_label=label(CHANNEL_LABELS, Channel, key))
    return {"from": period.from_, "to": period.to, "items": groups}


@router.get("/stats/units", summary="KPIs per lead unit")
async def unit_stats(
    period: Annotated[Period, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: StatsReader,
) -> dict[str, Any]:
    return await _stats("unit", period, reader, session, principal)


@router.get("/stats/channels", summary="KPIs per channel")
async def channel_stats(
    period: Annotated[Period, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: StatsReader,
) -> dict[str, Any]:
    return await _stats("channel", period, reader, session, principal)


@router.get("/stats/categories", summary="KPIs per category (问题分类), with Chinese names")
async def category_stats(
    period: Annotated[Period, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: StatsReader,
) -> dict[str, Any]:
    return await _stats("category", period, reader, session, principal)


@router.get("/stats/statuses", summary="Cases per status, counted exactly")
async def status_stats(
    period: Annotated[Period, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: StatsReader,
) -> dict[str, Any]:
    start, end = period.bounds(reader.settings.timezone)
    counts = await kpis.by_status(session, principal, start, end)
    items = [
        {"status": s, "status_label": label(STATUS_LABELS, CaseStatus, s), "cases": n}
        for s, n in sorted(counts.items())
    ]
    return {"from": period.from_, "to": period.to, "items": items}


@router.get(
    "/reports/monthly/{month}",
    summary="The monthly circular (一月一通报)",
)
async def monthly_report(
    month: Annotated[str, PathParam(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$")],  # 2000-01 … 2099-12
    reader: LedgerDep,
    session: ReadSession,
    principal: ReportReader,
    format: Format = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    ctx = await reader.context(session)
    year, number = (int(p) for p in month.split("-"))
    report = await summaries.monthly(session, principal, year, number, ctx)
    await _exported(reader, principal, f"circular-{month}", format)
    return await _document(report, ctx, f"circular-{month}", format, accept)


@router.get(
    "/reports/annual/{year}",
    summary="The annual summary",
)
async def annual_report(
    year: Annotated[int, PathParam(ge=2000, le=2100)],
    reader: LedgerDep,
    session: ReadSession,
    principal: ReportReader,
    format: Format = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    ctx = await reader.context(session)
    report = await summaries.annual(session, principal, year, ctx)
    await _exported(reader, principal, f"annual-{year}", format)
    return await _document(report, ctx, f"annual-{year}", format, accept)


async def _exported(reader: Any, principal: Any, report: str, format: str | None) -> None:
    asked = {"report": report, "format": format or "negotiated"}
    await audit.record(reader, principal, audit.REPORT_EXPORTED, asked=asked)


async def _document(
    report: Report, ctx: Context, stem: str, requested: str | None, accept: str | None
) -> Response:
    chosen = documents.choose_format(requested, accept)
    if chosen == "xlsx":
        path = await asyncio.to_thread(documents.workbook, report, ctx)
        return xlsx_response(path, f"{stem}.xlsx")
    if chosen == "html":
        return Response(documents.html_page(report, ctx), media_type="text/html; charset=utf-8")
    return Response(
        documents.markdown(report, ctx),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{stem}.md"'},
    )
