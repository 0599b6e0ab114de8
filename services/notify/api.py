"""Notify's API: the directory of persons, one's own inbox and settings, a case's delivery log.

Thin: each endpoint is one query of ``queries.py`` in the request's session; refusals are
domain errors answered from :data:`REFUSALS`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Query

from services.notify import errors, queries
from services.notify.deps import NotifyDep, ReadSession, WriteSession
from services.notify.domain import Role
from services.notify.schemas import (
    Channels,
    Delivery,
    DeliveryLog,
    Inbox,
    InboxItem,
    NotificationSettings,
    PersonFields,
    PersonIn,
    PersonList,
    PersonOut,
    UnreadCount,
)
from shared.web.auth import Principal
from shared.web.authz import Action, require
from shared.web.refusals import Refusal, Refusals, documented

log = structlog.get_logger(__name__)

REFUSALS: Refusals = {
    errors.NoSuchPerson: Refusal(404, "no_such_person", "通讯录中没有此人"),
    errors.PersonExists: Refusal(409, "person_exists", "通讯录中已有此人"),
    errors.NoSuchMessage: Refusal(404, "no_such_message", "没有该通知"),
    errors.NotInDirectory: Refusal(404, "not_in_directory", "您尚未登记在通讯录中"),
}

router = APIRouter(prefix="/api/v1", tags=["notify"], responses=documented(REFUSALS))

Anyone = Annotated[Principal, Depends(require(Action.READ_INBOX))]
PersonReader = Annotated[Principal, Depends(require(Action.READ_PERSONS))]
PersonManager = Annotated[Principal, Depends(require(Action.MANAGE_PERSONS))]
DeliveryReader = Annotated[Principal, Depends(require(Action.READ_DELIVERIES))]

# --- the directory of persons ----------------------------------------------------------------


@router.get("/persons", response_model=PersonList, summary="The directory of persons (通讯录)")
async def list_persons(
    session: ReadSession,
    who: PersonReader,
    unit: Annotated[str | None, Query(max_length=32)] = None,
    role: Role | None = None,
) -> PersonList:
    rows = await queries.list_persons(session, unit, role.value if role else None)
    return PersonList(items=[PersonOut.of(r) for r in rows], total=len(rows))


@router.post("/persons", status_code=201, response_model=PersonOut)
async def add_person(
    body: PersonIn, session: WriteSession, notify: NotifyDep, who: PersonManager
) -> PersonOut:
    await queries.add_person(session, {"id": body.id, **body.record()}, notify.now())
    log.info("person_added", by=who.id)
    return PersonOut.of(await queries.get_person(session, body.id))


@router.get("/persons/{person_id}", response_model=PersonOut)
async def read_person(person_id: str, session: ReadSession, who: PersonReader) -> PersonOut:
    return PersonOut.of(await queries.get_person(session, person_id))


@router.put("/persons/{person_id}", response_model=PersonOut)
async def update_person(
    person_id: str,
    body: PersonFields,
    session: WriteSession,
    notify: NotifyDep,
    who: PersonManager,
) -> PersonOut:
    await queries.update_person(session, person_id, body.record(), notify.now())
    log.info("person_updated", by=who.id)
    return PersonOut.of(await queries.get_person(session, person_id))


@router.delete("/persons/{person_id}", status_code=204)
async def remove_person(person_id: str, session: WriteSession, who: PersonManager) -> None:
    """Erase a person's entry and contacts (their past messages keep only the id)."""
    await queries.remove_person(session, person_id)
    log.info("person_removed", by=who.id)


# --- one's own inbox and settings -----------------------------------------------------------


@router.get("/inbox", response_model=Inbox, summary="My notifications (站内待办), newest first")
async def read_inbox(
    session: ReadSession,
    who: Anyone,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Inbox:
    items, total, unread_count = await queries.inbox(session, who.id, unread, limit, offset)
    return Inbox(
        items=[InboxItem.model_validate(i) for i in items], total=total, unread=unread_count
    )


@router.get("/inbox/unread-count", response_model=UnreadCount)
async def inbox_unread(session: ReadSession, who: Anyone) -> UnreadCount:
    return UnreadCount(unread=await queries.unread_count(session, who.id))


@router.post("/inbox/{message_id}/read", response_model=InboxItem, summary="Mark as read")
async def mark_read(
    message_id: UUID, session: WriteSession, notify: NotifyDep, who: Anyone
) -> InboxItem:
    item = await queries.mark_read(session, who.id, message_id, notify.now())
    return InboxItem.model_validate(item)


@router.get("/me/notification-settings", response_model=NotificationSettings)
async def read_my_settings(session: ReadSession, who: Anyone) -> NotificationSettings:
    person = await _me(session, who)
    return NotificationSettings.model_validate({k: person[k] for k in queries.SETTINGS_FIELDS})


@router.get(
    "/notification-channels",
    response_model=Channels,
    summary="Which channels this deployment sends on (电子邮件, 群机器人, 短信)",
)
async def read_channels(notify: NotifyDep, _: Anyone) -> Channels:
    configured = notify.settings.notify
    email, sms = configured.smtp_host is not None, configured.sms_url is not None
    missing = [name for name, on in (("电子邮件", email), ("短信", sms)) if not on]
    note = (
        f"本系统未开通{'、'.join(missing)},相应设置暂不生效;站内待办始终送达"
        if missing
        else "本系统已开通电子邮件和短信;站内待办始终送达"
    )
    return Channels(inbox=True, email=email, robot=True, sms=sms, note=note)


@router.put("/me/notification-settings", response_model=NotificationSettings)
async def change_my_settings(
    body: NotificationSettings, session: WriteSession, notify: NotifyDep, who: Anyone
) -> NotificationSettings:
    await _me(session, who)
    await queries.update_person(session, who.id, body.model_dump(), notify.now())
    return body


async def _me(session: ReadSession | WriteSession, who: Principal) -> dict[str, object]:
    try:
        return await queries.get_person(session, who.id)
    except errors.NoSuchPerson:
        raise errors.NotInDirectory() from None


# --- a case's delivery log ----------------------------------------------------------------


@router.get(
    "/cases/{case_id}/notifications",
    response_model=DeliveryLog,
    summary="The case's delivery log: each notification, to whom, on which channel, outcome",
)
async def read_delivery_log(
    case_id: UUID, session: ReadSession, who: DeliveryReader
) -> DeliveryLog:
    items = [Delivery.model_validate(d) for d in await queries.delivery_log(session, case_id)]
    return DeliveryLog(items=items, total=len(items))
