"""催办 and 督办: the scheduler that turns deadlines into reminders and supervision notices.

Every few seconds (``TAIZHANG_SCHEDULER_INTERVAL_SECONDS``) it reads the schedule
(``schedule.py``), and for each deadline whose reminder point or end has passed it asks the
``Case`` to check its deadlines. The case records what it announced, so each announcement
happens once per deadline: a replica that races another one loses on the case's version,
tries again on the fresh state and finds nothing left to do. The same pass counts provisional
deadlines again once every year they touch is known.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dispatch.application import DispatchApplication
from services.dispatch.deadlines import DeadlineRules
from services.dispatch.errors import DispatchError
from services.dispatch.schedule import provisional_deadlines, running_deadlines
from shared.platform.periodic import Periodic

log = structlog.get_logger(__name__)


def is_due(row: Any, now: datetime, rules: DeadlineRules) -> bool:
    if now > row.deadline:
        return not row.missed_announced
    return not row.approaching_announced and now >= rules.remind_at(row.start, row.deadline)


def is_countable(row: Any, rules: DeadlineRules) -> bool:
    """Every year from the start to the deadline is known now (built in or loaded)."""
    tz = rules.calendar.timezone
    years = range(row.start.astimezone(tz).year, row.deadline.astimezone(tz).year + 1)
    return all(rules.calendar.knows(year) for year in years)


class Scheduler(Periodic):
    failure = "scheduler_pass_failed"

    def __init__(
        self,
        app: DispatchApplication,
        sessions: async_sessionmaker[AsyncSession],
        interval_seconds: float,
    ) -> None:
        self.app = app
        self.sessions = sessions
        super().__init__(interval_seconds)
        self.passes = 0  # completed passes: an operator sees the sweep at work (metrics)

    async def one_pass(self) -> None:
        await self.remind()
        await self.recount()
        self.passes += 1

    async def remind(self) -> int:
        """Check every case with a deadline due for 催办 or 督办; returns how many."""
        async with self.sessions() as session:
            rows = await running_deadlines(session)
        if not rows:
            return 0
        now = await asyncio.to_thread(self.app.now)
        rules = await asyncio.to_thread(self.app.deadline_rules, now)
        due = sorted({row.case_id for row in rows if is_due(row, now, rules)})
        for case_id in due:
            await self._safely(self.app.check_deadlines, case_id)
        return len(due)

    async def recount(self) -> int:
        """Count provisional deadlines again where the calendar now knows their years."""
        async with self.sessions() as session:
            rows = await provisional_deadlines(session)
        if not rows:
            return 0
        now = await asyncio.to_thread(self.app.now)
        rules = await asyncio.to_thread(self.app.deadline_rules, now)
        cases = sorted({row.case_id for row in rows if is_countable(row, rules)})
        for case_id in cases:
            await self._safely(self.app.recalculate, case_id)
        return len(cases)

    async def _safely(self, command: Any, case_id: UUID) -> None:
        try:
            await asyncio.to_thread(command, case_id)
        except DispatchError as e:
            log.warning("scheduler_command_refused", case_id=str(case_id), reason=str(e))
