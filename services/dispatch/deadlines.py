"""时限: sign-for and handling deadlines by track, on the working-day calendar.

Pure computation: a :class:`DeadlineRules` is the office's policy plus the calendar as it is
known now (built-in years and the years the office loaded). The ``Case`` aggregate asks it
for deadlines; it never reads a clock or a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.contracts.vocabulary import Track
from shared.platform.calendar import Deadline, WorkingCalendar
from shared.platform.settings import DeadlinePolicy


@dataclass(frozen=True)
class DeadlineRules:
    policy: DeadlinePolicy
    calendar: WorkingCalendar

    def sign_basis(self, track: str) -> int | None:
        """Working days to sign for a case of this track; None: clock hours (immediate)."""
        return None if track == Track.IMMEDIATE else self.policy.sign_working_days

    def sign(self, track: str, start: datetime) -> Deadline:
        days = self.sign_basis(track)
        if days is None:
            hours = timedelta(hours=self.policy.immediate_sign_hours)
            return Deadline((start + hours).astimezone(self.calendar.timezone), False)
        return self.calendar.add_working_days(start, days)

    def default_handle_days(self, track: str) -> int | None:
        """The policy's handling time; None for key rectification (the plan gives it)."""
        return {
            Track.GENERAL: self.policy.general_handle_working_days,
            Track.SUPERVISED: self.policy.supervised_handle_working_days,
            Track.IMMEDIATE: self.policy.immediate_handle_working_days,
        }.get(Track(track))

    def count(self, start: datetime, days: int, extensions: Sequence[int] = ()) -> Deadline:
        """``days`` working days after ``start``, then each granted extension on top."""
        deadline = self.calendar.add_working_days(start, days)
        for extra in extensions:
            later = self.calendar.add_working_days(deadline.at, extra)
            deadline = Deadline(later.at, deadline.provisional or later.provisional)
        return deadline

    def return_until(self, dispatched_at: datetime) -> datetime:
        """A unit may return a case until the end of this moment."""
        return self.count(dispatched_at, self.policy.return_window_working_days).at

    def remind_at(self, start: datetime, deadline: datetime) -> datetime:
        """When 催办 is due: the policy's fraction of the working time has passed."""
        if deadline <= start:
            return deadline
        return self.calendar.fraction_point(start, deadline, self.policy.reminder_fraction)

    @property
    def max_extension_days(self) -> int:
        return self.policy.max_extension_working_days
