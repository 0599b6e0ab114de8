"""定期任务 (issue 19 point 3): the office opens a round of a periodic duty, units submit their
reports (自查报告 against the 三个清单), the office reads and reviews them and 督办 the late
ones; and the month's circular (一月一通报) is issued, downloaded and its 红黑榜 published."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.ui.client import ApiRefusal
from services.ui.render import office_now, page
from services.ui.session import CurrentViewer, Viewer, check_csrf, read_form
from shared.contracts.vocabulary import ROUND_LABELS, RoundKind
from shared.web.authz import Action, allowed

router = APIRouter(prefix="/ui", include_in_schema=False)
Checked = Depends(check_csrf)
REFUSED = (403, 404, 409, 422)
KINDS = [(k.value, ROUND_LABELS[k]) for k in RoundKind]


def standard_rounds(year: int) -> list[tuple[str, str]]:
    """The duties the documents fix for a year: self-inspection each June and December (001),
    the annual report by 25 December (000)."""
    return [
        (RoundKind.SELF_INSPECTION.value, f"{year}-06"),
        (RoundKind.SELF_INSPECTION.value, f"{year}-12"),
        (RoundKind.ANNUAL_REPORT.value, str(year)),
    ]


async def _rounds_page(
    request: Request,
    viewer: Viewer,
    year: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    units = {u["code"]: u["name"] for u in (await viewer.api.get("/api/v1/units"))["items"]}
    rounds = []
    for kind, period in standard_rounds(year):
        rounds.append(
            {
                "kind": kind,
                "period": period,
                "round": await viewer.api.found(f"/api/v1/rounds/{kind}/{period}"),
            }
        )
    return page(
        request,
        "rounds.html",
        viewer,
        status=status,
        year=year,
        rounds=rounds,
        units=units,
        kinds=KINDS,
        decides=allowed(viewer.principal, Action.DECIDE_ASSESSMENT),
        replies=allowed(viewer.principal, Action.REPLY_RECTIFICATION),
        error=error,
    )


@router.get("/rounds", response_class=HTMLResponse)
async def rounds(
    request: Request, viewer: CurrentViewer, year: int | None = Query(None, ge=2000, le=2100)
) -> Response:
    return await _rounds_page(request, viewer, year or office_now(request).year)


async def _form(request: Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await read_form(request)).items()}


async def _sent(
    request: Request, viewer: Viewer, path: str, body: dict[str, Any], year: int
) -> Response:
    try:
        await viewer.api.send("POST", path, body)
    except ApiRefusal as refusal:
        if refusal.status not in REFUSED:
            raise
        return await _rounds_page(
            request, viewer, year, error=refusal.detail, status=refusal.status
        )
    return RedirectResponse(f"/ui/rounds?year={year}", status_code=303)


def _year(period: str) -> int:
    return int(period[:4]) if period[:4].isdigit() else 2000


@router.post("/rounds", response_class=HTMLResponse, dependencies=[Checked])
async def open_round(request: Request, viewer: CurrentViewer) -> Response:
    form = await _form(request)
    body: dict[str, Any] = {"kind": form.get("kind", ""), "period": form.get("period", "")}
    if form.get("working_days", "").isdigit():
        body["working_days"] = int(form["working_days"])
    return await _sent(request, viewer, "/api/v1/rounds", body, _year(body["period"]))


@router.post(
    "/rounds/{kind}/{period}/submission", response_class=HTMLResponse, dependencies=[Checked]
)
async def submit(request: Request, viewer: CurrentViewer, kind: str, period: str) -> Response:
    """The liaison's report: the 三个清单 (a self-inspection needs all three) and one problem
    found with its rectification task, timetable and responsible person, when there is one."""
    form = await _form(request)
    body: dict[str, Any] = {"content": form.get("content") or None}
    lists = {k: form.get(k, "") for k in ("power_list", "procedure_list", "responsibility_list")}
    if any(lists.values()):
        body["lists"] = lists
    problem = {
        k: form.get(k, "")
        for k in ("problem", "rectification_task", "timetable", "responsible_person")
    }
    if any(problem.values()):
        body["problems"] = [problem]
    path = f"/api/v1/rounds/{kind}/{period}/submissions"
    return await _sent(request, viewer, path, body, _year(period))


@router.post(
    "/rounds/{kind}/{period}/review/{unit}", response_class=HTMLResponse, dependencies=[Checked]
)
async def review(
    request: Request, viewer: CurrentViewer, kind: str, period: str, unit: str
) -> Response:
    form = await _form(request)
    body = {"accepted": form.get("accepted") == "yes", "comment": form.get("comment", "")}
    path = f"/api/v1/rounds/{kind}/{period}/submissions/{unit}/review"
    return await _sent(request, viewer, path, body, _year(period))


@router.post(
    "/rounds/{kind}/{period}/reminders", response_class=HTMLResponse, dependencies=[Checked]
)
async def remind(request: Request, viewer: CurrentViewer, kind: str, period: str) -> Response:
    path = f"/api/v1/rounds/{kind}/{period}/reminders"
    return await _sent(request, viewer, path, {}, _year(period))
