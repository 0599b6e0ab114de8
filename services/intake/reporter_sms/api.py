"""The office's view of a case's SMS notices to its reporter (ADR 37): which steps were
texted, when, and how each fared — never the phone — and the reporter's consent recorded
later (withdrawn or given again by phone). Intake's own routes: it alone keeps them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictBool

from services.intake.deps import IntakeDep
from services.intake.domain import Tip
from services.intake.reporter_sms.delivery import withhold_pending
from services.intake.reporter_sms.tables import notices
from shared.contracts.wording import (
    REPORTER_NOTICE_STATUS_LABELS,
    REPORTER_NOTICE_STEP_LABELS,
    SMS_ERROR_LABELS,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.schemas import Text500

router = APIRouter(prefix="/api/v1/tips", tags=["intake"])

# Who may see that a reporter was texted: those who may see who the reporter is.
NoticeReader = Annotated[Principal, Depends(require(Action.VIEW_REPORTER))]
# Who records a reporter's later word on texts: the office, and the hotline that takes the call.
ConsentRecorder = Annotated[Principal, Depends(require(Action.RECORD_SMS_CONSENT))]


class ReporterNotice(BaseModel):
    id: UUID = Field(description="The notice's one id, also the SMS gateway's idempotency key")
    step: str = Field(description="accepted, not_accepted, merged, replied or closed")
    step_label: str
    pass_no: int = Field(description="The pass a reply belongs to (0: a step told once)")
    text: str = Field(
        description="The text as sent: case number, step, where to look — and, at the "
        "office's decision, the receipt code masked (****-****-****-****) and the portal"
    )
    status: str = Field(description="pending, sent, failed or withheld (consent withdrawn)")
    status_label: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it goes (after quiet hours)")
    sent_at: datetime | None
    last_error: str | None
    last_error_label: str | None


class ConsentChange(BaseModel):
    consent: bool = Field(description="false: withdrawn (撤回); true: given (同意)")
    at: datetime
    by: str = Field(description="Who recorded it (the office's or the operator's name)")
    by_role: str
    reason: str | None


class ReporterNotices(BaseModel):
    case_id: UUID
    consent: bool = Field(description="Whether the reporter agrees to SMS notices now")
    consent_changes: list[ConsentChange] = Field(
        description="The reporter's word after registration, as recorded, oldest first"
    )
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
    tip = await asyncio.to_thread(intake.app.visible_tip, case_id, principal.actor())  # 404
    query = sa.select(notices).where(notices.c.case_id == case_id).order_by(notices.c.created_at)
    async with intake.reads() as session:
        rows = (await session.execute(query)).all()
    items = [_notice(dict(row._mapping)) for row in rows]
    return ReporterNotices(
        case_id=case_id,
        consent=tip.sms_consent,
        consent_changes=_changes(tip),
        sms_configured=intake.settings.notify.sms_url is not None,
        items=items,
        total=len(items),
    )


class SmsConsentIn(BaseModel):
    consent: StrictBool = Field(description="false: the reporter asked to be texted no more")
    reason: Text500 | None = Field(
        None, description="How the reporter said it (来电要求…), for the trail"
    )


class SmsConsent(BaseModel):
    case_id: UUID
    consent: bool
    withheld: int = Field(description="Notices recorded but not yet sent that now never go")
    consent_changes: list[ConsentChange]


@router.put(
    "/{case_id}/sms-consent",
    response_model=SmsConsent,
    summary="Record a reporter's consent to SMS notices withdrawn or given (撤回/同意短信告知)",
    description=(
        "The reporter's later word, taken by phone or in person: `consent: false` stops "
        "every text not yet sent and every later one; `true` (only for a named reporter who "
        "left a phone) resumes later steps — nothing withheld is sent. Recorded on the tip "
        "with who and when (the audit trail's entry); unchanged, nothing is recorded."
    ),
)
async def record_sms_consent(
    case_id: UUID, body: SmsConsentIn, intake: IntakeDep, principal: ConsentRecorder
) -> SmsConsent:
    reason = (body.reason or "").strip() or None
    tip = await asyncio.to_thread(
        intake.app.set_sms_consent, case_id, body.consent, principal.actor(), reason
    )
    withheld = 0
    if not tip.sms_consent:
        withheld = await withhold_pending(intake.writes, case_id)
        await intake.phones.forget([case_id])  # a reply finds it no more (ADR 49)
    elif intake.takes_replies:  # a reply may withdraw it again before its next text
        phone = await asyncio.to_thread(intake.app.reporter_phone, case_id)
        if phone:
            await intake.index_phone(case_id, phone)
    return SmsConsent(
        case_id=case_id,
        consent=tip.sms_consent,
        withheld=withheld,
        consent_changes=_changes(tip),
    )


def _changes(tip: Tip) -> list[ConsentChange]:
    return [
        ConsentChange(
            consent=c["consent"],
            at=c["at"],
            by=str(c["actor"].get("name") or c["actor"].get("id")),
            by_role=str(c["actor"].get("role")),
            reason=c["reason"],
        )
        for c in tip.sms_consent_changes
    ]


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
