"""The public feedback portal's API (no sign-in): published results, and an anonymous
reporter's look-up by receipt code (the evaluation by receipt is the follow-up's).

A receipt code that is unknown, malformed or not yet on the ledger gets the same ``404``
with the same body, so no answer tells whether a case number exists.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query

from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.public import results
from services.tracking.ledger.schemas import PublicPage
from services.tracking.ledger.tables import ledger
from shared.web.problems import not_found
from shared.web.ratelimit import public_rate_limit

# Rate limited per client: receipt codes must not be guessable by trying (SPEC §4, issue 7).
router = APIRouter(
    prefix="/public/v1", tags=["public portal"], dependencies=[Depends(public_rate_limit)]
)

ReceiptCode = Annotated[str, Path(max_length=64)]


@router.get("/results", summary="Published results (网上公示), redacted")
async def published_results(
    page: Annotated[PublicPage, Query()], reader: LedgerDep, session: ReadSession
) -> dict[str, Any]:
    ctx = await reader.context(session)
    rows, total = await results.published_page(session, page=page.page, page_size=page.page_size)
    return {
        "items": [results.published_result(r, ctx) for r in rows],
        "total": total,
        "page": page.page,
        "page_size": page.page_size,
    }


@router.get("/receipts/{code}", summary="Follow a case by its receipt code")
async def receipt(code: ReceiptCode, reader: LedgerDep, session: ReadSession) -> dict[str, Any]:
    row = await reader.receipt_case(session, code)
    if row is None:
        raise not_found("receipt")
    return results.receipt_status(row, await reader.original_of(session, row))


@router.get("/typical-cases", summary="Typical cases (典型案例) and benchmark cases (标杆案例)")
async def typical_cases(reader: LedgerDep, session: ReadSession) -> dict[str, Any]:
    """As the office published them: its title and text, measures, and names only where it
    decided to keep them. Nothing of the tip or the reporter."""
    found = await session.execute(
        sa.select(ledger.c.number, ledger.c.typical_case)
        .where(ledger.c.typical_case.is_not(None))
        .order_by(ledger.c.number.desc())
    )
    items = [{"number": r.number, **r.typical_case} for r in found]
    return {"items": items, "total": len(items)}
