"""The warning sweep (ADR 32): every scheduler interval, the rule runs over the last days and
each warning that fired is recorded once (``InsightApplication.raise_warning``) — the event
the notify service tells the office of and the ledger keeps for the monthly circular.

The days swept reach back one cooldown, so a key that fired stays quiet as the rule says;
a warning already recorded is recorded again in vain (its id is its identity), which is what
makes a replica's race and a restart harmless."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.insight import queries
from services.insight.application import InsightApplication
from services.insight.projection import NAME
from services.insight.warning import LEVELS, WARNING_DEFAULT, Warning
from shared.contracts.categories import BY_CODE
from shared.platform.periodic import Periodic

log = structlog.get_logger(__name__)


def fields_of(warning: Warning, numbers: dict[str, str]) -> dict[str, Any]:
    """A warning as the event records it: labels in Chinese, its cases by number."""
    case_ids = sorted(warning.case_ids, key=lambda c: numbers.get(c, c))
    category = BY_CODE.get(warning.category)
    return {
        "category": warning.category,
        "category_label": category.name if category else warning.category,
        "keys": [
            {"level": level, "level_label": LEVELS[level], "value": value}
            for level, value in warning.keys
        ],
        "day": warning.day,
        "count": warning.count,
        "expected": round(warning.expected, 2),
        "reason": warning.reason,
        "case_ids": case_ids,
        "case_numbers": [numbers.get(c, "") for c in case_ids],
    }


class WarningSweep(Periodic):
    failure = "warning_sweep_failed"

    def __init__(
        self,
        app: InsightApplication,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        timezone: str,
        interval_seconds: float,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.now = now
        self.timezone = timezone
        self._last_swept: tuple[date, dict[str, int]] | None = None
        super().__init__(interval_seconds)

    async def one_pass(self) -> None:
        # Nothing new since the last pass (no tip, no triage, no close) on the same day: the
        # rule would find what it found. A city's pass reads weeks of tips; most passes of a
        # quiet night or a slow afternoon are saved.
        today = self.now().astimezone(ZoneInfo(self.timezone)).date()
        async with self.sessions() as session:
            seen = (today, await queries.positions(session, NAME))
        if seen == self._last_swept:
            return
        await self.sweep()
        self._last_swept = seen

    async def sweep(self) -> int:
        """Record the warnings of the swept days not recorded yet; returns how many."""
        today = self.now().astimezone(ZoneInfo(self.timezone)).date()
        first = today - timedelta(days=WARNING_DEFAULT.cooldown)
        async with self.sessions() as session:
            raised, numbers = await queries.warnings(session, first, today, self.timezone)
        recorded = 0
        for warning in raised:
            if await asyncio.to_thread(self.app.raise_warning, fields_of(warning, numbers)):
                recorded += 1
                log.info("warning_raised", category=warning.category, day=str(warning.day))
        return recorded
