"""The public feedback portal's API (no sign-in): published results, and an anonymous
reporter's look-up by receipt code (the evaluation by receipt is the follow-up's).

A receipt code that is unknown, malformed or not yet on the ledger gets the same ``404``
with the same body, so no answer tells whether a case number exists.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Query, Response

from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.public import results
from services.tracking.ledger.schemas import PublicPage
from services.tracking.ledger.tables import ledger
from shared.platform.attachments import ALLOWED_TYPES, AttachmentMissing
from shared.web.problems import not_found
from shared.web.ranges import ranged
from shared.web.ratelimit import public_rate_limit

# Rate limited per client: receipt codes must not be guessable by trying (SPEC §4, issue 7).
router = APIRouter(
    prefix="/public/v1", tags=["public portal"], dependencies=[Depends(public_rate_limit)]
)

# The images and videos the office approved: addressed by the case number and the 64-hex keyed
# digest, nothing to guess, so not in the receipt look-ups' rate limit (a page of results shows
# many, and a <video> asks for its ranges one request at a time).
images = APIRouter(prefix="/public/v1", tags=["public portal"])

ReceiptCode = Annotated[str, Path(max_length=64)]
CaseNumber = Annotated[str, Path(max_length=20)]
Digest = Annotated[str, Path(max_length=64)]


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


@images.get(
    "/results/{number}/images/{digest}",
    summary="An image of a published result, as the office approved it for the public",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
async def published_image(
    number: CaseNumber, digest: Digest, reader: LedgerDep, session: ReadSession
) -> Response:
    """Only an image the office approved, of a case whose result is published: anything else
    (an unapproved or withdrawn image, another case's file, an unpublished case) is 404."""
    image, data = await _published(reader, session, number, digest, "images")
    return Response(content=data, media_type=image["media_type"], headers=_headers(image, "image"))


@images.get(
    "/results/{number}/videos/{digest}",
    summary="A video of a published result, as the office approved it (HTTP ranges for <video>)",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}},
        206: {"description": "The part a Range header asked for", "content": {"video/mp4": {}}},
        416: {"description": "The range starts past the end of the video"},
    },
)
async def published_video(
    number: CaseNumber,
    digest: Digest,
    reader: LedgerDep,
    session: ReadSession,
    range_: Annotated[str | None, Header(alias="Range", include_in_schema=False)] = None,
) -> Response:
    """The same 404 rules as an image's; the bytes cleaned of place, device and times."""
    video, data = await _published(reader, session, number, digest, "videos")
    return ranged(data, video["media_type"], range_, _headers(video, "video"))


async def _published(
    reader: LedgerDep, session: ReadSession, number: str, digest: str, kind: str
) -> tuple[dict[str, Any], bytes]:
    found = await results.published_image(session, number, digest, kind)
    if found is None:
        raise not_found("attachment")
    try:
        return found, await asyncio.to_thread(reader.attachments.get, digest)
    except AttachmentMissing:
        raise not_found("attachment") from None


def _headers(found: dict[str, Any], name: str) -> dict[str, str]:
    extension = ALLOWED_TYPES[found["media_type"]]
    return {
        "Content-Disposition": f'inline; filename="{name}-{found["n"]}.{extension}"',
        "X-Content-Type-Options": "nosniff",
        # A withdrawal shows within minutes in any cache between.
        "Cache-Control": "public, max-age=300",
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
