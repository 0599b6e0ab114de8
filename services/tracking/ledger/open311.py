"""Open311 GeoReport v2, tracking's part (ADR 10): following service requests in the ledger.

Public like the feedback portal (no api_key, rate-limited per client), so it shows only what a
311 client may see: cases filed through Open311 and cases already published (网上公示); of
those, the number, category, status, the lead unit, dates, the district, the place to about
100 m and the published summary — never the tip as filed, the reporter, or a person under
investigation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.tracking.ledger.deps import LedgerDep, ReadSession
from services.tracking.ledger.presentation import Context, label
from services.tracking.ledger.reader import Ledger
from services.tracking.ledger.rows import Row
from services.tracking.ledger.tables import ledger
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    FEEDBACK_LABELS,
    STATUS_LABELS,
    CaseStatus,
    Channel,
    FeedbackChannel,
)
from shared.web.open311 import (
    MAX_REQUESTS,
    PREFIX,
    RESPONSES,
    WINDOW_DAYS,
    Format,
    Open311Route,
    bad_request,
    listed,
    moment,
    not_found,
    parse_moment,
    render,
    response_format,
)
from shared.web.ratelimit import public_rate_limit

router = APIRouter(
    prefix=PREFIX,
    tags=["open311"],
    route_class=Open311Route,
    responses=RESPONSES,
    dependencies=[Depends(public_rate_limit)],
)

# Open311 knows open and closed: a case is closed once it leaves the ledger's open list.
CLOSED = (CaseStatus.CLOSED_OUT.value, CaseStatus.MERGED.value, CaseStatus.NOT_ACCEPTED.value)
OPEN311_STATUSES = ("open", "closed")
PUBLIC_FEEDBACK = (FeedbackChannel.ONLINE_PUBLICATION.value, FeedbackChannel.MEDIA_RESPONSE.value)
SHOWN = [
    ledger.c[name]
    for name in (
        "number",
        "category",
        "summary",
        "district",
        "lat",
        "lon",
        "lead_unit",
        "status",
        "feedback",
        "registered_at",
        "updated_at",
        "closed_out_at",
        "handle_deadline",
        "channel",
    )
]
# Comma-delimited where the spec allows several values; W3C times for the dates.
Argument = Annotated[str | None, Query(max_length=20_000)]
VISIBLE = (ledger.c.channel == Channel.OPEN311.value) | ledger.c.published_at.is_not(None)


@dataclass(frozen=True)
class RequestFilter:
    """GET requests' arguments, checked (spec: service_request_id overrides all others)."""

    numbers: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        if self.numbers:
            return [ledger.c.number.in_(self.numbers)]
        found = [ledger.c.registered_at >= self.start, ledger.c.registered_at <= self.end]
        if self.service_codes:
            found.append(ledger.c.category.in_(self.service_codes))
        if self.statuses == ("closed",):
            found.append(ledger.c.status.in_(CLOSED))
        elif self.statuses == ("open",):
            found.append(ledger.c.status.not_in(CLOSED))
        return found


@router.get("/requests.{format}", summary="Open311: service requests (public)")
async def service_requests(
    format: Format,
    reader: LedgerDep,
    session: ReadSession,
    service_request_id: Argument = None,
    service_code: Argument = None,
    start_date: Argument = None,
    end_date: Argument = None,
    status: Argument = None,
    extensions: Argument = None,
) -> Response:
    fmt = response_format(format)
    params = {
        "service_request_id": service_request_id,
        "service_code": service_code,
        "start_date": start_date,
        "end_date": end_date,
        "status": status,
    }
    ctx = await reader.context(session)
    f = request_filter(params, reader.now(), _zone(reader), ctx)
    rows = await open311_rows(session, f)
    extended = wants_extensions(extensions)
    return render(fmt, "service_requests", [service_request(r, ctx, extended) for r in rows])


@router.get(
    "/requests/{service_request_id}.{format}", summary="Open311: one service request (public)"
)
async def one_service_request(
    format: Format,
    service_request_id: str,
    reader: LedgerDep,
    session: ReadSession,
    extensions: Argument = None,
) -> Response:
    fmt = response_format(format)
    rows = await open311_rows(session, RequestFilter(numbers=(service_request_id,)))
    if not rows:
        raise not_found(f"没有找到服务请求 {service_request_id} (service_request_id not found)")
    ctx = await reader.context(session)
    extended = wants_extensions(extensions)
    return render(fmt, "service_requests", [service_request(rows[0], ctx, extended)])


def wants_extensions(value: str | None) -> bool:
    """Chicago's convention: ``extensions=true`` adds ``extended_attributes`` to each request."""
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise bad_request("extensions 只能是 true 或 false (extensions must be true or false)")


def request_filter(
    params: dict[str, str | None], now: datetime, zone: ZoneInfo, ctx: Context
) -> RequestFilter:
    numbers = tuple(listed(params.get("service_request_id")))
    if numbers:
        return RequestFilter(numbers=numbers[:MAX_REQUESTS])
    statuses = tuple(sorted(set(listed(params.get("status")))))
    if unknown := [s for s in statuses if s not in OPEN311_STATUSES]:
        raise bad_request(f"status 只能是 open 或 closed,收到 {','.join(unknown)} (invalid status)")
    codes = tuple(listed(params.get("service_code")))
    if unknown := [c for c in codes if ctx.categories.find(c) is None]:  # retired ones too
        raise bad_request(f"service_code 不存在:{','.join(unknown)} (unknown service_code)")
    start, end = _window(params.get("start_date"), params.get("end_date"), now, zone)
    return RequestFilter(
        service_codes=codes, statuses=statuses if len(statuses) == 1 else (), start=start, end=end
    )


async def open311_rows(session: AsyncSession, f: RequestFilter) -> list[Row]:
    query = (
        sa.select(*SHOWN)
        .where(VISIBLE, *f.conditions())
        .order_by(ledger.c.registered_at.desc(), ledger.c.number.desc())
        .limit(MAX_REQUESTS)
    )
    return [dict(r._mapping) for r in await session.execute(query)]


def service_request(row: Row, ctx: Context, extended: bool = False) -> dict[str, Any]:
    zone = ctx.calendar.timezone
    closed = row["status"] in CLOSED
    lead = ctx.unit(row.get("lead_unit"))
    return {
        "service_request_id": row["number"],
        "status": "closed" if closed else "open",
        "status_notes": status_notes(row),
        "service_name": ctx.category_name(row.get("category")),
        "service_code": row.get("category"),
        "description": row.get("summary"),  # the summary only: the tip as filed stays inside
        "agency_responsible": lead["name"] if lead else None,
        "service_notice": None,
        "requested_datetime": moment(row.get("registered_at"), zone),
        "updated_datetime": moment(
            (row.get("closed_out_at") if closed else None) or row.get("updated_at"), zone
        ),
        "expected_datetime": moment(row.get("handle_deadline"), zone),
        "address": row.get("district"),
        "lat": public_coordinate(row.get("lat")),
        "long": public_coordinate(row.get("lon")),
    } | ({"extended_attributes": extended_attributes(row, ctx)} if extended else {})


def public_coordinate(value: float | None) -> float | None:
    """A coordinate to three decimals (about 100 m): enough to find the problem on a map, not
    the doorstep of a reporter who gave their own address."""
    return None if value is None else round(value, 3)


def extended_attributes(row: Row, ctx: Context) -> dict[str, Any]:
    """The channel and each answer published to the public, as status notes (the published
    feedback only: the unit's findings and the office's notes stay inside)."""
    published = [f for f in row.get("feedback") or [] if f["channel"] in PUBLIC_FEEDBACK]
    return {
        "channel": row.get("channel"),
        "channel_label": label(CHANNEL_LABELS, Channel, row.get("channel")),
        "status_label": label(STATUS_LABELS, CaseStatus, row["status"]) or row["status"],
        "notes": [
            {
                "datetime": moment(datetime.fromisoformat(f["at"]), ctx.calendar.timezone),
                "type": f["channel"],
                "summary": label(FEEDBACK_LABELS, FeedbackChannel, f["channel"]),
                "description": f["content"],
            }
            for f in sorted(published, key=lambda f: str(f["at"]))
        ],
    }


def status_notes(row: Row) -> str:
    """The status in Chinese and the latest answer published to the public."""
    notes = label(STATUS_LABELS, CaseStatus, row["status"]) or row["status"]
    published = [f for f in row.get("feedback") or [] if f["channel"] in PUBLIC_FEEDBACK]
    if published:
        notes += ":" + max(published, key=lambda f: str(f["at"]))["content"]
    return notes


def _window(
    start_text: str | None, end_text: str | None, now: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """start_date..end_date, at most 90 days; an end alone looks back 90 days, a start alone
    forward, neither means the most recent 90 days."""
    window = timedelta(days=WINDOW_DAYS)
    start = parse_moment("start_date", start_text, zone) if start_text else None
    end = parse_moment("end_date", end_text, zone) if end_text else None
    if start is None and end is None:
        return now - window, now
    if start is None:
        assert end is not None
        return end - window, end
    if end is None:
        return start, start + window
    if end < start:
        raise bad_request("end_date 早于 start_date (end_date is before start_date)")
    if end - start > window:
        raise bad_request(
            f"start_date 与 end_date 相隔不能超过 {WINDOW_DAYS} 天 (span over 90 days)"
        )
    return start, end


def _zone(reader: Ledger) -> ZoneInfo:
    return ZoneInfo(reader.settings.timezone)
