"""The office's deadlines 督办'd by the calendar (issue 19): every scheduler interval, each round
past its due moment with units that have not reported, and each rectification notice past its
reply deadline with no reply, is reminded — at once, then every ``ROUND_REMIND_WORKING_DAYS``
working days — as the system. The round (the office's own 督办 from the page included) and the
notice's ``NoticeReminders`` record each reminder, so a restart reminds no one twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from services.tracking.assessment.application import AssessmentOffice
from shared.contracts import SYSTEM_ACTOR
from shared.platform.periodic import Periodic

log = structlog.get_logger(__name__)

ROUND_REMIND_WORKING_DAYS = 3


class RoundReminders(Periodic):
    failure = "round_reminders_failed"

    def __init__(
        self,
        office: AssessmentOffice,
        now: Callable[[], datetime],
        interval_seconds: float,
        every_working_days: int = ROUND_REMIND_WORKING_DAYS,
    ) -> None:
        super().__init__(interval_seconds)
        self.office = office
        self.now = now
        self.every = every_working_days

    async def one_pass(self) -> None:
        for kind, period, units in await self.office.remind_late(
            SYSTEM_ACTOR, self.now(), self.every
        ):
            log.info("round_reminded", kind=kind, period=period, units=len(units))
        for year, unit, _ in await self.office.remind_notices(SYSTEM_ACTOR, self.now(), self.every):
            log.info("rectification_notice_reminded", year=year, unit=unit)
