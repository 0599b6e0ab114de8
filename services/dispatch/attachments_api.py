"""Files on a case (附件, ADR 22): upload (multipart), list, download — each through the case's
row scope; every download is recorded on the case before its bytes are sent. Refusals come
from dispatch's one table (``api.REFUSALS``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, File, Form, Response, UploadFile

from services.dispatch.case_attachments import PURPOSES
from services.dispatch.deps import DispatchDep
from services.dispatch.schemas import WithdrawalIn
from shared.platform.attachments import ALLOWED_TYPES
from shared.web.attachments import read_upload
from shared.web.auth import Principal
from shared.web.authz import Action, require

router = APIRouter()

Attacher = Annotated[Principal, Depends(require(Action.ATTACH_FILE))]
Reader = Annotated[Principal, Depends(require(Action.READ_CASE))]
Publisher = Annotated[Principal, Depends(require(Action.PUBLISH_IMAGE))]


def _view(case_id: UUID, attachment: dict[str, Any]) -> dict[str, Any]:
    """What a client sees of an attachment: never the bytes, never a name (none is kept)."""
    by = attachment["by"] or {}
    return {
        "n": attachment["n"],
        "digest": attachment["digest"],
        "media_type": attachment["media_type"],
        "size": attachment["size"],
        "purpose": attachment["purpose"],
        "purpose_label": PURPOSES.get(attachment["purpose"], attachment["purpose"]),
        "attached_at": attachment["at"],
        "attached_by": {"name": by.get("name"), "role": by.get("role"), "unit": by.get("unit")},
        "downloads": attachment["downloads"],
        "public": attachment.get("public", False),
        "public_changed_by": (attachment.get("public_by") or {}).get("name"),
        "public_changed_at": attachment.get("public_at"),
        "public_withdrawal_reason": None
        if attachment.get("public")
        else attachment.get("public_reason"),
        "url": f"/api/v1/cases/{case_id}/attachments/{attachment['digest']}",
    }


@router.post(
    "/cases/{case_id}/attachments",
    status_code=201,
    summary="Attach a file to a case (附件; type judged by content, images without EXIF)",
)
def upload(
    case_id: UUID,
    dispatch: DispatchDep,
    who: Attacher,
    file: Annotated[UploadFile, File(description="The file (JPEG/PNG/WebP/PDF/MP4/MP3)")],
    purpose: Annotated[str, Form(description=f"One of {', '.join(PURPOSES)}")] = "result",
) -> dict[str, Any]:
    data = read_upload(file, dispatch.store.max_bytes)
    return _view(case_id, dispatch.attach(case_id, who, purpose, data))


@router.get("/cases/{case_id}/attachments", summary="A case's attachments (no bytes, no names)")
def list_attachments(case_id: UUID, dispatch: DispatchDep, who: Reader) -> dict[str, Any]:
    items = [_view(case_id, a) for a in dispatch.attachments(case_id, who)]
    return {"items": items, "total": len(items)}


@router.get(
    "/cases/{case_id}/attachments/{digest}",
    summary="Download one attachment (recorded on the case: who and when)",
    response_class=Response,
)
def download(case_id: UUID, digest: str, dispatch: DispatchDep, who: Reader) -> Response:
    attachment, data = dispatch.download(case_id, who, digest)
    filename = f"attachment-{attachment['n']}.{ALLOWED_TYPES[attachment['media_type']]}"
    return Response(
        content=data,
        media_type=attachment["media_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.put(
    "/cases/{case_id}/attachments/{digest}/public",
    summary="Approve an image or MP4 video for the public portal (公开; shown while published)",
)
def approve_for_public(
    case_id: UUID, digest: str, dispatch: DispatchDep, who: Publisher
) -> dict[str, Any]:
    return _view(case_id, dispatch.approve_for_public(case_id, who, digest))


@router.delete(
    "/cases/{case_id}/attachments/{digest}/public",
    summary="Withdraw a file from the public portal, saying why (撤回公开; reason required)",
)
def withdraw_from_public(
    case_id: UUID,
    digest: str,
    body: Annotated[WithdrawalIn, Body()],
    dispatch: DispatchDep,
    who: Publisher,
) -> dict[str, Any]:
    """The body ``{"reason": "…"}`` is required: a DELETE without it is refused 422 (field
    ``reason``, code ``missing``) and withdraws nothing (ADR 22, last amendment)."""
    return _view(case_id, dispatch.withdraw_from_public(case_id, who, digest, body.reason))
