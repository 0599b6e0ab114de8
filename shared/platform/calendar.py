"""Working-day (工作日) arithmetic on the Chinese official calendar, for deadlines (时限).

Weekends are off, statutory holidays are off, and make-up working days (调休) are working days.
Years 2004–2026 come built in from the ``chinese_calendar`` package. An office loads any other
year as a :class:`YearCalendar`; a loaded year replaces the built-in data for that year, so it
must be complete. A year that is neither built in nor loaded falls back to "Mon–Fri working,
weekends off", and every result that examined such a day is flagged provisional — never an error.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

_ONE_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """Bad calendar data or a bad argument to a calendar computation."""


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range(date(year, 12, 31).timetuple().tm_yday)]


@functools.cache
def _weekday_table(year: int) -> tuple[bool, ...]:
    """The fallback for an unknown year: Mon–Fri working, weekends off."""
    return tuple(d.weekday() < 5 for d in _days_of(year))


@functools.cache
def _builtin_table(year: int) -> tuple[bool, ...] | None:
    """The package's working-day flags for each day of `year`, or None if it lacks the year."""
    try:
        return tuple(chinese_calendar.is_workday(d) for d in _days_of(year))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class YearCalendar:
    """A year loaded by the office: its statutory holidays and its make-up working days.

    `holidays` are days off that would otherwise be working days; `workdays` are weekend days
    that are working days (调休). Any iterable of dates is accepted and stored as a frozenset.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        for day in self.holidays | self.workdays:
            if type(day) is not date:
                raise CalendarError(f"{day!r} is not a date / 不是日期")
            if day.year != self.year:
                raise CalendarError(
                    f"{day} is not in year {self.year} / 日期 {day} 不在 {self.year} 年内"
                )
        both = sorted(self.holidays & self.workdays)
        if both:
            listed = ", ".join(str(d) for d in both)
            raise CalendarError(
                f"dates both holiday and working day: {listed}"
                f" / 日期既是节假日又是调休工作日：{listed}"
            )

    def table(self) -> tuple[bool, ...]:
        """Working-day flags for each day of the year, in order."""
        return tuple(
            d in self.workdays or (d.weekday() < 5 and d not in self.holidays)
            for d in _days_of(self.year)
        )


@dataclass(frozen=True)
class Deadline:
    """The end of the last working day counted, and whether an unknown year was involved."""

    at: datetime
    provisional: bool


class WorkingCalendar:
    """Immutable working-day calendar in one timezone; see the module docstring."""

    def __init__(self, years: Iterable[YearCalendar] = (), timezone: str = "Asia/Shanghai") -> None:
        try:
            self._tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"unknown timezone {timezone!r} / 未知时区") from exc
        self._years: dict[int, YearCalendar] = {}
        for year in years:
            if year.year in self._years:
                raise CalendarError(f"year {year.year} given twice / {year.year} 年重复加载")
            self._years[year.year] = year
        self._tables = {y: cal.table() for y, cal in self._years.items()}

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    def with_year(self, year: YearCalendar) -> WorkingCalendar:
        """A new calendar with `year` loaded, replacing any earlier load of the same year."""
        others = [y for y in self._years.values() if y.year != year.year]
        return WorkingCalendar([*others, year], timezone=self._tz.key)

    def _table(self, year: int) -> tuple[tuple[bool, ...], bool]:
        """(working-day flags for the year, whether the year is known)."""
        table = self._tables.get(year) or _builtin_table(year)
        return (table, True) if table is not None else (_weekday_table(year), False)

    def knows(self, year: int) -> bool:
        """True if the year is loaded or built in (chinese_calendar)."""
        return self._table(year)[1]

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day; for an unknown year, Mon–Fri are."""
        return self._table(day.year)[0][day.timetuple().tm_yday - 1]

    def is_provisional(self, day: date) -> bool:
        """True if `day` lies in a year neither built in nor loaded."""
        return not self.knows(day.year)

    def _local(self, moment: datetime, name: str) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise CalendarError(f"{name} must be timezone-aware / {name} 必须带时区")
        return moment.astimezone(self._tz)

    def add_working_days(self, start: datetime, days: int) -> Deadline:
        """The end (23:59:59 local) of the `days`-th working day after `start`'s local date.

        The day of `start` itself never counts. `days` must be at least 1. The result is
        provisional if any day from start's date + 1 to the deadline day is in an unknown year.
        """
        if not isinstance(days, int) or days < 1:
            raise CalendarError(f"days must be at least 1, got {days} / 工作日数至少为 1")
        day = self._local(start, "start").date()
        provisional = False
        while days:
            day += _ONE_DAY
            table, known = self._table(day.year)
            provisional = provisional or not known
            if table[day.timetuple().tm_yday - 1]:
                days -= 1
        return Deadline(datetime.combine(day, time(23, 59, 59), tzinfo=self._tz), provisional)

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days d with start < d <= end (0 if end <= start)."""
        total = 0
        day = start + _ONE_DAY
        while day <= end:
            last = min(end, date(day.year, 12, 31))
            table = self._table(day.year)[0]
            total += sum(table[day.timetuple().tm_yday - 1 : last.timetuple().tm_yday])
            day = last + _ONE_DAY
        return total

    def fraction_point(self, start: datetime, deadline: datetime, fraction: float) -> datetime:
        """The moment when `fraction` of the working time from `start` to `deadline` has passed.

        Each working day contributes the part of its 24 local hours that lies between start and
        deadline; non-working days contribute nothing. A point exactly on the seam between two
        working stretches is placed at the start of the later one, so for 0 < fraction < 1 the
        result always lies on a working day. Fraction 0 gives `start`, 1 gives `deadline`. With
        no working time in between, wall-clock time is interpolated instead. The result is in the
        calendar's timezone.
        """
        if not 0 <= fraction <= 1:
            raise CalendarError(f"fraction must be within [0, 1], got {fraction} / 比例须在 0 到 1")
        begin, end = self._local(start, "start"), self._local(deadline, "deadline")
        if end < begin:
            raise CalendarError("deadline is before start / 截止时间早于开始时间")
        if fraction == 0 or fraction == 1:
            return begin if fraction == 0 else end
        begin_utc, end_utc = begin.astimezone(UTC), end.astimezone(UTC)
        stretches: list[tuple[datetime, datetime]] = []  # working time, in UTC
        day = begin.date()
        while day <= end.date():
            if self.is_working_day(day):
                midnight = datetime.combine(day, time(), tzinfo=self._tz).astimezone(UTC)
                next_midnight = datetime.combine(day + _ONE_DAY, time(), tzinfo=self._tz)
                lo, hi = max(begin_utc, midnight), min(end_utc, next_midnight.astimezone(UTC))
                if hi > lo:
                    stretches.append((lo, hi))
            day += _ONE_DAY
        total = sum((hi - lo for lo, hi in stretches), timedelta())
        if not total:
            return (begin_utc + (end_utc - begin_utc) * fraction).astimezone(self._tz)
        remaining = total * fraction
        for lo, hi in stretches:
            if remaining < hi - lo:
                return (lo + remaining).astimezone(self._tz)
            remaining -= hi - lo
        return end
