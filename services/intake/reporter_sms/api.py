"""The office's view of a case's SMS notices to its reporter (ADR 37): which steps were
texted, when, and how each fared — never the phone. Intake's own route: it alone keeps them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.intake.deps import IntakeDep
from services.intake.reporter_sms.tables import notices
from shared.contracts.wording import (
    REPORTER_NOTICE_STATUS_LABELS,
    REPORTER_NOTICE_STEP_LABELS,
    SMS_ERROR_LABELS,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require

router = APIRouter(prefix="/api/v1/tips", tags=["intake"])

# Who may see that a reporter was texted: those who may see who the reporter is.
NoticeReader = Annotated[Principal, Depends(require(Action.VIEW_REPORTER))]


class ReporterNotice(BaseModel):
    id: UUID = Field(description="The notice's one id, also the SMS gateway's idempotency key")
    step: str = Field(description="accepted, not_accepted, merged, replied or closed")
    step_label: str
    pass_no: int = Field(description="The pass a reply belongs to (0: a step told once)")
    text: str = Field(description="The text as sent: case number, step, where to look")
    status: str = Field(description="pending, sent or failed")
    status_label: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it goes (after quiet hours)")
    sent_at: datetime | None
    last_error: str | None
    last_error_label: str | None


class ReporterNotices(BaseModel):
    case_id: UUID
    consent: bool = Field(description="Whether the reporter agreed to SMS notices")
    sms_configured: bool = Field(description="Whether this deployment sends SMS (sms_url)")
    items: list[ReporterNotice]
    total: int


@router.get(
    "/{case_id}/reporter-notices",
    response_model=ReporterNotices,
    summary="The SMS notices to the case's reporter (短信告知记录): steps, times, outcomes",
)
async def reporter_notices(
    case_id: UUID, intake: IntakeDep, principal: NoticeReader
) -> ReporterNotices:
    await asyncio.to_thread(intake.app.visible_tip, case_id, principal.actor())  # 404
    consent = await asyncio.to_thread(intake.app.texted_number, case_id) is not None
    query = sa.select(notices).where(notices.c.case_id == case_id).order_by(notices.c.created_at)
    async with intake.reads() as session:
        rows = (await session.execute(query)).all()
    items = [_notice(dict(row._mapping)) for row in rows]
    return ReporterNotices(
        case_id=case_id,
        consent=consent,
        sms_configured=intake.settings.notify.sms_url is not None,
        items=items,
        total=len(items),
    )


def _notice(row: dict[str, object]) -> ReporterNotice:
    error = row.get("last_error")
    return ReporterNotice.model_validate(
        row
        | {
            "step_label": REPORTER_NOTICE_STEP_LABELS.get(str(row["step"]), str(row["step"])),
            "status_label": REPORTER_NOTICE_STATUS_LABELS.get(
                str(row["status"]), str(row["status"])
            ),
            "last_error_label": SMS_ERROR_LABELS.get(str(error), "发送失败") if error else None,
        }
    )
