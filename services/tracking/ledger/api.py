"""The ledger's HTTP API (SPEC §6): the ledger, case views, the audit trail. Reports
(``reports.api``), the public portal (``public.api``) and Open311 (``open311``) are its other
routers; the follow-up's commands are the other wing's."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from services.tracking.ledger import history, queries
from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.presentation import case_view
from services.tracking.ledger.projection import NAME as LEDGER
from services.tracking.ledger.schemas import (
    AuditQuery,
    LedgerFilters,
    LedgerPage,
    LedgerQuery,
    Moment,
)
from services.tracking.ledger.workbook import XLSX, ledger_file, xlsx_response
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import not_found

router = APIRouter(prefix="/api/v1", tags=["tracking"])

LedgerReader = Annotated[Principal, Depends(require(Action.READ_LEDGER))]
CaseReader = Annotated[Principal, Depends(require(Action.READ_CASE))]
AuditReader = Annotated[Principal, Depends(require(Action.READ_AUDIT))]


def ledger_filter(params: LedgerFilters, timezone: str) -> queries.LedgerFilter:
    start, end = params.bounds(timezone)
    return queries.LedgerFilter(
        status=params.status,
        unit=params.unit,
        channel=params.channel,
        track=params.track,
        overdue=params.overdue,
        registered_from=start,
        registered_before=end,
        q=params.q,
    )


@router.get("/ledger", summary="The ledger (台账), filtered and paged")
async def read_ledger(
    params: Annotated[LedgerQuery, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: LedgerReader,
) -> LedgerPage:
    """The cases the caller may see, newest first. `total` is exact up to the count limit
    (1000 by default); past it `total` is the limit and `total_exact` is false."""
    ctx = await reader.context(session)
    f = ledger_filter(params, reader.settings.timezone)
    rows, total = await queries.ledger_page(
        session,
        principal,
        f,
        ctx.now,
        page=params.page,
        page_size=params.page_size,
        count_limit=reader.settings.ledger_count_limit,
    )
    return LedgerPage(
        items=[case_view(r, ctx, full=False) for r in rows],
        total=total.count,
        total_exact=total.exact,
        page=params.page,
        page_size=params.page_size,
    )


@router.get(
    "/ledger.xlsx",
    summary="The ledger as an Excel sheet, same filters",
    response_class=FileResponse,
    responses={200: {"content": {XLSX: {}}}},
)
async def export_ledger(
    params: Annotated[LedgerFilters, Query()],
    reader: LedgerDep,
    session: ReadSession,
    principal: LedgerReader,
) -> FileResponse:
    ctx = await reader.context(session)
    f = ledger_filter(params, reader.settings.timezone)
    path = await ledger_file(queries.ledger_rows(session, principal, f, ctx.now), ctx)
    day = f"{ctx.now.astimezone(ctx.calendar.timezone):%Y%m%d}"
    return xlsx_response(path, f"ledger-{day}.xlsx")


@router.get(
    "/ledger/positions",
    summary="How far the ledger has read each service's events (wait for a command's position)",
)
async def ledger_positions(session: ReadSession, _: LedgerReader) -> dict[str, int]:
    return await queries.positions(session, LEDGER)


@router.get("/cases/{case_id}", summary="A case as it stands (or stood: ?as_of=)")
async def read_case(
    case_id: UUID,
    reader: LedgerDep,
    session: ReadSession,
    principal: CaseReader,
    as_of: Moment | None = None,
) -> dict[str, Any]:
    row = await queries.case_row(session, principal, case_id)
    if row is None:
        raise not_found()
    ctx = await reader.context(session, as_of)
    if as_of is not None:
        row = history.replay(case_id, await queries.history(session, case_id, as_of))
        if row is None:
            raise not_found()
    return case_view(row, ctx) | {"as_of": as_of}


@router.get("/cases/{case_id}/history", summary="Every event of a case, in order")
async def read_history(
    case_id: UUID, session: ReadSession, principal: CaseReader
) -> dict[str, Any]:
    if await queries.case_row(session, principal, case_id) is None:
        raise not_found()
    events = await queries.history(session, case_id)
    return {"case_id": case_id, "items": [history.entry(e) for e in events]}


@router.get("/audit", summary="Search the audit trail (supervisors)")
async def search_audit(
    params: Annotated[AuditQuery, Query()],
    reader: LedgerDep,
    session: ReadSession,
    _: AuditReader,
) -> dict[str, Any]:
    start, end = params.bounds(reader.settings.timezone)
    f = queries.AuditFilter(params.actor, params.type, start, end)
    rows, total = await queries.audit_page(
        session,
        f,
        page=params.page,
        page_size=params.page_size,
        count_limit=reader.settings.ledger_count_limit,
    )
    return {
        "items": [history.entry(r) for r in rows],
        "total": total.count,
        "total_exact": total.exact,
        "page": params.page,
        "page_size": params.page_size,
    }
