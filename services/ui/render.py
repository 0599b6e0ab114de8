"""Templates and the small formatting the pages share (times in the office's zone, labels)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from services.ui.session import Viewer
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    CIRCUMSTANCE_LABELS,
    DECIDING_BODY_LABELS,
    EVALUATOR_LABELS,
    FEEDBACK_LABELS,
    LIABILITY_LABELS,
    MEASURE_LABELS,
    ORIGIN_LEVEL_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TARGET_LABELS,
    TRACK_LABELS,
)
from shared.contracts.wording import ACTOR_ROLE_LABELS, EVENT_LABELS

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")

# The pages' own content policy: scripts and styles only from /ui/static (htmx adds its
# indicator style inline), nothing framed, forms post only here.
CONTENT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@pass_context
def _moment(context: Context, value: Any) -> str:
    """An API timestamp as the office reads it: ``2026-11-23 14:05``, in its own zone."""
    timezone = context["request"].app.state.runtime.settings.timezone
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return f"{moment:%Y-%m-%d %H:%M}"


templates.env.filters["moment"] = _moment
templates.env.globals.update(
    roles=ACTOR_ROLE_LABELS,  # a signed-in role, the public or the system
    statuses={s.value: label for s, label in STATUS_LABELS.items()},
    channels={c.value: label for c, label in CHANNEL_LABELS.items()},
    tracks={t.value: label for t, label in TRACK_LABELS.items()},
    feedback_channels={c.value: label for c, label in FEEDBACK_LABELS.items()},
    ratings={r.value: label for r, label in RATING_LABELS.items()},
    evaluator_kinds={k.value: label for k, label in EVALUATOR_LABELS.items()},
    targets={t.value: label for t, label in TARGET_LABELS.items()},
    measures={m.value: label for m, label in MEASURE_LABELS.items()},
    circumstances={c.value: label for c, label in CIRCUMSTANCE_LABELS.items()},
    liabilities={c.value: label for c, label in LIABILITY_LABELS.items()},
    origin_levels={c.value: label for c, label in ORIGIN_LEVEL_LABELS.items()},
    deciding_bodies={c.value: label for c, label in DECIDING_BODY_LABELS.items()},
    event_labels=EVENT_LABELS,
    unit_kinds={"department": "部门", "street_office": "街道", "company": "企业"},
)


def page(
    request: Request,
    name: str,
    viewer: Viewer | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, name, {"viewer": viewer, "status_code": status, **context}, status_code=status
    )
    response.headers["Content-Security-Policy"] = CONTENT_POLICY
    response.headers["Cache-Control"] = "no-store"  # pages show one person's cases
    if viewer is not None:
        viewer.keep_csrf(request, response)
    return response


def office_now(request: Request) -> datetime:
    """Now in the office's timezone, by tracking's clock (the one deadlines are judged by, which
    a test or a training setup may move with TAIZHANG_CLOCK_FILE)."""
    runtime = request.app.state.runtime
    return runtime.services["tracking"].now().astimezone(ZoneInfo(runtime.settings.timezone))
