"""A reporter's reply to a text (上行短信), as the SMS gateway delivers it (ADR 49).

An opt-out (「TD」, 「退订」 …: ``optout.is_opt_out``) withdraws consent on every tip the phone
was texted about and still agrees for — the same ``Tip.SmsConsentWithdrawn`` the office
records from a call, by the actor 「举报人(短信回复)」 — and withholds what was not sent yet.
Anything else is counted as ``ignored``; neither the phone nor the text is kept. The gateway
retries: a message it delivered before (its id, keyed) gets the outcome recorded then and
changes nothing — even if consent was given again meanwhile.
Logs carry the outcome and a count only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.application import TipNotFound
from services.intake.reporter_sms.delivery import withhold_pending
from services.intake.reporter_sms.optout import canonical_phone, is_opt_out
from services.intake.reporter_sms.phones import PhoneIndex
from services.intake.reporter_sms.tables import replies
from shared.platform.projection import insert_if_new
from shared.platform.protection import Fingerprinter

log = structlog.get_logger(__name__)

DOMAIN = "intake/sms-reply/v1:"

Withdraw = Callable[[UUID], bool]  # the Application's: withdrawn now (False: already)


class Outcome(StrEnum):
    WITHDRAWN = "withdrawn"  # consent withdrawn on one tip or more
    UNMATCHED = "unmatched"  # an opt-out, from a phone with nothing (left) to withdraw
    IGNORED = "ignored"  # not an opt-out: counted, never kept


@dataclass(frozen=True)
class Reply:
    phone: str
    text: str
    received_at: datetime
    message_id: str | None = None  # the gateway's id of the reply (its retries repeat it)


class ReplyDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        index: PhoneIndex,
        fingerprints: Fingerprinter,
        withdraw: Withdraw,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.index = index
        self.fingerprints = fingerprints
        self.withdraw = withdraw
        self.clock = clock

    async def take(self, reply: Reply) -> Outcome:
        """The reply's outcome, acted on once per message."""
        keys = self._message_digests(reply)
        known = await self._known(keys)
        if known is not None:
            return known
        tips = 0
        if not is_opt_out(reply.text):
            outcome = Outcome.IGNORED
        else:
            tips = await self._withdrawn(await self.index.cases(reply.phone))
            outcome = Outcome.WITHDRAWN if tips else Outcome.UNMATCHED
        await self._record(keys[0], reply, outcome, tips)
        log.info("sms_reply_taken", outcome=outcome.value, tips=tips)
        return outcome

    async def counts(self) -> dict[str, int]:
        """How many replies had each outcome, and how many tips they withdrew consent on."""
        query = sa.select(replies.c.outcome, sa.func.count(), sa.func.sum(replies.c.tips))
        async with self.sessions() as session:
            rows = (await session.execute(query.group_by(replies.c.outcome))).all()
        found = {str(row[0]): int(row[1]) for row in rows}
        counted = {o.value: found.get(o.value, 0) for o in Outcome}
        return counted | {"tips": sum(int(row[2] or 0) for row in rows)}

    async def _withdrawn(self, cases: list[UUID]) -> int:
        """Withdraw on each tip; withhold what was not sent; forget the phone for them."""
        withdrawn = 0
        for case_id in cases:
            try:
                withdrawn += await asyncio.to_thread(self.withdraw, case_id)
            except TipNotFound:
                continue
            await withhold_pending(self.sessions, case_id)
        await self.index.forget(cases)
        return withdrawn

    def _message_digests(self, reply: Reply) -> list[str]:
        """The reply's keyed identity under every listed key: the gateway's id, or (a gateway
        that gives none) the phone, time and text together — never any of them in clear."""
        if reply.message_id is not None:
            identity = f"id:{reply.message_id}"
        else:
            phone = canonical_phone(reply.phone) or ""
            identity = f"m:{phone}|{reply.received_at.isoformat()}|{reply.text}"
        return self.fingerprints.signatures(DOMAIN + identity)

    async def _known(self, keys: list[str]) -> Outcome | None:
        query = sa.select(replies.c.outcome).where(replies.c.message_digest.in_(keys))
        async with self.sessions() as session:
            found = (await session.execute(query)).scalars().first()
        return Outcome(found) if found is not None else None

    async def _record(self, key: str, reply: Reply, outcome: Outcome, tips: int) -> None:
        row = {
            "message_digest": key,
            "received_at": reply.received_at,
            "recorded_at": self.clock(),
            "outcome": outcome.value,
            "tips": tips,
        }
        async with self.sessions() as session, session.begin():
            await insert_if_new(session, replies, row)
