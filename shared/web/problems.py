"""RFC 9457 problem details: every refusal names the field and what is wrong with it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.contracts.wording import PROBLEM_TITLES, chinese_only, labels_for

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An answer other than success, rendered as ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code or DEFAULT_CODES.get(status, "refused")
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


# Every refusal carries a stable ``code`` a client branches on (the words may change, the
# code does not); these are the codes of refusals no table names more precisely.
DEFAULT_CODES = {
    400: "malformed_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


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
    code: str = Field(description="稳定的拒绝原因代码,客户端据此分支 (stable reason code)")
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
    415: _documented("The file's content is not an allowed type"),
    422: _documented("Invalid field values; `errors` names each field"),
    429: _documented("Too many requests; see Retry-After"),
    503: _documented("A dependency is unavailable; see Retry-After"),
}


def wants_chinese(request: Request) -> bool:
    """Whether the caller asked for Chinese first (``Accept-Language: zh-CN``): the workbench,
    the portal and any client that shows refusals to people. Others keep the bilingual body."""
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return first.startswith("zh")


def in_chinese(body: dict[str, Any]) -> dict[str, Any]:
    """A problem body as a zh-CN reader gets it: a Chinese title, messages without their
    English glosses; the codes (``code``, ``errors[].code``, ``field``) stay as they are."""
    out = dict(body)
    out["title"] = PROBLEM_TITLES.get(int(body.get("status", 0)), out.get("title"))
    if isinstance(out.get("detail"), str):
        out["detail"] = chinese_only(out["detail"])
    for key in ("errors", "missing"):
        if isinstance(out.get(key), list):
            out[key] = [_messages_in_chinese(item) for item in out[key]]
    return out


def _messages_in_chinese(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("message"), str):
        return item | {"message": chinese_only(item["message"])}
    return item


def problem_response(
    problem: Problem, instance: str | None = None, request: Request | None = None
) -> JSONResponse:
    body = problem.body(instance)
    return JSONResponse(
        in_chinese(body) if request is not None and wants_chinese(request) else body,
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def not_found(what: str = "case") -> Problem:
    return Problem(
        404, "Not Found", f"没有找到该{_WHAT.get(what, what)}(not found)", code=f"no_such_{what}"
    )


_WHAT = {
    "case": "案件",
    "tip": "登记记录",
    "unit": "单位",
    "receipt": "回执",
    "attachment": "附件",
    "category": "类别",
}

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
    "model_attributes_type": "应为对象 (must be an object)",
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
    "date_parsing": "应为日期,格式 YYYY-MM-DD (must be a date)",
    "date_type": "应为日期,格式 YYYY-MM-DD (must be a date)",
    "date_from_datetime_parsing": "应为日期,格式 YYYY-MM-DD (must be a date)",
    "date_from_datetime_inexact": "应为日期,不带时刻 (must be a date without a time)",
    "string_pattern_mismatch": "格式不符,应匹配 '{pattern}' (does not match the pattern)",
    "bool_parsing": "应为 true 或 false (must be a boolean)",
    "float_parsing": "应为数字 (must be a number)",
    "missing_argument": "必填字段缺失 (required)",
    "less_than": "应小于 {lt} (too large)",
    "greater_than": "应大于 {gt} (too small)",
    "too_short": "条目过少 (too few items)",
}


def invalid(field: str, message: str, *, code: str = "invalid", **extra: Any) -> Problem:
    """A 422 about one field, shaped as the validation errors are."""
    errors = [{"field": field, "message": message, "code": code}]
    return Problem(422, "Invalid request", f"{field}: {message}", errors=errors, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden" and tuple(error.get("loc") or ())[:1] == ("query",):
        return "不认识的查询参数;额外参数只允许 _ (unknown query parameter)"
    template = _MESSAGES.get(error["type"])
    ctx = error.get("ctx") or {}
    english = str(error.get("msg", "invalid"))
    if template is None:  # a type not in the table yet: still a Chinese sentence first
        return f"取值无效 ({english})"
    if "expected" in ctx:
        ctx = ctx | {"expected": _choices(str(ctx["expected"]))}
    try:
        msg = english.removeprefix("Value error, ")
        return template.format(msg=msg, **ctx)
    except (KeyError, IndexError):
        return f"取值无效 ({english})"


def _choices(expected: str) -> str:
    """Pydantic's ``'a', 'b' or 'c'`` as ``'a'(甲)、'b'(乙)、'c'(丙)``: the codes to send, each
    with its label from the vocabulary."""
    codes = re.findall(r"'([^']*)'", expected)
    if not codes:
        return expected
    labels = labels_for(codes) or {}
    return "、".join(f"'{c}'({labels[c]})" if labels.get(c) else f"'{c}'" for c in codes)


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    if any(e["type"] == "json_invalid" for e in errors):
        return Problem(
            400,
            "Malformed JSON",
            "请求体不是合法的 JSON (request body is not valid JSON)",
            code="malformed_json",
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
        return problem_response(exc, request.url.path, request)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problem = validation_problem(list(exc.errors()))
        return problem_response(problem, request.url.path, request)

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
