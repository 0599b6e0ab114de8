"""Open311 GeoReport v2, intake's part (SPEC §6, ADR 10): discovery, the service catalogue (one
service per tip category), filing a request (a tip on channel ``open311``) and tokens.
Following requests is tracking's (``services/tracking/ledger/open311.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from fastapi import APIRouter, Depends, Header, Request, Response

from services.intake import evidence
from services.intake.api import submission_of
from services.intake.application import IdempotencyConflict, Registration
from services.intake.deps import IntakeDep
from services.intake.groupcommit import WriterUnavailable
from services.intake.open311_form import attributes_of, external_ref, tip_from_form
from services.intake.service import IntakeService
from shared.contracts.categories import TipCategory
from shared.contracts.vocabulary import Channel
from shared.platform.attachments import AttachmentError, ScannerUnavailable
from shared.web.auth import Principal
from shared.web.authz import Action, allowed
from shared.web.open311 import (
    PREFIX,
    RESPONSES,
    SPECIFICATION,
    Format,
    Open311Route,
    bad_request,
    forbidden,
    form_with_media,
    not_found,
    render,
    response_format,
)
from shared.web.problems import Problem
from shared.web.ratelimit import public_rate_limit

# When the catalogue below last changed: clients refresh cached service lists when it moves.
CHANGESET = "2026-11-23T00:00:00+08:00"

# The spec's form (attribute[CODE] fields besides, per the service definition).
_FORM_FIELDS = [
    "api_key",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
]
_FORM = {
    "schema": {
        "type": "object",
        "properties": {name: {"type": "string"} for name in _FORM_FIELDS},
        "required": ["api_key", "service_code"],
    }
}
# The same fields as multipart/form-data, with the request's photos as files named ``media``
# (an extension some GeoReport clients use beside media_url; ADR 22): kept with the tip.
_MULTIPART = {
    "schema": {
        "type": "object",
        "properties": {name: {"type": "string"} for name in _FORM_FIELDS}
        | {"media": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        "required": ["api_key", "service_code"],
    }
}

router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route, responses=RESPONSES)
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.get("/discovery.{format}", summary="Open311 service discovery")
async def discovery(request: Request, format: Format) -> Response:
    base = str(request.base_url).rstrip("/") + PREFIX
    return render(
        response_format(format),
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": "请联系本级纠风办(治庸问责办)信息化联络人 (contact the office)",
            "key_service": (
                "API Key 由系统管理员签发:taizhang apikey create --role operator --name 名称 "
                "(keys are issued by the administrator)"
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
    )


@router.get("/services.{format}", summary="Open311 service list: one per tip category")
async def service_list(format: Format, intake: IntakeDep) -> Response:
    services = intake.app.catalogue().services()  # the catalogue's active leaves (ADR 25)
    return render(response_format(format), "services", [_service(c) for c in services])


@router.get("/services/{service_code}.{format}", summary="Open311 service definition")
async def service_definition(service_code: str, format: Format, intake: IntakeDep) -> Response:
    fmt = response_format(format)
    category = _category(intake, service_code)
    return render(
        fmt,
        "service_definition",
        {"service_code": category.code, "attributes": attributes_of(category)},
    )


@router.post(
    "/requests.{format}",
    summary="Open311: file a service request (a tip on channel open311)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": _FORM,
                "multipart/form-data": _MULTIPART,
            }
        }
    },
)
async def file_request(
    request: Request,
    format: Format,
    intake: IntakeDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    fmt = response_format(format)
    fields, attributes, media = await form_with_media(
        request, max_media=evidence.MAX_TIP_FILES, media_limit=intake.store.max_bytes
    )
    principal = await _registrant(request, fields.get("api_key"))
    if not fields.get("service_code"):
        raise bad_request("service_code 必填 (service_code was not provided)")
    category = _category(intake, fields["service_code"])
    ref = external_ref(principal, fields, idempotency_key or None)
    tip = tip_from_form(category, fields, attributes, ref)
    submission = submission_of(tip, principal, idempotency_key or None)
    if media:  # every photo checked before any is kept: a refused one files no request
        kept = await asyncio.to_thread(_kept_media, intake, media)
        fingerprint = evidence.fingerprint(submission.fingerprint, kept)
        submission = replace(submission, evidence=kept, fingerprint=fingerprint)
    try:
        registration = await intake.register(submission)
    except IdempotencyConflict as e:
        raise bad_request(str(e), code=409) from None
    except (TimeoutError, WriterUnavailable):
        # The spec's "CRM is down" error; the retry it asks for lands on the same case.
        raise bad_request(
            "系统繁忙,暂未登记,请稍后原样重试(同一请求不会重复登记) "
            "(registration unavailable; retry the same request later)",
            code=503,
        ) from None
    answer = {
        "service_request_id": registration.number,
        "service_notice": _notice(registration, named=submission.reporter is not None),
        "account_id": fields.get("account_id"),
    }
    return render(fmt, "service_requests", [answer], 200 if registration.replayed else 201)


@router.get(
    "/tokens/{token}.{format}",
    summary="Open311: the service request id of a token",
    dependencies=[Depends(public_rate_limit)],  # tokens are public: no guessing at speed
)
async def token(token: str, format: Format, intake: IntakeDep) -> Response:
    fmt = response_format(format)
    number = await asyncio.to_thread(_number_of_token, intake, token)
    return render(fmt, "service_requests", [{"service_request_id": number, "token": token}])


# --- pieces -------------------------------------------------------------------------------


def _service(category: TipCategory) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.group}:{category.name}",
        "metadata": True,  # every category has attributes (at least where and when)
        "type": "realtime",
        "keywords": ", ".join(category.keywords),
        "group": category.group,
    }


def _category(intake: IntakeService, code: str) -> TipCategory:
    """The service: a category of the catalogue that is active (retired ones take no tips)."""
    found = intake.app.catalogue().find(code)
    if found is None or not found.active:
        found = intake.app.catalogue(fresh=True).find(code)
    if found is None or not found.active:
        raise not_found(f"没有服务 {code},可选服务见 services.xml (service_code not found)")
    return intake.app.catalogue().tip_category(code)


async def _registrant(request: Request, api_key: str | None) -> Principal:
    """The API key's holder, if it may register tips (operators and the office)."""
    if not api_key:
        raise forbidden("api_key 缺失,无法登记 (api_key was not provided)")
    try:
        principal: Principal = await request.app.state.authenticator.authenticate(None, api_key)
    except Problem:
        raise forbidden("api_key 无效或已吊销,无法登记 (invalid api_key)") from None
    if not allowed(principal, Action.REGISTER_TIP):
        raise forbidden(
            f"该 api_key 的角色 {principal.role.value} 无权登记 (role may not register tips)"
        )
    return principal


def _kept_media(intake: IntakeService, media: list[bytes]) -> tuple[dict[str, Any], ...]:
    """The request's photos by the attachment store's rules, refused in the spec's shape."""
    try:
        return evidence.keep(intake.store, evidence.prepare(intake.store, media))
    except ScannerUnavailable as e:
        raise bad_request(str(e), code=503) from None
    except AttachmentError as e:
        n = (e.details or {}).get("file")
        raise bad_request(f"media 第 {n} 个文件:{e}" if n else f"media: {e}") from None


def _notice(registration: Registration, *, named: bool) -> str:
    """Every new request's reporter gets a receipt code (ADR 44); the anonymous one's words
    are as before, the named one's do not call the reporter anonymous."""
    notice = f"已登记,案件编号 {registration.number},将按规定交办并在时限内办理"
    if registration.receipt_code:
        kind = "举报" if named else "匿名举报"
        notice += (
            f";{kind}回执码 {registration.receipt_code},"
            "可凭此码在公众门户查询进度并评价,请转告举报人并妥善保管"
        )
    return notice


def _number_of_token(intake: IntakeService, token: str) -> str:
    missing = not_found(f"没有找到令牌 {token} (token not found)")
    try:
        tip = intake.app.get_tip(UUID(token))
    except (ValueError, AggregateNotFoundError):
        raise missing from None
    if tip.channel != Channel.OPEN311:  # other channels' cases are not 311 clients' to see
        raise missing
    return str(tip.number)
