"""Tracking's 催办 and 督办 (ADR 32): the report back to a higher level (issue 18) and the
two answers a named reporter is owed (issue 20), like dispatch's deadline reminders (ADR 8).

Every scheduler interval the pass reads the ledger — which holds both deadlines: the
procedure's report-back date, and the answers computed from dispatch's and tracking's sides
(``ledger.reporter_answers``) — and for each deadline within ``REMIND_WORKING_DAYS`` of now,
or past it, asks the aggregate to announce it. The aggregate records each announcement once,
so a replica's race or a restart announces nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger.presentation import Context
from services.tracking.ledger.reporter_answers import owed_answers
from services.tracking.ledger.tables import ledger
from shared.contracts import SYSTEM_ACTOR
from shared.platform.calendar import WorkingCalendar
from shared.platform.periodic import Periodic

log = structlog.get_logger(__name__)

REMIND_WORKING_DAYS = 3  # 催办 once a deadline is this many working days away or nearer


class Reminded(Protocol):
    """The commands the pass gives (tracking's store)."""

    def remind_report_back(self, case_id: UUID, missed: bool, actor: dict[str, Any]) -> Any: ...
    def remind_answer(
        self, case_id: UUID, answer: str, due: datetime, missed: bool, actor: dict[str, Any]
    ) -> Any: ...


def state(due: datetime, now: datetime, calendar: WorkingCalendar) -> str | None:
    """``missed`` past the deadline, ``approaching`` within the reminder's working days."""
    if now > due:
        return "missed"
    if calendar.add_working_days(now, REMIND_WORKING_DAYS).at >= due:
        return "approaching"
    return None


def deadlines(row: dict[str, Any], ctx: Context) -> list[tuple[str, datetime]]:
    """The case's deadlines not met yet: (``report_back`` or an answer's kind, due)."""
    found: list[tuple[str, datetime]] = []
    procedure = row.get("accountability_procedure") or {}
    due = procedure.get("report_back_due")
    if procedure.get("report_back_required") and not procedure.get("reported_on") and due:
        found.append(("report_back", datetime.fromisoformat(due)))
    for answer in owed_answers(row, ctx) or []:
        if answer["answered_at"] is None:
            found.append((answer["kind"], answer["due"]))
    return found


def due_deadlines(row: dict[str, Any], ctx: Context) -> list[tuple[str, datetime, str]]:
    """(what, due, state) for each deadline of the case to announce now."""
    return [
        (what, due, now_state)
        for what, due in deadlines(row, ctx)
        if (now_state := state(due, ctx.now, ctx.calendar)) is not None
    ]


class TrackingReminders(Periodic):
    failure = "tracking_reminders_failed"

    def __init__(
        self,
        store: Reminded,
        sessions: async_sessionmaker[AsyncSession],
        context: Callable[[AsyncSession], Any],
        interval_seconds: float,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.context = context
        super().__init__(interval_seconds)

    async def one_pass(self) -> None:
        await self.remind()

    async def remind(self) -> int:
        """Ask for every due announcement; returns how many deadlines were due."""
        async with self.sessions() as session:
            ctx = await self.context(session)
            rows = await session.execute(
                sa.select(ledger).where(
                    ledger.c.closed_out_at.is_(None),
                    sa.or_(
                        ledger.c.named.is_(True), ledger.c.accountability_procedure.is_not(None)
                    ),
                )
            )
            due = [(r.case_id, d) for r in rows for d in due_deadlines(dict(r._mapping), ctx)]
        for case_id, (what, at, now_state) in due:
            await self._announce(case_id, what, at, now_state == "missed")
        return len(due)

    async def _announce(self, case_id: UUID, what: str, due: datetime, missed: bool) -> None:
        try:
            if what == "report_back":
                await asyncio.to_thread(
                    self.store.remind_report_back, case_id, missed, SYSTEM_ACTOR
                )
            else:
                await asyncio.to_thread(
                    self.store.remind_answer, case_id, what, due, missed, SYSTEM_ACTOR
                )
        except Exception as e:  # one case's refusal must not stop the others'
            log.warning("tracking_reminder_refused", case_id=str(case_id), reason=type(e).__name__)
