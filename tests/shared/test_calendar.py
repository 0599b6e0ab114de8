"""Working-day deadlines on the Chinese official calendar (shared.platform.calendar)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from shared.platform.calendar import CalendarError, Deadline, WorkingCalendar, YearCalendar

pytestmark = pytest.mark.calendar

CST = timezone(timedelta(hours=8))
SHANGHAI = ZoneInfo("Asia/Shanghai")


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


def year_2027(holidays: Iterable[date], workdays: Iterable[date] = ()) -> YearCalendar:
    return YearCalendar(2027, frozenset(holidays), frozenset(workdays))


NEW_YEAR_2027 = year_2027({date(2027, 1, 1)})


# --- facts from the chinese_calendar package that the tests below rely on ---------------------


def test_package_lists_national_day_2026_as_oct_1_to_7_with_make_up_sep_20_and_oct_10() -> None:
    for day in range(1, 8):
        assert not chinese_calendar.is_workday(date(2026, 10, day))
    assert chinese_calendar.is_workday(date(2026, 9, 20))  # Sunday, 调休
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # Saturday, 调休
    assert not chinese_calendar.is_workday(date(2026, 9, 27))  # an ordinary Sunday
    assert not chinese_calendar.is_workday(date(2026, 10, 11))


def test_package_lists_spring_festival_2026_with_make_up_saturdays_feb_14_and_28() -> None:
    for day in range(15, 24):
        assert not chinese_calendar.is_workday(date(2026, 2, day))
    assert chinese_calendar.is_workday(date(2026, 2, 14))
    assert chinese_calendar.is_workday(date(2026, 2, 28))


# --- add_working_days ------------------------------------------------------------------------


def test_one_working_day_from_the_eve_of_national_day_lands_after_the_holiday() -> None:
    deadline = WorkingCalendar().add_working_days(datetime(2026, 9, 30, 10, tzinfo=CST), 1)
    assert deadline == Deadline(end_of(date(2026, 10, 8)), provisional=False)


def test_fifteen_working_days_across_national_day_count_the_make_up_saturday() -> None:
    deadline = WorkingCalendar().add_working_days(datetime(2026, 9, 30, 10, tzinfo=CST), 15)
    # Oct 8, 9, 10 (Sat, 调休), 12–16, 19–23, 26, 27
    assert deadline.at == end_of(date(2026, 10, 27))
    assert not deadline.provisional


def test_deadline_is_the_last_second_of_the_day_in_the_calendar_timezone() -> None:
    deadline = WorkingCalendar().add_working_days(datetime(2026, 3, 2, 9, tzinfo=CST), 1)
    assert deadline.at.tzinfo == SHANGHAI
    assert (deadline.at.hour, deadline.at.minute, deadline.at.second) == (23, 59, 59)
    assert deadline.at.microsecond == 0
    assert deadline.at.date() == date(2026, 3, 3)


def test_start_day_is_taken_in_the_calendar_timezone_not_the_inputs() -> None:
    # 17:00 UTC on Feb 13 is already Saturday Feb 14 (a make-up working day) in Shanghai,
    # so Feb 14 is the uncounted start day and the next working day is after Spring Festival.
    calendar = WorkingCalendar()
    assert calendar.add_working_days(datetime(2026, 2, 13, 17, tzinfo=UTC), 1).at == end_of(
        date(2026, 2, 24)
    )
    assert calendar.add_working_days(datetime(2026, 2, 13, 15, tzinfo=UTC), 1).at == end_of(
        date(2026, 2, 14)
    )


def test_deadline_across_spring_festival_counts_make_up_saturdays_as_working_days() -> None:
    calendar = WorkingCalendar()
    # Feb 13 (Fri), 14 (Sat, 调休), then the holiday Feb 15–23, then Feb 24, 25, 26
    assert calendar.add_working_days(datetime(2026, 2, 12, 9, tzinfo=CST), 5).at == end_of(
        date(2026, 2, 26)
    )
    # Feb 27 (Fri), 28 (Sat, 调休)
    assert calendar.add_working_days(datetime(2026, 2, 26, 9, tzinfo=CST), 2).at == end_of(
        date(2026, 2, 28)
    )


def test_deadline_within_a_known_year_is_not_provisional_up_to_new_years_eve() -> None:
    deadline = WorkingCalendar().add_working_days(datetime(2026, 12, 28, 10, tzinfo=CST), 3)
    assert deadline == Deadline(end_of(date(2026, 12, 31)), provisional=False)


def test_deadline_running_into_an_unknown_year_counts_weekdays_and_is_provisional() -> None:
    deadline = WorkingCalendar().add_working_days(datetime(2026, 12, 28, 10, tzinfo=CST), 10)
    # Dec 29, 30, 31, then Mon–Fri only: Jan 1, 4–8, 11
    assert deadline == Deadline(end_of(date(2027, 1, 11)), provisional=True)


def test_loading_the_unknown_year_moves_the_deadline_and_clears_provisional() -> None:
    calendar = WorkingCalendar().with_year(NEW_YEAR_2027)
    deadline = calendar.add_working_days(datetime(2026, 12, 28, 10, tzinfo=CST), 10)
    # Dec 29, 30, 31, Jan 4–8, 11, 12 (Jan 1 is now a holiday)
    assert deadline == Deadline(end_of(date(2027, 1, 12)), provisional=False)


def test_a_loaded_make_up_saturday_counts_as_a_working_day() -> None:
    calendar = WorkingCalendar([year_2027({date(2027, 1, 1)}, {date(2027, 1, 9)})])
    assert calendar.is_working_day(date(2027, 1, 9))
    deadline = calendar.add_working_days(datetime(2026, 12, 28, 10, tzinfo=CST), 10)
    # Dec 29, 30, 31, Jan 4–8, 9 (Sat, 调休), 11
    assert deadline == Deadline(end_of(date(2027, 1, 11)), provisional=False)


def test_naive_start_is_rejected() -> None:
    with pytest.raises(CalendarError, match="timezone-aware"):
        WorkingCalendar().add_working_days(datetime(2026, 3, 2, 9), 1)


@pytest.mark.parametrize("days", [0, -1])
def test_fewer_than_one_working_day_is_rejected(days: int) -> None:
    with pytest.raises(CalendarError, match="at least 1"):
        WorkingCalendar().add_working_days(datetime(2026, 3, 2, 9, tzinfo=CST), days)


# --- knows / is_provisional / is_working_day -------------------------------------------------


def test_knows_built_in_years_and_loaded_years_only() -> None:
    calendar = WorkingCalendar()
    assert calendar.knows(2004)
    assert calendar.knows(2026)
    assert not calendar.knows(2003)
    assert not calendar.knows(2027)
    assert calendar.with_year(NEW_YEAR_2027).knows(2027)


def test_with_year_returns_a_new_calendar_and_leaves_the_original_unchanged() -> None:
    calendar = WorkingCalendar()
    loaded = calendar.with_year(NEW_YEAR_2027)
    assert loaded is not calendar
    assert not calendar.knows(2027)
    assert calendar.is_working_day(date(2027, 1, 1))
    assert not loaded.is_working_day(date(2027, 1, 1))


def test_with_year_replaces_an_earlier_load_of_the_same_year() -> None:
    calendar = WorkingCalendar([NEW_YEAR_2027]).with_year(year_2027({date(2027, 1, 4)}))
    assert calendar.is_working_day(date(2027, 1, 1))
    assert not calendar.is_working_day(date(2027, 1, 4))


def test_is_provisional_only_for_days_in_unknown_years() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_provisional(date(2027, 3, 1))
    assert calendar.is_provisional(date(2003, 12, 31))
    assert not calendar.is_provisional(date(2026, 12, 31))
    assert not calendar.with_year(NEW_YEAR_2027).is_provisional(date(2027, 3, 1))


def test_unknown_year_falls_back_to_monday_to_friday() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2027, 1, 1))  # Friday
    assert not calendar.is_working_day(date(2027, 1, 2))  # Saturday
    assert not calendar.is_working_day(date(2027, 1, 3))  # Sunday
    assert calendar.is_working_day(date(2027, 1, 4))  # Monday


def test_is_working_day_follows_the_package_for_every_day_of_2026() -> None:
    calendar = WorkingCalendar()
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_a_loaded_year_overrides_the_built_in_data_for_that_year() -> None:
    # A loaded year is complete: it replaces the package's 2026, it is not merged with it.
    extra = YearCalendar(2026, frozenset({date(2026, 3, 2)}), frozenset({date(2026, 3, 7)}))
    calendar = WorkingCalendar([extra])
    assert calendar.knows(2026)
    assert not calendar.is_provisional(date(2026, 3, 2))
    assert not calendar.is_working_day(date(2026, 3, 2))  # declared holiday (a Monday)
    assert calendar.is_working_day(date(2026, 3, 7))  # declared make-up Saturday
    assert calendar.is_working_day(date(2026, 10, 1))  # built-in National Day no longer applies
    start = datetime(2026, 2, 27, 9, tzinfo=CST)
    # Built in: Feb 28 (Sat, 调休), Mar 2. Loaded: Feb 28 is a plain Saturday, Mar 2 is off.
    assert WorkingCalendar().add_working_days(start, 2).at == end_of(date(2026, 3, 2))
    assert calendar.add_working_days(start, 2).at == end_of(date(2026, 3, 4))


# --- working_days_between --------------------------------------------------------------------


def test_working_days_between_skips_national_day_and_counts_the_make_up_saturday() -> None:
    calendar = WorkingCalendar()
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 11)) == 3


def test_working_days_between_excludes_start_and_includes_end() -> None:
    calendar = WorkingCalendar()
    assert calendar.working_days_between(date(2026, 3, 2), date(2026, 3, 3)) == 1
    assert calendar.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert calendar.working_days_between(date(2026, 3, 5), date(2026, 3, 2)) == 0


def test_working_days_between_agrees_with_add_working_days() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 9, 14, 10, tzinfo=CST)
    for days in (1, 2, 5, 15, 40):
        deadline = calendar.add_working_days(start, days).at.date()
        assert calendar.working_days_between(start.date(), deadline) == days


def test_working_days_between_across_the_year_end_uses_loaded_data_when_present() -> None:
    start, end = date(2026, 12, 31), date(2027, 1, 8)
    assert WorkingCalendar().working_days_between(start, end) == 6  # Jan 1, 4–8
    assert WorkingCalendar([NEW_YEAR_2027]).working_days_between(start, end) == 5


# --- YearCalendar validation -----------------------------------------------------------------


def test_year_calendar_rejects_a_date_outside_its_year() -> None:
    with pytest.raises(CalendarError, match=r"2026-12-31 is not in year 2027.*不在 2027 年内"):
        year_2027({date(2026, 12, 31)})


def test_year_calendar_rejects_a_date_that_is_both_holiday_and_working_day() -> None:
    with pytest.raises(CalendarError, match=r"both holiday and working day: 2027-01-02.*调休"):
        year_2027({date(2027, 1, 1), date(2027, 1, 2)}, {date(2027, 1, 2)})


def test_year_calendar_rejects_datetimes_in_place_of_dates() -> None:
    with pytest.raises(CalendarError, match="not a date"):
        year_2027({datetime(2027, 1, 1, tzinfo=CST)})


def test_year_calendar_stores_any_iterable_as_frozensets() -> None:
    year = YearCalendar(2027, [date(2027, 1, 1)], (date(2027, 1, 9),))  # type: ignore[arg-type]
    assert year.holidays == frozenset({date(2027, 1, 1)})
    assert isinstance(year.workdays, frozenset)


def test_loading_the_same_year_twice_at_construction_is_rejected() -> None:
    with pytest.raises(CalendarError, match="given twice"):
        WorkingCalendar([NEW_YEAR_2027, NEW_YEAR_2027])


def test_unknown_timezone_is_rejected() -> None:
    with pytest.raises(CalendarError, match="unknown timezone"):
        WorkingCalendar(timezone="Mars/Olympus_Mons")


def test_timezone_property_is_the_configured_zone() -> None:
    assert WorkingCalendar().timezone == SHANGHAI
    assert WorkingCalendar(timezone="Asia/Urumqi").timezone == ZoneInfo("Asia/Urumqi")


# --- fraction_point --------------------------------------------------------------------------


def test_eighty_percent_of_ten_working_days_skips_the_weekends() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 3, 4, 10, tzinfo=CST)  # Wednesday
    deadline = calendar.add_working_days(start, 10).at  # end of Wed Mar 18
    point = calendar.fraction_point(start, deadline, 0.8)
    # Working time: 14 h on Mar 4, then 10 full days less the final second = 254 h − 1 s.
    # 80 % of it is 203 h 12 min − 0.8 s: 14 h + 8 days (Mar 5, 6, 9–13) = 182 h, then
    # 21 h 11 min 59.2 s into Monday Mar 16.
    assert point == datetime(2026, 3, 16, 21, 11, 59, 200000, tzinfo=SHANGHAI)
    assert point.tzinfo == SHANGHAI
    # Wall-clock interpolation would have given a different, earlier moment.
    assert point > start + (deadline - start) * 0.8


def test_fraction_point_lands_on_a_working_day_for_every_percentage() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 2, 9, 0, tzinfo=SHANGHAI)  # Monday, start of working time
    deadline = calendar.add_working_days(start, 20).at  # spans Spring Festival and two 调休
    for percent in range(101):
        point = calendar.fraction_point(start, deadline, percent / 100)
        assert calendar.is_working_day(point.date()), (percent, point)
        assert start <= point <= deadline


def test_fraction_point_on_the_seam_between_working_stretches_goes_to_the_later_one() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 3, 2, 0, tzinfo=SHANGHAI)  # Monday 00:00
    deadline = datetime(2026, 3, 14, 0, tzinfo=SHANGHAI)  # end of Friday Mar 13
    # Half of ten working days is exactly the end of Friday Mar 6 = the start of Monday Mar 9.
    assert calendar.fraction_point(start, deadline, 0.5) == datetime(2026, 3, 9, tzinfo=SHANGHAI)


def test_fraction_zero_is_start_and_one_is_deadline() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 3, 7, 2, tzinfo=UTC)  # Saturday 10:00 in Shanghai
    deadline = calendar.add_working_days(start, 5).at
    assert calendar.fraction_point(start, deadline, 0) == start
    assert calendar.fraction_point(start, deadline, 0).tzinfo == SHANGHAI
    assert calendar.fraction_point(start, deadline, 1) == deadline


def test_fraction_point_without_working_time_interpolates_wall_clock() -> None:
    calendar = WorkingCalendar()
    start = datetime(2026, 10, 3, 10, tzinfo=CST)  # inside National Day
    deadline = datetime(2026, 10, 5, 10, tzinfo=CST)
    point = calendar.fraction_point(start, deadline, 0.25)
    assert point == datetime(2026, 10, 3, 22, tzinfo=SHANGHAI)
    assert point.tzinfo == SHANGHAI


@pytest.mark.parametrize("fraction", [-0.01, 1.01, float("nan")])
def test_fraction_outside_zero_to_one_is_rejected(fraction: float) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=CST)
    with pytest.raises(CalendarError, match="fraction"):
        WorkingCalendar().fraction_point(start, start + timedelta(days=3), fraction)


def test_fraction_point_rejects_naive_times_and_a_deadline_before_start() -> None:
    calendar = WorkingCalendar()
    aware = datetime(2026, 3, 2, 9, tzinfo=CST)
    with pytest.raises(CalendarError, match="timezone-aware"):
        calendar.fraction_point(aware, datetime(2026, 3, 5, 9), 0.5)
    with pytest.raises(CalendarError, match="before start"):
        calendar.fraction_point(aware, aware - timedelta(hours=1), 0.5)
