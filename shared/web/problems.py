"""RFC 9457 problem details: every refusal names the field and what is wrong with it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An answer other than success, rendered as ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class FieldError(BaseModel):
    field: str
    message: str
    code: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every refusal is answered."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


def _documented(description: str) -> dict[str, Any]:
    return {
        "model": ProblemDetails,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
    }


# The refusals any endpoint may answer; routers declare them so the OpenAPI schema is true.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Malformed request (e.g. invalid JSON)"),
    401: _documented("Missing, invalid or expired credentials"),
    403: _documented("The caller's role may not do this"),
    404: _documented("No such case (or not visible to this caller)"),
    409: _documented("Not allowed in the case's current state"),
    413: _documented("Request body too large"),
    422: _documented("Invalid field values; `errors` names each field"),
    429: _documented("Too many requests; see Retry-After"),
    503: _documented("A dependency is unavailable; see Retry-After"),
}


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def not_found(what: str = "case") -> Problem:
    return Problem(404, "Not Found", f"没有找到该{_WHAT.get(what, what)}(not found)")


_WHAT = {"case": "案件", "tip": "登记记录", "unit": "单位", "receipt": "回执"}

# Pydantic error types → a sentence an operator can act on.
_MESSAGES = {
    "missing": "必填字段缺失 (required)",
    "string_too_short": "不能为空 (must not be empty)",
    "string_too_long": "内容过长,最多 {max_length} 个字符 (too long)",
    "string_type": "应为文本 (must be a string)",
    "bool_type": "应为 true 或 false (must be a boolean)",
    "int_type": "应为整数 (must be an integer)",
    "float_type": "应为数字 (must be a number)",
    "dict_type": "应为对象 (must be an object)",
    "model_type": "应为对象 (must be an object)",
    "list_type": "应为数组 (must be an array)",
    "extra_forbidden": "不认识的字段 (unknown field)",
    "enum": "取值无效,可选:{expected} (invalid value)",
    "literal_error": "取值无效,可选:{expected} (invalid value)",
    "greater_than_equal": "不能小于 {ge} (too small)",
    "less_than_equal": "不能大于 {le} (too large)",
    "datetime_from_date_parsing": "应为带时区的 ISO 8601 时间 (must be an ISO 8601 timestamp)",
    "datetime_parsing": "应为带时区的 ISO 8601 时间 (must be an ISO 8601 timestamp)",
    "datetime_type": "应为带时区的 ISO 8601 时间 (must be an ISO 8601 timestamp)",
    "timezone_aware": "时间必须带时区,例如 +08:00 (timezone required)",
    "json_invalid": "请求体不是合法的 JSON (malformed JSON)",
    "value_error": "{msg}",
    "uuid_parsing": "应为 UUID (must be a UUID)",
    "int_parsing": "应为整数 (must be an integer)",
    "too_long": "条目过多 (too many items)",
}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    template = _MESSAGES.get(error["type"])
    ctx = error.get("ctx") or {}
    if template is None:
        return str(error.get("msg", "invalid"))
    try:
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        return template.format(msg=msg, **ctx)
    except (KeyError, IndexError):
        return str(error.get("msg", "invalid"))


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(
            400, "Malformed JSON", "请求体不是合法的 JSON (request body is not valid JSON)"
        )
    items = [
        {"field": _field(tuple(e["loc"])), "message": _message(e), "code": e["type"]}
        for e in errors
    ]
    detail = ";".join(f"{i['field']}: {i['message']}" for i in items)
    return Problem(422, "Invalid request", detail, errors=items)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(list(exc.errors())), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        problem = Problem(
            exc.status_code,
            _HTTP_TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


_HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
