"""The phones intake has texted, by a keyed digest only (ADR 49), and the tips each was
texted about: how a reply 「TD」 from the gateway finds what to withdraw.

Issue 16's rule holds: nothing derived from a phone without a key is stored. The digest is
the request fingerprints' HMAC (``Fingerprinter``, ``TAIZHANG_FINGERPRINT_KEYS``: rotated
newest first, so a look-up tries every listed key) over a domain-separated canonical number.
A row is written right before a text goes (the texter holds the phone then, unsealed in
memory), removed when the reporter withdraws, and removed with the tip's identity when its
key is shredded after retention (by the tip's registration time, as the keys are).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.application import NoSmsConsent
from services.intake.keyvault import CaseKeyDestroyed
from services.intake.reporter_sms.optout import canonical_phone
from services.intake.reporter_sms.tables import MIGRATIONS, notices, phones
from shared.platform.projection import insert_if_new
from shared.platform.protection import Fingerprinter
from shared.platform.readmodel import create_engine, migrate, sessionmaker
from shared.platform.settings import Settings

DOMAIN = "intake/reporter-phone/v1:"  # never the same input as a request's fingerprint
# Texts sent before replies were taken (an upgrade) are matched when sent this recently: a
# reply comes within days of a text, and older sends are not unsealed again at every start.
BACKFILL_WINDOW = timedelta(days=30)

RegisteredAt = Callable[[UUID], datetime]  # the Application's: when the tip was registered


class PhoneIndex:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fingerprints: Fingerprinter,
        registered_at: RegisteredAt,
    ) -> None:
        self.sessions = sessions
        self.fingerprints = fingerprints
        self.registered_at = registered_at

    def digests(self, phone: str) -> list[str]:
        """The phone's keyed digest under every listed key (the current one first)."""
        canonical = canonical_phone(phone)
        return self.fingerprints.signatures(DOMAIN + canonical) if canonical else []

    async def remember(self, case_id: UUID, phone: str) -> None:
        """The phone was (is about to be) texted about this tip."""
        found = self.digests(phone)
        if not found:
            return
        registered = await asyncio.to_thread(self.registered_at, case_id)
        row = {"phone_digest": found[0], "case_id": case_id, "registered_at": registered}
        async with self.sessions() as session, session.begin():
            await insert_if_new(session, phones, row)

    async def cases(self, phone: str) -> list[UUID]:
        """The tips this phone was texted about (and not withdrawn from since)."""
        found = self.digests(phone)
        if not found:
            return []
        query = sa.select(phones.c.case_id).where(phones.c.phone_digest.in_(found)).distinct()
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())

    async def forget(self, case_ids: Iterable[UUID]) -> None:
        """The reporter withdrew: the tips' phone is not looked up again (a later consent
        and text write it anew)."""
        ids = list(case_ids)
        if ids:
            async with self.sessions() as session, session.begin():
                await session.execute(phones.delete().where(phones.c.case_id.in_(ids)))

    async def texted_before_index(self, now: datetime) -> list[UUID]:
        """Tips texted in the last :data:`BACKFILL_WINDOW` whose phone is not in the index
        (texts sent before this index existed; also withdrawn and shredded ones, which the
        caller skips)."""
        indexed = sa.select(phones.c.case_id)
        query = (
            sa.select(notices.c.case_id)
            .where(
                notices.c.status == "sent",
                notices.c.sent_at >= now - BACKFILL_WINDOW,
                notices.c.case_id.not_in(indexed),
            )
            .distinct()
        )
        async with self.sessions() as session:
            return list((await session.execute(query)).scalars())

    async def backfill(self, phone_of: Callable[[UUID], str | None], now: datetime) -> int:
        """Index the phones of texts sent before the index existed (once: indexed ones are
        not read again; a tip withdrawn or shredded since is skipped). How many."""
        indexed = 0
        for case_id in await self.texted_before_index(now):
            try:
                phone = await asyncio.to_thread(phone_of, case_id)  # unsealed in memory
            except (NoSmsConsent, CaseKeyDestroyed):
                continue
            if phone:
                await self.remember(case_id, phone)
                indexed += 1
        return indexed


async def forget_registered_before(
    sessions: async_sessionmaker[AsyncSession], cutoff: datetime
) -> int:
    """Remove the phones of tips registered before ``cutoff``: their identity keys are
    shredded (the same cutoff), so their phones must not be findable either."""
    async with sessions() as session, session.begin():
        done = await session.execute(phones.delete().where(phones.c.registered_at < cutoff))
    return int(done.rowcount)  # type: ignore[attr-defined]


async def shred_phones_registered_before(settings: Settings, cutoff: datetime) -> int:
    """:func:`forget_registered_before` from the command line (``taizhang reporters
    shred-expired``), intake's read tables migrated first (a deployment not started since
    the upgrade)."""
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1}), writer=True)
    try:
        await migrate(engine, MIGRATIONS, "alembic_version_intake")
        return await forget_registered_before(sessionmaker(engine), cutoff)
    finally:
        await engine.dispose()
