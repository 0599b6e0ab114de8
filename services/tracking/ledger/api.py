"""The ledger's HTTP API (SPEC §6): the ledger, case views, the audit trail. Reports
(``reports.api``), the public portal (``public.api``) and Open311 (``open311``) are its other
routers; the follow-up's commands are the other wing's."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from services.tracking.ledger import audit, history, queries
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
from shared.contracts.catalogue import Catalogue
from shared.platform.protection import Fingerprinter
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import invalid, not_found

router = APIRouter(prefix="/api/v1", tags=["tracking"])

LedgerReader = Annotated[Principal, Depends(require(Action.READ_LEDGER))]
CaseReader = Annotated[Principal, Depends(require(Action.READ_CASE))]
AuditReader = Annotated[Principal, Depends(require(Action.READ_AUDIT))]


def asked(params: LedgerFilters, reader: LedgerDep) -> dict[str, Any]:
    """What a search or an export asked, for the audit (its term keyed, ADR 26)."""
    return audit.asked_of(reader, params.model_dump(by_alias=True, exclude_none=True))


def ledger_filter(
    params: LedgerFilters, timezone: str, catalogue: Catalogue
) -> queries.LedgerFilter:
    start, end = params.bounds(timezone)
    return queries.LedgerFilter(
        categories=_categories(params.category, catalogue),
        district=params.district,
        person=params.person,
        named=None if params.reporter is None else params.reporter == "named",
        status=params.status,
        unit=params.unit,
        channel=params.channel,
        track=params.track,
        overdue=params.overdue,
        registered_from=start,
        registered_before=end,
        q=params.q,
    )


def _categories(value: str | None, catalogue: Catalogue) -> tuple[str, ...] | None:
    """A category's code and those below it; a value the catalogue does not know is a 422."""
    if value is None:
        return None
    code = catalogue.lookup(value)
    if code is None:
        near = catalogue.close_matches(value)
        hint = f";相近的类别:{'、'.join(near)}" if near else ""
        message = f"问题类别“{value}”不在分类目录中{hint}"
        raise invalid("category", message, code="unknown_category", matches=near)
    return tuple(catalogue.subtree(code))


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
    f = ledger_filter(params, reader.settings.timezone, ctx.categories)
    rows, total = await queries.ledger_page(
        session,
        principal,
        f,
        ctx.now,
        page=params.page,
        page_size=params.page_size,
        count_limit=reader.settings.ledger_count_limit,
    )
    await audit.record(reader, principal, audit.LEDGER_SEARCHED, asked=asked(params, reader))
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
    f = ledger_filter(params, reader.settings.timezone, ctx.categories)
    path = await ledger_file(queries.ledger_rows(session, principal, f, ctx.now), ctx)
    try:  # committed before the file leaves; refused (503) if it cannot be
        await audit.record(reader, principal, audit.LEDGER_EXPORTED, asked=asked(params, reader))
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    day = f"{ctx.now.astimezone(ctx.calendar.timezone):%Y%m%d}"
    return xlsx_response(path, f"ledger-{day}.xlsx")


@router.get(
    "/ledger/positions",
    summary="How far the ledger has read each service's events (wait for a command's position)",
)
async def ledger_positions(session: ReadSession, _: CaseReader) -> dict[str, int]:
    """Counters only (no case, no person): whoever may read a case may wait for its change."""
    return await queries.positions(session, LEDGER)


CaseNumber = Annotated[
    str, PathParam(pattern=r"^\d{4}-\d{6}$", description="案件编号, e.g. 2026-000002")
]


@router.get("/cases/by-number/{number}", summary="A case by its number (案件编号)")
async def read_case_by_number(
    number: CaseNumber, reader: LedgerDep, session: ReadSession, principal: CaseReader
) -> dict[str, Any]:
    row = await queries.case_row_by_number(session, principal, number)
    # A look by number is a look at the case (ADR 26); a number that names nothing this
    # reader may see is kept as asked, since there is no case to file it under.
    outcome = audit.NOT_FOUND if row is None else audit.SHOWN
    await audit.record(
        reader,
        principal,
        audit.CASE_VIEWED,
        case_id=None if row is None else row["case_id"],
        outcome=outcome,
        asked={"number": number},
    )
    if row is None:
        raise not_found()
    return case_view(row, await reader.context(session)) | {"as_of": None}


@router.get("/cases/{case_id}", summary="A case as it stands (or stood: ?as_of=)")
async def read_case(
    case_id: UUID,
    reader: LedgerDep,
    session: ReadSession,
    principal: CaseReader,
    as_of: Moment | None = None,
) -> dict[str, Any]:
    row = await queries.case_row(session, principal, case_id)
    ctx = await reader.context(session, as_of)
    if row is not None and as_of is not None:
        row = history.replay(case_id, await queries.history(session, case_id, as_of))
    outcome = audit.NOT_FOUND if row is None else audit.SHOWN
    when = {"as_of": as_of.isoformat()} if as_of is not None else {}
    await audit.record(
        reader, principal, audit.CASE_VIEWED, case_id=case_id, outcome=outcome, asked=when
    )
    if row is None:
        raise not_found()
    return case_view(row, ctx) | {"as_of": as_of}


@router.get("/cases/{case_id}/history", summary="Every event of a case, in order")
async def read_history(
    case_id: UUID, reader: LedgerDep, session: ReadSession, principal: CaseReader
) -> dict[str, Any]:
    visible = await queries.case_row(session, principal, case_id) is not None
    outcome = audit.SHOWN if visible else audit.NOT_FOUND
    await audit.record(
        reader, principal, audit.CASE_HISTORY_VIEWED, case_id=case_id, outcome=outcome
    )
    if not visible:
        raise not_found()
    events = await queries.history(session, case_id)
    shown = history.shown_to(principal, events)
    return {"case_id": case_id, "items": [history.entry(e) for e in shown]}


@router.get("/audit", summary="Search the audit trail: events and reads (supervisors)")
async def search_audit(
    params: Annotated[AuditQuery, Query()],
    reader: LedgerDep,
    session: ReadSession,
    _: AuditReader,
) -> dict[str, Any]:
    """Changes (every event of a case) and reads of protected data (ADR 26), newest first.
    ``term`` finds the searches for a term, matched by its keyed fingerprint."""
    await reader.read_audit.flush()  # the reads made until now are in the answer
    start, end = params.bounds(reader.settings.timezone)
    fingerprints = Fingerprinter(reader.secrets.fingerprint_keys)
    signatures = audit.term_signatures(fingerprints, params.term) if params.term else ()
    f = audit.AuditFilter(params.actor, params.type, start, end, params.case_id, signatures)
    rows, total = await audit.audit_page(
        session,
        f,
        page=params.page,
        page_size=params.page_size,
        count_limit=reader.settings.ledger_count_limit,
    )
    return {
        "items": [audit.entry(r) for r in rows],
        "total": total.count,
        "total_exact": total.exact,
        "page": params.page,
        "page_size": params.page_size,
    }
