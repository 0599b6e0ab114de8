"""The portal's pages: home (look up a receipt), a receipt's progress and rating, the
published results, typical cases and the month's 红黑榜. Each calls the public API
(``/public/v1``) in-process as the visitor."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from shared.contracts.vocabulary import (
    LIABILITY_LABELS,
    MEASURE_LABELS,
    RATING_LABELS,
    Liability,
    Measure,
    Rating,
)
from shared.platform.clock import clock_for
from shared.platform.redaction import redact

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/portal", include_in_schema=False)

# Only this origin's styles, no scripts at all: the pages work without JavaScript.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
RATINGS = [(r.value, RATING_LABELS[r]) for r in Rating]
Code = Annotated[str, Form(max_length=64)]


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, {"ratings": RATINGS, **context}, status_code=status
    )
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # a receipt page names no one, still
    response.headers["Cache-Control"] = "no-store"
    return response


def public_api(request: Request) -> httpx.AsyncClient:
    """The public API as this visitor calls it (its address counts for the rate limit):
    in-process, or through the proxy when the portal runs apart (ADR 27), the visitor named
    in X-Forwarded-For (the proxy appends the portal's own address, which it trusts)."""
    client = request.client
    url = getattr(request.app.state, "public_api_url", None)
    if url:
        forwarded = {"X-Forwarded-For": client.host} if client else {}
        return httpx.AsyncClient(base_url=url, headers=forwarded, timeout=30)
    transport = httpx.ASGITransport(
        app=request.app, client=(client.host, client.port) if client else ("127.0.0.1", 0)
    )
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://portal.internal",
        headers={"Accept-Language": "zh-CN"},  # refusals in Chinese only
        timeout=30,
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return render(request, "home.html")


@router.get("/receipt")
async def receipt_form(request: Request) -> Response:
    return RedirectResponse("/portal/", status_code=303)


@router.post("/receipt", response_class=HTMLResponse)
async def receipt(request: Request, code: Code) -> Response:
    """By POST: a receipt code never stands in an address, a history or a log."""
    return await _receipt_page(request, code)


@router.post("/receipt/rate", response_class=HTMLResponse)
async def rate(
    request: Request,
    code: Code,
    rating: Annotated[str, Form(max_length=32)],
    comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    body = {"rating": rating, "comment": comment.strip() or None}
    async with public_api(request) as api:
        r = await api.post(f"/public/v1/receipts/{_path(code)}/evaluation", json=body)
    if r.status_code == 201:
        return await _receipt_page(request, code, notice="感谢您的评价,我们已记录。")
    return await _receipt_page(request, code, problem=_detail(r))


@router.get("/results", response_class=HTMLResponse)
async def results(request: Request, page: int = 1) -> Response:
    page = max(1, min(page, 10_000))
    async with public_api(request) as api:
        r = await api.get("/public/v1/results", params={"page": page, "page_size": 10})
    if r.status_code != 200:
        return render(request, "home.html", r.status_code, problem=_detail(r))
    answer = r.json()
    items = [_published(item) for item in answer["items"]]
    pages = max(1, -(-answer["total"] // 10))
    return render(request, "results.html", items=items, page=page, pages=pages)


IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4"})
KINDS = {"images": IMAGE_TYPES, "videos": VIDEO_TYPES}  # each address serves only its kind
DIGEST = re.compile(r"[0-9a-f]{64}")
NUMBER = re.compile(r"\d{4}-\d{6}")
RELAYED = ("content-range", "accept-ranges")  # a <video>'s ranges, as the API answered them


@router.get("/results/{number}/images/{digest}")
async def result_image(request: Request, number: str, digest: str) -> Response:
    """An image of a published result, only as the office approved it (the public API
    answers 404 for any other file, and so does this page)."""
    return await _media(request, number, "images", digest)


@router.get("/results/{number}/videos/{digest}")
async def result_video(request: Request, number: str, digest: str) -> Response:
    """A video of a published result, the same way; the visitor's Range goes through."""
    return await _media(request, number, "videos", digest)


async def _media(request: Request, number: str, kind: str, digest: str) -> Response:
    if not (NUMBER.fullmatch(number) and DIGEST.fullmatch(digest)):
        return Response(status_code=404)
    asked = {"Range": request.headers["range"]} if "range" in request.headers else {}
    async with public_api(request) as api:
        r = await api.get(f"/public/v1/results/{number}/{kind}/{digest}", headers=asked)
    media_type = r.headers.get("content-type", "")
    if r.status_code == 416:
        return Response(
            status_code=416, headers={k: r.headers[k] for k in RELAYED if k in r.headers}
        )
    if r.status_code not in (200, 206) or media_type not in KINDS[kind]:
        return Response(status_code=404 if r.status_code in (200, 206, 404) else r.status_code)
    return Response(
        content=r.content,
        status_code=r.status_code,
        media_type=media_type,
        headers={k: r.headers[k] for k in RELAYED if k in r.headers}
        | {
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": r.headers.get("cache-control", "public, max-age=300"),
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/typical-cases", response_class=HTMLResponse)
async def typical_cases(request: Request) -> Response:
    """典型案例 and 标杆案例 as the office published them, masked once more by pattern."""
    async with public_api(request) as api:
        r = await api.get("/public/v1/typical-cases")
    if r.status_code != 200:
        return render(request, "home.html", r.status_code, problem=_detail(r))
    items = [_typical(item) for item in r.json()["items"]]
    return render(request, "typical.html", items=items)


MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@router.get("/honours", response_class=HTMLResponse)
async def honours(
    request: Request, month: Annotated[str | None, Query(max_length=16)] = None
) -> Response:
    """The month's 红黑榜 once the office published it; by default last month's (a month's
    list is published after it ends)."""
    if month is not None and not MONTH.fullmatch(month):
        return render(request, "home.html", 400, problem="月份格式应为 年-月,例如 2026-11。")
    shown = month or _last_month(request)
    async with public_api(request) as api:
        r = await api.get(f"/public/v1/honours/{shown}")
    found = r.json() if r.status_code == 200 else None
    problem = None if r.status_code in (200, 404) else _detail(r)
    year, number = (int(part) for part in shown.split("-"))
    return render(
        request,
        "honours.html",
        month=shown,
        title=f"{year}年{number}月",
        earlier=_month_step(year, number, -1),
        later=_month_step(year, number, 1),
        honours=found,
        problem=problem,
    )


def _last_month(request: Request) -> str:
    settings = request.app.state.runtime.settings
    state = request.app.state
    if not hasattr(state, "portal_clock"):  # built once: making one stamps events by it
        state.portal_clock = clock_for(settings)
    today = state.portal_clock.now().astimezone(ZoneInfo(settings.timezone))
    return _month_step(today.year, today.month, -1)


def _month_step(year: int, month: int, step: int) -> str:
    index = year * 12 + month - 1 + step
    return f"{index // 12}-{index % 12 + 1:02d}"


def _typical(item: dict[str, Any]) -> dict[str, Any]:
    persons = [
        {
            "who": " ".join(filter(None, [p.get("name"), p.get("position")]))
            or ("领导班子" if p.get("target_kind") == "leadership" else "有关责任人"),
            "liability": _label(LIABILITY_LABELS, Liability, p.get("liability")),
            "measures": "、".join(_label(MEASURE_LABELS, Measure, m) for m in p["measures"]),
            "exempted": p.get("exempted", False),
        }
        for p in item.get("persons") or []
    ]
    return {
        "number": item["number"],
        "kind": "标杆案例" if item.get("kind") == "benchmark" else "典型案例",
        "title": redact(item.get("title")).text,
        "text": redact(item.get("text")).text,
        "published_on": (item.get("published_at") or "")[:10],
        "persons": persons,
    }


def _label(labels: dict[Any, str], kind: Any, value: str | None) -> str:
    try:
        return labels[kind(value)]
    except ValueError:
        return value or ""


async def _receipt_page(
    request: Request, code: str, notice: str | None = None, problem: str | None = None
) -> Response:
    async with public_api(request) as api:
        r = await api.get(f"/public/v1/receipts/{_path(code)}")
    if r.status_code != 200:
        message = (
            "没有找到该回执码对应的案件,请核对后重试(案件登记后可能需要片刻才能查询)。"
            if r.status_code == 404
            else _detail(r)
        )
        return render(request, "home.html", r.status_code, problem=message, code=code)
    case = r.json()
    original = case.get("original") or {}
    for answer in [*case["feedback"], *original.get("feedback", [])]:
        answer["content"] = redact(answer["content"]).text
    zone = ZoneInfo(request.app.state.settings.timezone)
    for item in [*case["steps"], *case["feedback"], *original.get("steps", [])]:
        item["at"] = _day(item.get("at"), zone)
    for item in original.get("feedback", []):
        item["at"] = _day(item.get("at"), zone)
    return render(request, "receipt.html", case=case, code=code, notice=notice, problem=problem)


def _published(item: dict[str, Any]) -> dict[str, Any]:
    summary = redact(item.get("summary"))
    publications = [redact(p["content"]).text for p in item.get("publications") or []]
    images, videos = (
        [
            f"/portal/results/{item['number']}/{kind}/{i['url'].rsplit('/', 1)[-1]}"
            for i in item.get(kind) or []
        ]
        for kind in ("images", "videos")
    )
    return item | {
        "summary": summary.text,
        "publications": publications,
        "images": images,
        "videos": videos,
    }


def _day(value: str | None, zone: ZoneInfo) -> str | None:
    """The office's calendar day of an API moment (the reporter's day, not UTC's)."""
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(zone).date().isoformat()


def _path(code: str) -> str:
    return quote(code.strip(), safe="") or "-"


def _detail(r: httpx.Response) -> str:
    try:
        detail = r.json().get("detail")
    except ValueError:
        detail = None
    if r.status_code == 429:
        return "查询过于频繁,请稍后再试。"
    return str(detail) if detail else f"请求未成功(HTTP {r.status_code})"
