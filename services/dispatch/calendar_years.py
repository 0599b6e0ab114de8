"""The official calendar as dispatch knows it: built-in years plus the years the office
loaded (``CalendarYear`` aggregates). A mixin of :class:`DispatchApplication`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.dispatch.directory import CalendarYear
from services.dispatch.errors import Busy, Invalid
from shared.platform.calendar import CalendarError, WorkingCalendar, YearCalendar
from shared.platform.eventstore import ServiceApplication

FIRST_YEAR, LAST_YEAR = 2000, 2100
YEARS_AROUND = (1, 2)  # deadlines are counted at most this many years before/after "now"


class CalendarYears(ServiceApplication):
    tz: ZoneInfo

    def loaded_year(self, year: int) -> CalendarYear | None:
        try:
            found: object = self.repository.get(CalendarYear.create_id(year))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, CalendarYear) else None

    def working_calendar(self, *moments: datetime) -> WorkingCalendar:
        """The calendar for counting deadlines around these moments."""
        years = [m.astimezone(self.tz).year for m in moments]
        first, last = min(years) - YEARS_AROUND[0], max(years) + YEARS_AROUND[1]
        loaded = [self.loaded_year(y) for y in range(first, last + 1)]
        return WorkingCalendar(
            [
                YearCalendar(c.year, frozenset(c.holidays), frozenset(c.workdays))
                for c in loaded
                if c
            ],
            timezone=self.tz.key,
        )

    def year_view(self, year: int) -> dict[str, Any] | None:
        """The year as deadlines use it: loaded by the office, else built in, else None."""
        loaded = self.loaded_year(year)
        if loaded is not None:
            return {
                "year": year,
                "holidays": loaded.holidays,
                "workdays": loaded.workdays,
                "source": "loaded",
            }
        calendar = WorkingCalendar(timezone=self.tz.key)
        if not FIRST_YEAR <= year <= LAST_YEAR or not calendar.knows(year):
            return None
        days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
        days = [d for d in days if d.year == year]
        weekdays = [d for d in days if d.weekday() < 5]
        weekends = [d for d in days if d.weekday() >= 5]
        return {
            "year": year,
            "holidays": [d for d in weekdays if not calendar.is_working_day(d)],
            "workdays": [d for d in weekends if calendar.is_working_day(d)],
            "source": "built_in",
        }

    def load_year(
        self, year: int, holidays: list[date], workdays: list[date], actor: dict[str, Any]
    ) -> CalendarYear:
        """Load (or correct) a year; it replaces any built-in data for that year."""
        _check_year(year, holidays, workdays)
        for _ in range(3):
            loaded = self.loaded_year(year)
            if loaded is None:
                loaded = CalendarYear(year=year, holidays=holidays, workdays=workdays, actor=actor)
            else:
                loaded.reload(holidays=holidays, workdays=workdays, actor=actor)
            try:
                self.save(loaded)
            except IntegrityError:
                continue  # loaded at the same moment by someone else: apply ours on top
            return loaded
        raise Busy("日历正被同时修改,请重试 (the calendar is being changed; retry)")


def _check_year(year: int, holidays: list[date], workdays: list[date]) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid("year", f"年份须在 {FIRST_YEAR} 至 {LAST_YEAR} 之间 (year out of range)")
    problems = [
        (field, f"{day} 不在 {year} 年内 (not in year {year})")
        for field, days in (("holidays", holidays), ("workdays", workdays))
        for day in days
        if day.year != year
    ]
    problems += [
        (
            "workdays",
            f"{day} 本是工作日,调休上班日应为周末 (a make-up working day is a weekend day)",
        )
        for day in workdays
        if day.weekday() < 5
    ]
    if problems:
        raise Invalid(*problems[0], *problems[1:])
    try:
        YearCalendar(year, frozenset(holidays), frozenset(workdays))
    except CalendarError as e:
        raise Invalid("workdays", str(e)) from None
