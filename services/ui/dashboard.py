"""统计: the dashboard's figures, gathered from the statistics APIs and drawn by
ECharts in the browser (static/dashboard.js reads them from the page)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.ui.client import Api
from services.ui.render import office_now, page
from services.ui.session import CurrentViewer
from shared.contracts.vocabulary import STATUS_LABELS, CaseStatus

router = APIRouter(prefix="/ui", include_in_schema=False)

MONTHS = 6
OPEN = [
    s
    for s in CaseStatus
    if s not in (CaseStatus.CLOSED_OUT, CaseStatus.MERGED, CaseStatus.NOT_ACCEPTED)
]


def recent_months(today: date, count: int = MONTHS) -> list[tuple[str, date, date]]:
    """The last ``count`` calendar months, oldest first, as (label, first day, last day)."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        months.append((f"{year}-{month:02d}", first, date.fromordinal(following.toordinal() - 1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


async def _by_month(api: Api, months: list[tuple[str, date, date]]) -> dict[str, Any]:
    answers = await asyncio.gather(
        *(
            api.get("/api/v1/stats/channels", {"from": first, "to": last})
            for _, first, last in months
        )
    )
    channels: dict[str, dict[str, int]] = {}
    satisfaction: list[float | None] = []
    for (label, _, _), answer in zip(months, answers, strict=True):
        evaluations = satisfied = 0
        for item in answer["items"]:
            channels.setdefault(item["channel_label"], {})[label] = item["cases"]
            evaluations += item["evaluations"]
            satisfied += item["satisfied"]
        satisfaction.append(round(100 * satisfied / evaluations, 1) if evaluations else None)
    labels = [m[0] for m in months]
    series = [
        {"name": name, "data": [counts.get(m, 0) for m in labels]}
        for name, counts in sorted(channels.items())
    ]
    return {"months": labels, "channels": series, "satisfaction": satisfaction}


def ranking(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """红黑榜: units by on-time completion (best first), then by fewest overdue."""
    rows = [
        {
            "unit": u["unit"]["name"],
            "cases": u["cases"],
            "on_time": round(100 * u["on_time_completion_rate"], 1)
            if u["on_time_completion_rate"] is not None
            else None,
            "overdue": round(100 * u["overdue"] / u["cases"], 1) if u["cases"] else 0.0,
            "overdue_count": u["overdue"],
        }
        for u in units
    ]
    return sorted(rows, key=lambda r: (-(r["on_time"] or 0), r["overdue"], r["unit"]))


async def _open_by_status(api: Api) -> list[dict[str, Any]]:
    """Exact counts per status (the ledger list's total stops at its count limit, ADR 13)."""
    answer = await api.get("/api/v1/stats/statuses")
    counts = {item["status"]: item["cases"] for item in answer["items"]}
    return [
        {"name": STATUS_LABELS[s], "value": counts[s.value]} for s in OPEN if counts.get(s.value)
    ]


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, viewer: CurrentViewer) -> Response:
    today = office_now(request).date()
    by_month = await _by_month(viewer.api, recent_months(today))
    units = ranking((await viewer.api.get("/api/v1/stats/units"))["items"])
    figures = by_month | {"units": units, "open": await _open_by_status(viewer.api)}
    return page(request, "dashboard.html", viewer, figures=figures, units=units)
