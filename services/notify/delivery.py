"""The deliverer: sends the outbox's due messages, at least once, each under its one id.

One pass claims due messages (a claim pushes ``next_attempt_at`` a lease ahead, so replicas
do not send the same message at the same time), sends each on its channel, then records the
outcome. A process that dies after sending and before recording leaves the claim to expire:
the message is sent again **under the same id** (SMTP ``Message-ID``, the webhook's
``Idempotency-Key``), and the receiver drops the repeat. A failure waits a doubling backoff;
after the last attempt the message is ``failed`` (shown in the case's delivery log).
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify import digest
from services.notify.domain import DIGEST_EVENT, Channel
from services.notify.tables import messages, persons
from shared.platform.apprise_channel import send_sms as sms
from shared.platform.apprise_channel import through_apprise
from shared.platform.faults import NOTIFY_EXIT_AFTER_SEND, crash_if
from shared.platform.sending import DeliveryFailed, backoff, claim_due
from shared.platform.settings import NotifySettings

log = structlog.get_logger(__name__)

BATCH = 20
# Codes no retry can cure: the message fails at once.
FINAL_CODES = frozenset({"no_address", "sms_not_configured", "sms_url_invalid"})


def send_email(config: NotifySettings, message: Any, person: dict[str, Any], body: str) -> None:
    if not config.smtp_host:
        raise DeliveryFailed("smtp_not_configured")
    if not person.get("email"):
        raise DeliveryFailed("no_address")
    mail = EmailMessage()
    mail["Message-ID"] = f"<{message.id}@{config.message_id_domain}>"
    mail["From"] = config.sender
    mail["To"] = person["email"]
    mail["Subject"] = message.title
    mail["Date"] = formatdate(localtime=False)
    mail.set_content(body)
    try:
        with smtplib.SMTP(
            config.smtp_host, config.smtp_port, timeout=config.send_timeout_seconds
        ) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_username and config.smtp_password is not None:
                smtp.login(config.smtp_username, config.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"smtp_{type(error).__name__}"[:64]) from error


def send_robot(config: NotifySettings, message: Any, person: dict[str, Any], body: str) -> None:
    """A group robot's webhook through Apprise (``json://``, ``dingtalk://``, ``wecombot://``,
    ``feishu://`` …); where the plugin sends HTTP headers, the idempotency key is one."""
    url = person.get("robot_url")
    if not url:
        raise DeliveryFailed("no_address")
    through_apprise(
        url,
        str(message.id),
        "robot",
        body=body,
        title=message.title,
        timeout=config.send_timeout_seconds,
    )


def send_sms(config: NotifySettings, message: Any, person: dict[str, Any], body: str) -> None:
    """A text message through the Apprise URL of ``sms_url`` with the person's phone in it
    (a provider's plugin, or a gateway's ``json://`` with the idempotency key as a header).
    Short and with nothing personal: the title and the case number, never ``body``."""
    sms(config, str(message.id), person.get("phone"), sms_text(message))


def sms_text(message: Any) -> str:
    """The title (it names the case's number) and the number where the title lacks it."""
    number = message.case_number
    if number and number not in message.title:
        return f"{message.title}(案件编号 {number})"
    return str(message.title)


def _body(message: Any) -> str:
    lines = [message.title]
    if message.case_number:
        lines.append(f"案件编号:{message.case_number}")
    lines.append(f"通知编号:{message.id}")
    return "\n".join(lines)


SENDERS: dict[str, Callable[[NotifySettings, Any, dict[str, Any], str], None]] = {
    Channel.EMAIL.value: send_email,
    Channel.ROBOT.value: send_robot,
    Channel.SMS.value: send_sms,
}


class Deliverer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: NotifySettings,
        clock: Callable[[], datetime],
        faults: frozenset[str] = frozenset(),
        timezone: str = "Asia/Shanghai",
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.faults = faults
        self.timezone = timezone
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.passes = 0

    def stop(self) -> None:
        self._stop.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("notify_pass_failed")
                sent = 0
            self.passes += 1
            if sent < BATCH:
                self._wake.clear()
                waiters = {asyncio.ensure_future(e.wait()) for e in (self._stop, self._wake)}
                await asyncio.wait(
                    waiters, timeout=self.config.interval_seconds, return_when="FIRST_COMPLETED"
                )
                for waiter in waiters:
                    waiter.cancel()

    async def deliver_due(self) -> int:
        """One pass: make the daily digests that are due, claim what is due, send each,
        record each. How many were attempted."""
        await self._digests()
        claimed = await self._claim()
        for message, person in claimed:
            await self._deliver(message, person)
        return len(claimed)

    async def _digests(self) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await digest.collect(session, self.clock(), self.timezone, self.config.digest_hour)
        except IntegrityError:
            pass  # another replica made the same digest at the same moment: it stands

    async def _claim(self) -> list[tuple[Any, dict[str, Any]]]:
        lease = timedelta(seconds=self.config.lease_seconds)
        on_a_sender = messages.c.channel.in_(list(SENDERS))
        async with self.sessions() as session, session.begin():
            taken = await claim_due(session, messages, self.clock(), lease, BATCH, on_a_sender)
            claimed = []
            for message in taken:
                person = (
                    await session.execute(
                        sa.select(persons).where(persons.c.id == message.person_id)
                    )
                ).first()
                claimed.append((message, dict(person._mapping) if person else {}))
        return claimed

    async def _deliver(self, message: Any, person: dict[str, Any]) -> None:
        body = _body(message)
        if message.event_type == DIGEST_EVENT:
            async with self.sessions() as session:
                body = await digest.text(session, message, self.timezone)
        try:
            await asyncio.to_thread(SENDERS[message.channel], self.config, message, person, body)
        except DeliveryFailed as failure:
            await self._failed(message, failure.code)
            return
        crash_if(NOTIFY_EXIT_AFTER_SEND, self.faults)
        async with self.sessions() as session, session.begin():
            await session.execute(
                messages.update()
                .where(messages.c.id == message.id)
                .values(status="sent", sent_at=self.clock(), attempts=message.attempts + 1)
            )
        log.info("notification_sent", message=str(message.id), channel=message.channel)

    async def _failed(self, message: Any, code: str) -> None:
        attempts = message.attempts + 1
        last = attempts >= self.config.max_attempts or code in FINAL_CODES
        wait = backoff(attempts, self.config.backoff_seconds, self.config.backoff_cap_seconds)
        async with self.sessions() as session, session.begin():
            await session.execute(
                messages.update()
                .where(messages.c.id == message.id)
                .values(
                    status="failed" if last else "pending",
                    attempts=attempts,
                    last_error=code,
                    next_attempt_at=None if last else self.clock() + wait,
                )
            )
        log.warning(
            "notification_failed", message=str(message.id), channel=message.channel, error=code
        )
