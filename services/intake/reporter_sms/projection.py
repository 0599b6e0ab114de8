"""Events in, notices out: the one transaction that records a notice for a consenting
reporter (before anything is sent) with the projection's mark.

Follows dispatch's and tracking's streams (``shared.contracts`` only) — in one process through
the in-process followers, apart through NATS — like every other projection. A redelivered
event changes nothing (the mark), and were it applied twice its notice keeps its id
(``steps.notice_id``), so a reporter is never told one step twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.intake.application import TextedCase
from services.intake.reporter_sms.steps import (
    DECISIONS,
    RECEIPT_MASK,
    STEPS,
    notice_id,
    receipt_words,
    sms_text,
    step_of,
)
from services.intake.reporter_sms.tables import notices
from shared.contracts import Contract, Envelope
from shared.platform.projection import Handler, SqlProjection, insert_if_new
from shared.platform.sending import quiet_until
from shared.platform.settings import NotifySettings

NAME = "reporter_sms"
SOURCES = ("dispatch", "tracking")
# A step read this long after it happened is not texted: SMS turned on later (the projection
# then reads the whole history) or an outage of days must not send stale news.
STALE_AFTER = timedelta(days=3)

# A case's number (and whether it has a receipt code) when its reporter agreed to SMS
# notices, else None (the Application's).
ConsentLookup = Callable[[UUID], TextedCase | None]


class QuietHours:
    """免打扰 for reporters: no text between ``start`` and ``end``, local time."""

    def __init__(self, config: NotifySettings, timezone: str) -> None:
        self.start = time.fromisoformat(config.reporter_quiet_start)
        self.end = time.fromisoformat(config.reporter_quiet_end)
        self.zone = ZoneInfo(timezone)

    def until(self, now: datetime) -> datetime | None:
        """When the quiet hours around ``now`` end, or None outside them."""
        return quiet_until(now.astimezone(self.zone), self.start, self.end)

    def first_attempt(self, now: datetime) -> datetime:
        return self.until(now) or now


def _recording(
    texted_case: ConsentLookup,
    config: NotifySettings,
    quiet: QuietHours,
    clock: Callable[[], datetime],
    portal_url: str | None,
) -> Handler:
    async def record(session: AsyncSession, envelope: Envelope) -> None:
        event = envelope.event
        found = step_of(event)
        case_id = getattr(event, "case_id", None)
        if found is None or case_id is None:
            return
        now = clock()
        if now - envelope.occurred_at > STALE_AFTER:
            return
        texted = await asyncio.to_thread(texted_case, case_id)
        if texted is None:
            return  # anonymous, no consent, or not a tip of this office: nobody is texted
        number = texted.number
        told = found.step in DECISIONS and texted.has_receipt
        receipt = receipt_words(RECEIPT_MASK, portal_url) if told else ""
        row = {
            "id": notice_id(case_id, found.step, found.pass_no),
            "case_id": case_id,
            "number": number,
            "step": found.step.value,
            "pass_no": found.pass_no,
            # the code masked (ADR 44); the settings' limits keep the whole under 200
            "text": sms_text(number, found.words, config.reporter_where, receipt)[:200],
            "created_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": quiet.first_attempt(now),
            "sent_at": None,
            "last_error": None,
        }
        await insert_if_new(session, notices, row)

    return record


def reporter_sms_projection(
    sessions: async_sessionmaker[AsyncSession],
    texted_case: ConsentLookup,
    config: NotifySettings,
    quiet: QuietHours,
    clock: Callable[[], datetime],
    portal_url: str | None = None,
) -> SqlProjection:
    """``portal_url``: the portal's look-up page, told with the receipt code (ADR 44)."""
    handler = _recording(texted_case, config, quiet, clock, portal_url)
    handlers: dict[type[Contract], Handler] = dict.fromkeys(STEPS, handler)
    return SqlProjection(NAME, SOURCES, sessions, handlers)
