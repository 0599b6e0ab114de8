"""The SMS gateway's webhook for replies to reporters' texts (上行短信, ADR 49), and the
office's count of them. The gateway authenticates with the deployment's secret
(``TAIZHANG_SMS_REPLY_SECRET``, header ``X-SMS-Gateway-Secret``); without one set, the route
does nothing but answer 404 (``sms_replies_off``): nobody can withdraw through it."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from services.intake.deps import IntakeDep
from services.intake.reporter_sms.replies import Reply
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.problems import Problem
from shared.web.schemas import Strict, Text32

router = APIRouter(prefix="/api/v1/sms", tags=["intake"])

SECRET_HEADER = "X-SMS-Gateway-Secret"
ReplyCounter = Annotated[Principal, Depends(require(Action.VIEW_REPORTER))]


async def gateway(
    intake: IntakeDep,
    secret: Annotated[str | None, Header(alias=SECRET_HEADER, include_in_schema=False)] = None,
) -> None:
    """The gateway, known by the deployment's secret; before the body is read."""
    configured = intake.settings.sms_reply_secret
    if configured is None:
        raise Problem(
            404,
            "Not Found",
            "本系统未开通短信回复 (this deployment takes no SMS replies)",
            code="sms_replies_off",
        )
    held = configured.get_secret_value().encode()
    if secret is None or not hmac.compare_digest(secret.encode(), held):
        raise Problem(
            403,
            "Forbidden",
            "短信网关密钥缺失或不正确 (the X-SMS-Gateway-Secret header is missing or wrong)",
            code="sms_gateway_refused",
        )


Gateway = Annotated[None, Depends(gateway)]
# A reply's text as the reporter typed it: anything, even empty (never refused: the gateway
# would retry it for ever); only read, never kept.
ReplyText = Annotated[str, StringConstraints(strict=True, max_length=1000)]
MessageId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=128)]
# A number as gateways write it: 13800000000, 8613800000000, +86 138-0000-0000.
Phone = Annotated[Text32, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,30}$")]


class SmsReplyIn(Strict):
    phone: Phone = Field(description="The sender's number (13800000000, +8613800000000 …)")
    text: ReplyText = Field(description="What the reporter replied (TD, 退订 …)")
    received_at: AwareDatetime = Field(description="When the gateway received it, with zone")
    message_id: MessageId | None = Field(
        None,
        description="The gateway's id of the reply (阿里云 sequence_id …): its retries carry "
        "the same one and change nothing. Without one, the same phone, time and text are "
        "the same reply.",
    )


class SmsReplyTaken(BaseModel):
    status: str = Field("recorded", description="Always `recorded`: the outcome is not told")


@router.post(
    "/replies",
    response_model=SmsReplyTaken,
    summary="A reply to a reporter's text, from the SMS gateway (上行短信: 回复TD退订)",
    description=(
        "For the SMS gateway only (header `X-SMS-Gateway-Secret`; 404 where the deployment "
        "has no `TAIZHANG_SMS_REPLY_SECRET`). An opt-out — TD, T, N, 退订 or 取消, in any "
        "case or width, with spaces or punctuation around — withdraws the reporter's consent "
        "to SMS notices on every tip the phone was texted about; anything else is counted "
        "and dropped. Neither the phone nor the text is kept. The answer is the same "
        "whatever the outcome, and a retry of the same message changes nothing."
    ),
)
async def take_reply(body: SmsReplyIn, intake: IntakeDep, _: Gateway) -> SmsReplyTaken:
    reply = Reply(body.phone, body.text, body.received_at, body.message_id)
    await intake.replies.take(reply)
    return SmsReplyTaken(status="recorded")


class SmsReplyCounts(BaseModel):
    withdrawn: int = Field(description="Replies that withdrew consent on a tip or more")
    unmatched: int = Field(description="Opt-outs from a phone with nothing left to withdraw")
    ignored: int = Field(description="Replies that were not an opt-out (dropped unread)")
    tips: int = Field(description="Tips whose consent a reply withdrew")


@router.get(
    "/replies/counts",
    response_model=SmsReplyCounts,
    summary="How many replies to reporters' texts came, by outcome (短信回复统计)",
)
async def reply_counts(intake: IntakeDep, principal: ReplyCounter) -> SmsReplyCounts:
    return SmsReplyCounts.model_validate(await intake.replies.counts())
