"""The texter: sends the due notices to reporters, at least once, each under its one id.

As notify's deliverer does: a pass claims due notices (a claim pushes ``next_attempt_at`` a
lease ahead, so replicas do not send one at once), unseals each reporter's phone in memory,
sends through the deployment's ``sms_url`` with the notice's id as the idempotency key, then
records the outcome. Consent is read again right before each text: a notice whose reporter
withdrew it meanwhile is ``withheld``, never sent (ADR 37 addendum). A text that tells the
receipt code holds it masked; the code is unsealed and put in at the moment of sending, in
memory, like the phone (ADR 44). Right before a text goes, the phone's keyed digest is
indexed with its tip, so that a reply 「TD」 finds what to withdraw (ADR 49). A process
that dies after sending and before recording leaves the claim to lapse: the same notice goes
again **under the same id**. Nothing goes out in the reporters' quiet hours; a failure waits
a doubling backoff, the last one is ``failed``.
Logs carry the notice's id and the outcome only — never the phone, the code or the text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.application import NoSmsConsent
from services.intake.keyvault import CaseKeyDestroyed
from services.intake.reporter_sms.projection import QuietHours
from services.intake.reporter_sms.steps import RECEIPT_MASK
from services.intake.reporter_sms.tables import notices
from shared.platform.apprise_channel import send_sms
from shared.platform.faults import REPORTER_SMS_EXIT_AFTER_SEND, crash_if
from shared.platform.sending import DeliveryFailed, backoff, claim_due
from shared.platform.settings import NotifySettings

log = structlog.get_logger(__name__)

BATCH = 20
# Codes no retry can cure: the notice fails at once.
FINAL_CODES = frozenset(
    {"no_address", "sms_not_configured", "sms_url_invalid", "identity_destroyed", "no_receipt"}
)

PhoneLookup = Callable[[UUID], str | None]  # the Application's, unsealing; NoSmsConsent
ReceiptLookup = Callable[[UUID], str | None]  # the Application's, unsealing (ADR 44)
# The phone index's (ADR 49): the phone is texted about this tip — a reply may withdraw.
Remember = Callable[[UUID, str], Awaitable[None]]
WITHHELD = "withheld"  # the reporter withdrew consent before it went: never sent


async def withhold_pending(
    sessions: async_sessionmaker[AsyncSession], case_id: UUID, notice: UUID | None = None
) -> int:
    """The case's notices not yet sent (or one of them) will not be: consent was withdrawn.
    A notice the texter holds a claim on is withheld too: the texter reads consent again
    right before sending, and a failure is not recorded over a withheld notice (no retry).
    How many were withheld."""
    where = [notices.c.case_id == case_id, notices.c.status == "pending"]
    if notice is not None:
        where.append(notices.c.id == notice)
    async with sessions() as session, session.begin():
        done = await session.execute(
            notices.update().where(*where).values(status=WITHHELD, next_attempt_at=None)
        )
    return int(done.rowcount)  # type: ignore[attr-defined]


class ReporterTexter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: NotifySettings,
        phone_of: PhoneLookup,
        quiet: QuietHours,
        clock: Callable[[], datetime],
        faults: frozenset[str] = frozenset(),
        receipt_of: ReceiptLookup | None = None,
        phones: Remember | None = None,
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.phone_of = phone_of
        self.quiet = quiet
        self.clock = clock
        self.faults = faults
        self.receipt_of = receipt_of
        self.phones = phones
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, *, once: bool = False) -> None:
        """Pass after pass until stopped; ``once``: a single pass (a deployment without
        ``sms_url`` fails what was left pending, then polls nothing)."""
        while not self._stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("reporter_sms_pass_failed")
                sent = 0
            if once:
                return
            if sent < BATCH:
                waiter = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait({waiter}, timeout=self.config.interval_seconds)
                waiter.cancel()

    async def deliver_due(self) -> int:
        """One pass: claim what is due, send each, record each. How many were attempted."""
        claimed = await self._claim()
        for notice in claimed:
            await self._deliver(notice)
        return len(claimed)

    async def _claim(self) -> list[Any]:
        now = self.clock()
        if self.quiet.until(now) is not None:
            return []  # a lapsed claim or a retry waits for the morning too
        lease = timedelta(seconds=self.config.lease_seconds)
        async with self.sessions() as session, session.begin():
            return await claim_due(session, notices, now, lease, BATCH)

    async def _deliver(self, notice: Any) -> None:
        try:
            phone, text = await asyncio.to_thread(self._prepared, notice)
            if phone and self.phones is not None:  # before it goes: a reply may come at once
                await self.phones(notice.case_id, phone)
            await asyncio.to_thread(send_sms, self.config, str(notice.id), phone, text)
        except NoSmsConsent:
            await withhold_pending(self.sessions, notice.case_id, notice.id)
            log.info("reporter_sms_withheld", notice=str(notice.id), step=notice.step)
            return
        except DeliveryFailed as failure:
            await self._failed(notice, failure.code)
            return
        crash_if(REPORTER_SMS_EXIT_AFTER_SEND, self.faults)
        async with self.sessions() as session, session.begin():
            await session.execute(
                notices.update()
                .where(notices.c.id == notice.id)
                .values(status="sent", sent_at=self.clock(), attempts=notice.attempts + 1)
            )  # over a notice withheld meanwhile too: it went, and the log must say so
        log.info("reporter_sms_sent", notice=str(notice.id), step=notice.step)

    def _prepared(self, notice: Any) -> tuple[str | None, str]:
        """The phone and the text as it goes, both unsealed in memory."""
        try:
            phone = self.phone_of(notice.case_id)  # NoSmsConsent: withdrawn meanwhile
            return phone, self._filled(notice)
        except CaseKeyDestroyed:
            raise DeliveryFailed("identity_destroyed") from None

    def _filled(self, notice: Any) -> str:
        """The text as it goes: the reporter's receipt code in place of its mask."""
        text = str(notice.text)
        if RECEIPT_MASK not in text:
            return text
        code = self.receipt_of(notice.case_id) if self.receipt_of else None
        if code is None:  # the mask is never sent in the code's place
            raise DeliveryFailed("no_receipt")
        return text.replace(RECEIPT_MASK, code)

    async def _failed(self, notice: Any, code: str) -> None:
        attempts = notice.attempts + 1
        last = attempts >= self.config.max_attempts or code in FINAL_CODES
        wait = backoff(attempts, self.config.backoff_seconds, self.config.backoff_cap_seconds)
        later = None if last else self.quiet.first_attempt(self.clock() + wait)
        async with self.sessions() as session, session.begin():
            await session.execute(
                notices.update()
                .where(notices.c.id == notice.id, notices.c.status == "pending")
                .values(
                    status="failed" if last else "pending",
                    attempts=attempts,
                    last_error=code,
                    next_attempt_at=later,
                )
            )
        log.warning("reporter_sms_failed", notice=str(notice.id), step=notice.step, error=code)
