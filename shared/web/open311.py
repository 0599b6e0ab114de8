"""Open311 GeoReport v2 on the wire, for every service that serves part of it.

Answers are XML (required by the spec) or JSON by the path's suffix (``/services.xml``,
``/requests/2026-000123.json``); JSON follows the spec's "Spark convention" mapping of the XML,
so both are rendered from one tree of plain values here. Refusals are the spec's
``<errors><error><code/><description/></error></errors>`` (or its JSON array) with 400, 403 or
404 — never problem+json, which 311 clients cannot read: :class:`Open311Route` turns every
refusal raised under it (its own, a rate limit, a validation error) into that shape.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, tzinfo
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.platform.blobs import BlobStoreUnavailable
from shared.web.http import STORE_DOWN, attachments_down, store_down
from shared.web.problems import Problem, validation_problem

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_REQUESTS = 1000  # the spec's default query limit
WINDOW_DAYS = 90  # the longest start_date..end_date span the spec allows

# The element of each item in a list, by the list's element (spec §"Response" tables).
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "notes": "note",  # extended_attributes (extensions=true)
}

Tree = Mapping[str, Any] | list[Any]


class Open311Error(Exception):
    """A refusal in the spec's shape: HTTP ``status`` and one or more (code, description)."""

    def __init__(self, status: int, *descriptions: str, code: int | None = None) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.errors = [(code or status, d) for d in descriptions]
        self.headers: dict[str, str] | None = None


def bad_request(*descriptions: str, code: int | None = None) -> Open311Error:
    return Open311Error(400, *descriptions, code=code)


def not_found(description: str) -> Open311Error:
    return Open311Error(404, description)


def forbidden(description: str) -> Open311Error:
    return Open311Error(403, description)


# The path's suffix (``services.xml``); declared on every route so the schema is true.
Format = Annotated[str, Path(description="xml 或 json (the answer's format)", examples=["xml"])]

_BODY: dict[str, Any] = {"content": {"text/xml": {}, "application/json": {}}}
# What every Open311 route may answer, in the spec's shapes (overriding the problem+json ones).
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _BODY | {"description": "The answer (XML or JSON by the suffix)"},
    201: _BODY | {"description": "A new service request"},
    400: _BODY | {"description": "Bad request: <errors> naming the argument"},
    403: _BODY | {"description": "Missing or invalid api_key"},
    404: _BODY | {"description": "No such service, request, token or format"},
    429: _BODY | {"description": "Too many requests; see Retry-After"},
    503: _BODY | {"description": "The database is unavailable; retry after Retry-After"},
}


def response_format(fmt: str) -> str:
    """``xml`` or ``json`` from the path's suffix; anything else is a resource we don't have."""
    if fmt not in FORMATS:
        raise not_found(f"不支持的格式 .{fmt},请用 .xml 或 .json (unknown format)")
    return fmt


def render(fmt: str, root: str, tree: Tree, status: int = 200) -> Response:
    """The answer in ``fmt``: ``tree`` is a list (of the root's items) or a mapping."""
    if fmt == "json":
        body = json.dumps(_jsonable(tree), ensure_ascii=False).encode()
    else:
        element = _element(root, tree)
        ET.indent(element)
        body = ET.tostring(element, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, media_type=FORMATS.get(fmt, FORMATS["xml"]))


def error_response(fmt: str, error: Open311Error) -> Response:
    items = [{"code": code, "description": text} for code, text in error.errors]
    answer = render(fmt, "errors", items, error.status)
    answer.headers.update(error.headers or {})
    return answer


def moment(value: datetime | None, zone: tzinfo) -> str | None:
    """A W3C/ISO 8601 timestamp with its offset, in the office's time zone."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def parse_moment(name: str, value: str, zone: tzinfo) -> datetime:
    """A query's date: W3C format; a time without zone is read in the office's time zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_request(
            f"{name} 应为 W3C 时间格式,例如 2026-01-01T00:00:00+08:00 (invalid {name})"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def listed(value: str | None) -> list[str]:
    """A comma-delimited argument (the spec's way to give several values)."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


async def form_with_media(
    request: Request, *, max_media: int, media_limit: int
) -> tuple[dict[str, str], dict[str, list[str]], list[bytes]]:
    """The form's fields and attributes, and its ``media`` files: form-encoded as the spec
    says, or ``multipart/form-data`` carrying up to ``max_media`` photos (each read no
    further than ``media_limit`` bytes) beside the same fields."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data" and max_media:
        return await _multipart(request, max_media, media_limit)
    if kind not in ("", "application/x-www-form-urlencoded"):
        raise bad_request(
            "请求体应为 application/x-www-form-urlencoded (form-encoded body required)"
            if not max_media
            else "请求体应为 application/x-www-form-urlencoded 或 multipart/form-data "
            "(form-encoded or multipart body required)"
        )
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise bad_request("请求体应为 UTF-8 编码 (body must be UTF-8)") from None
    fields, attributes = _fields(pairs)
    return fields, attributes, []


async def _multipart(
    request: Request, max_media: int, limit: int
) -> tuple[dict[str, str], dict[str, list[str]], list[bytes]]:
    try:
        form = await request.form(max_files=max_media + 1, max_fields=1000)
    except (StarletteHTTPException, ValueError):
        raise bad_request("multipart 请求体无法解析 (malformed multipart body)") from None
    pairs: list[tuple[str, str]] = []
    media: list[bytes] = []
    for key, value in form.multi_items():
        if isinstance(value, str):
            pairs.append((key, value))
        elif key != "media":
            raise bad_request(f"{key}: 只有 media 可以是文件 (only media may be a file)")
        elif len(media) >= max_media:
            raise bad_request(f"media: 最多 {max_media} 个文件 (at most {max_media} files)")
        else:
            data = await value.read(limit + 1)
            if len(data) > limit:
                raise bad_request(f"media: 文件超过 {limit} 字节上限 (over {limit} bytes)")
            media.append(data)
    fields, attributes = _fields(pairs)
    return fields, attributes, media


def _fields(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for key, value in pairs:
        value = value.strip()
        if not value:
            continue
        if match := _ATTRIBUTE.match(key):
            attributes.setdefault(match.group(1), []).append(value)
        else:
            fields[key] = value
    return fields, attributes


class Open311Route(APIRoute):
    """Every refusal under this route answers in the spec's error shape and format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Open311Error as e:
                return error_response(_format_of(request), e)
            except Problem as e:  # rate limits, an unavailable store …
                return error_response(_format_of(request), _from_problem(e))
            except STORE_DOWN:  # a 311 client gets the spec's shape for this 503 too
                return error_response(_format_of(request), _from_problem(store_down()))
            except BlobStoreUnavailable:  # a request's photos not kept: nothing registered
                return error_response(_format_of(request), _from_problem(attachments_down()))
            except RequestValidationError as e:
                problem = validation_problem(list(e.errors()))
                return error_response(_format_of(request), bad_request(problem.detail))
            except StarletteHTTPException as e:
                error = Open311Error(e.status_code if e.status_code < 500 else 400, str(e.detail))
                return error_response(_format_of(request), error)

        return answer


def _from_problem(problem: Problem) -> Open311Error:
    # 401 is a missing or bad api_key to a 311 client: the spec answers that with 403.
    status = 403 if problem.status == 401 else problem.status
    error = Open311Error(status, problem.detail)
    error.headers = problem.headers
    return error


def _format_of(request: Request) -> str:
    fmt = str(request.path_params.get("format", ""))
    return fmt if fmt in FORMATS else "xml"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, Mapping):
        for key, child in value.items():
            element.append(_element(key, child))
    elif isinstance(value, list | tuple):
        item = ITEM_OF.get(tag, "item")
        for child in value:
            element.append(_element(item, child))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element
