"""Intake's HTTP API (SPEC §6): register a tip, read its registration record."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Header, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.intake import evidence
from services.intake.application import IdempotencyConflict, TipNotFound, TipSubmission
from services.intake.cataloguing import CatalogueError, UnknownCategory
from services.intake.deps import IntakeDep
from services.intake.domain import (
    AnonymousReporterError,
    AnonymousSmsConsentError,
    NoReporterPhoneError,
    Tip,
)
from services.intake.keyvault import CaseKeyDestroyed
from services.intake.schemas import (
    IdentityViewRequest,
    ReporterIdentity,
    TipCreated,
    TipIn,
    TipRecord,
)
from shared.web.attachments import ATTACHMENT_REFUSALS, read_upload
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import COMMON_RESPONSES, not_found
from shared.web.refusals import Refusal, Refusals

REFUSALS: Refusals = {
    IdempotencyConflict: Refusal(409, "idempotency_conflict", "幂等键已用于另一份登记"),
    TipNotFound: Refusal(404, "no_such_tip", "没有该登记记录", detail=not_found("tip").detail),
    AnonymousReporterError: Refusal(404, "anonymous_reporter", "匿名举报,无身份信息"),
    AnonymousSmsConsentError: Refusal(
        409,
        "sms_consent_anonymous",
        "匿名举报不能设置短信告知",
        detail="匿名举报没有可短信告知的举报人,不能同意或撤回短信告知",
    ),
    NoReporterPhoneError: Refusal(
        409,
        "sms_consent_needs_phone",
        "举报人未留电话,不能同意短信告知",
        detail="同意短信告知须留下举报人的电话:该举报人登记时未留电话",
    ),
    UnknownCategory: Refusal(422, "unknown_category", "问题类别不在分类目录中"),
    CatalogueError: Refusal(422, "catalogue_change_refused", "分类目录不接受此项修改"),
    CaseKeyDestroyed: Refusal(
        410,
        "identity_destroyed",
        "身份信息已按保存期限销毁",
        detail="举报人身份信息已按保存期限销毁 (identity destroyed after its retention period)",
    ),
    evidence.TooManyFiles: Refusal(422, "too_many_files", "随登记上传的文件过多"),
    **ATTACHMENT_REFUSALS,
}

router = APIRouter(prefix="/api/v1/tips", tags=["intake"])
POSITION_HEADER = "Taizhang-Log-Position"

Registrant = Annotated[Principal, Depends(require(Action.REGISTER_TIP))]
Reader = Annotated[Principal, Depends(require(Action.READ_TIP))]
IdentityViewer = Annotated[Principal, Depends(require(Action.VIEW_REPORTER))]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]


@router.post(
    "",
    status_code=201,
    response_model=TipCreated,
    response_model_exclude_none=True,
    summary="Register a tip (登记线索)",
    responses={
        201: {
            "headers": {
                "Taizhang-Log-Position": {
                    "description": "Where intake's log holds the registration: "
                    "GET /api/v1/ledger/positions tells when the ledger has read that far",
                    "schema": {"type": "integer"},
                }
            }
        },
        200: {"model": TipCreated, "description": "Replay: the first answer again"},
    },
)
async def register_tip(
    body: TipIn,
    response: Response,
    intake: IntakeDep,
    principal: Registrant,
    idempotency_key: IdempotencyKeyHeader = None,
) -> TipCreated:
    # A Chinese name is taken as an alias of its code; the tip is filed under the code.
    # (The fingerprint stays that of the request as sent.)
    submission = submission_of(body, principal, idempotency_key)
    category = intake.app.resolve_category(body.category)
    return await _register(intake, replace(submission, category=category), response)


@router.post(
    "/with-attachments",
    status_code=201,
    response_model=TipCreated,
    response_model_exclude_none=True,
    summary="Register a tip with its files in one request (登记线索并上传证据)",
    description=(
        "Multipart: `tip` is the same JSON as `POST /api/v1/tips` takes; `files` are the "
        f"tip's evidence (1–{evidence.MAX_TIP_FILES}; JPEG/PNG/WebP/PDF/MP4/MP3 by content, "
        "images without EXIF; together within the attachment limit). Every file is checked "
        "before anything is kept: a refused file registers no tip. The files become the "
        "case's attachments (purpose `evidence`) once dispatch opens it."
    ),
    responses={200: {"model": TipCreated, "description": "Replay: the first answer again"}},
)
async def register_tip_with_attachments(
    response: Response,
    intake: IntakeDep,
    principal: Registrant,
    tip: Annotated[str, Form(description="The tip, as JSON (the body of POST /api/v1/tips)")],
    files: Annotated[list[UploadFile], File(description="The tip's evidence")],
    idempotency_key: IdempotencyKeyHeader = None,
) -> TipCreated:
    body = _tip_of(tip)
    evidence.check_count(len(files))  # before a byte of them is read
    category = intake.app.resolve_category(body.category)  # refused before any file is kept
    limit = intake.store.max_bytes
    parts = await asyncio.to_thread(lambda: [read_upload(f, limit) for f in files])
    prepared = await asyncio.to_thread(evidence.prepare, intake.store, parts)
    kept = await asyncio.to_thread(evidence.keep, intake.store, prepared)
    submission = submission_of(body, principal, idempotency_key)
    fingerprint = evidence.fingerprint(submission.fingerprint, kept)
    submission = replace(submission, category=category, evidence=kept, fingerprint=fingerprint)
    return await _register(intake, submission, response)


async def _register(intake: IntakeDep, submission: TipSubmission, response: Response) -> TipCreated:
    registration = await intake.register(submission)
    if registration.replayed:
        response.status_code = 200
    if registration.position is not None:
        # Where intake's log holds it (``GET /api/v1/ledger/positions`` tells when the ledger
        # has read that far). A header, not the body: a replay answers the same body.
        response.headers[POSITION_HEADER] = str(registration.position)
    return TipCreated(
        case_id=registration.case_id,
        number=registration.number,
        status=registration.status,
        receipt_code=registration.receipt_code,
    )


def _tip_of(text: str) -> TipIn:
    """The multipart's ``tip`` part, validated as the JSON endpoint's body is."""
    try:
        return TipIn.model_validate_json(text)
    except ValidationError as e:
        errors = [dict(err) | {"loc": ("body", "tip", *err["loc"])} for err in e.errors()]
        raise RequestValidationError(errors) from None


@router.get(
    "/{case_id}",
    response_model=TipRecord,
    summary="The registration record of a case (the read is recorded in the audit trail)",
)
def get_tip(case_id: UUID, intake: IntakeDep, principal: Reader) -> TipRecord:
    return _record(intake.app.read_tip(case_id, principal.actor()))


@router.post(
    "/{case_id}/reporter-views",
    response_model=ReporterIdentity,
    summary="Reveal a named reporter's identity (audited: who, when, why)",
    responses={410: COMMON_RESPONSES[404] | {"description": "Identity destroyed (retention)"}},
)
def view_reporter(
    case_id: UUID, body: IdentityViewRequest, intake: IntakeDep, principal: IdentityViewer
) -> ReporterIdentity:
    identity = intake.app.reveal_reporter(case_id, principal.actor(), body.reason)
    return ReporterIdentity(**identity)


def submission_of(body: TipIn, principal: Principal, idempotency_key: str | None) -> TipSubmission:
    """A validated tip as intake's writer takes it (the native API and Open311 alike)."""
    reporter = body.reporter.identity() if body.reporter else None
    return TipSubmission(
        channel=body.channel.value,
        content=body.content,
        summary=body.summary,
        category=body.category,
        external_ref=body.external_ref,
        occurred_at=body.occurred_at,
        location=body.location.model_dump(exclude_none=True) if body.location else None,
        subject=body.subject.model_dump(exclude_none=True) if body.subject else None,
        reporter=reporter,
        sms_consent=body.reporter is not None and body.reporter.sms_consent,
        origin=body.origin.model_dump(exclude_none=True) if body.origin else None,
        actor=principal.actor(),
        fingerprint=body.fingerprint(),
        idempotency_key=idempotency_key,
    )


def _record(tip: Tip) -> TipRecord:
    fields: dict[str, Any] = {
        "case_id": tip.id,
        "number": tip.number,
        "channel": tip.channel,
        "content": tip.content,
        "summary": tip.summary,
        "category": tip.category,
        "external_ref": tip.external_ref,
        "occurred_at": tip.occurred_at,
        "location": tip.location,
        "subject": tip.subject,
        "reporter": {"anonymous": tip.anonymous},
        "registered_at": tip.created_on,
        "registered_by": tip.registered_by,
    }
    return TipRecord.model_validate(fields)
