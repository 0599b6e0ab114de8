"""The one way a service's domain errors become HTTP answers.

A domain error knows what went wrong and nothing of HTTP. Each service's API keeps one table,
error class → :class:`Refusal` (status, stable code, a Chinese title for the documentation);
:func:`install_refusals` answers every error in the tables with :func:`refusal_problem`, so no
endpoint catches a domain error and no router keeps its own copy of the statuses.

What an error may carry, by convention:

- ``details`` (a dict): extra members of the body (``case_status``, ``missing``, ``field``);
- ``errors`` (a list of ``(field, message)``): for a 422, each field and what is wrong with it
  (without it, the one field is ``details["field"]``, else ``body``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.web.http import RETRY_AFTER_SECONDS
from shared.web.problems import COMMON_RESPONSES, Problem, problem_response

CHINESE = re.compile(r"[\u4e00-\u9fff]")
TITLES = {
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Invalid request",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Refusal:
    """How one kind of domain error is answered."""

    status: int
    code: str  # stable, for clients that branch on the reason
    title: str  # what the refusal means, in Chinese, for the API's documentation
    detail: str | None = None  # a fixed detail instead of the error's message (not found)


Refusals = Mapping[type[Exception], Refusal]


def refusal_for(error: Exception, refusals: Refusals) -> Refusal | None:
    """The table's entry for the error's class, or for its nearest ancestor in the table."""
    for cls in type(error).__mro__:
        if cls in refusals:
            return refusals[cls]
    return None


def refusal_problem(error: Exception, refusal: Refusal) -> Problem:
    details: dict[str, Any] = dict(getattr(error, "details", None) or {})
    code = details.pop("code", refusal.code)  # an error may name its reason more precisely
    title = TITLES[refusal.status]
    if refusal.status == 422:
        items = getattr(error, "errors", None) or [(details.get("field", "body"), str(error))]
        errors = [{"field": f, "message": m, "code": refusal.code} for f, m in items]
        detail = ";".join(f"{f}: {m}" for f, m in items)
        return Problem(422, title, detail, code=code, errors=errors, **details)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if refusal.status == 503 else None
    detail = _detail(error, refusal)
    return Problem(refusal.status, title, detail, code=code, headers=headers, **details)


def _detail(error: Exception, refusal: Refusal) -> str:
    """The table's fixed detail, else the error's message — led by the table's Chinese title
    when the message is no sentence a person reads (a bare id or code)."""
    message = refusal.detail or str(error)
    if CHINESE.search(message):
        return message
    return f"{refusal.title} ({message.strip(chr(39))})" if message else refusal.title


def install_refusals(app: FastAPI, refusals: Refusals) -> None:
    """Answer every error class of the table (and its subclasses) as the table says."""

    async def on_refusal(request: Request, exc: Exception) -> JSONResponse:
        refusal = refusal_for(exc, refusals)
        if refusal is None:  # a subclass of a mapped class is always found; never here
            raise exc
        return problem_response(refusal_problem(exc, refusal), request.url.path, request)

    for cls in refusals:
        app.add_exception_handler(cls, on_refusal)


def documented(refusals: Refusals) -> dict[int | str, dict[str, Any]]:
    """The statuses a table answers, for a router's ``responses``: the common documentation
    of each status, its description followed by the table's titles for it."""
    titles: dict[int, list[str]] = {}
    for refusal in refusals.values():
        titles.setdefault(refusal.status, []).append(refusal.title)
    return {
        status: COMMON_RESPONSES[status]
        | {"description": f"{COMMON_RESPONSES[status]['description']}: {'; '.join(names)}"}
        for status, names in sorted(titles.items())
        if status in COMMON_RESPONSES
    }
