"""The overdue rule on every day of the week: once a deadline has passed the case is overdue and
its countdown reads "超期 N", never "剩 0" — over a weekend, a statutory holiday and a make-up
working day (调休) alike. The week is 2026-02-12 (Thu) to 2026-02-18 (Wed): Saturday 14 February
is a make-up working day, the Spring Festival holiday runs from Sunday 15 to Monday 23.
These tests pin "now" themselves; the rest of the suite runs at ``tests.support.pinned.NOW``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.tracking.ledger.presentation import countdown, is_overdue, working_days_left
from shared.platform.calendar import WorkingCalendar

pytestmark = pytest.mark.calendar

CST = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar()
WEEK = [date(2026, 2, 12) + timedelta(days=n) for n in range(7)]


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CST)


def in_progress(handle_deadline: datetime) -> dict[str, Any]:
    return {
        "dispatch_status": "in_progress",
        "track": "general",
        "signed_at": at(date(2026, 2, 2)),
        "sign_deadline": at(date(2026, 2, 3), 17, 30),
        "handle_deadline": handle_deadline,
    }


def test_the_calendar_of_the_week_is_what_the_module_says() -> None:
    working = [CALENDAR.is_working_day(day) for day in WEEK]
    assert working == [True, True, True, False, False, False, False]
    assert WEEK[2].weekday() == 5  # Saturday, worked (调休)
    assert WEEK[3].weekday() == 6  # Sunday, inside the holiday


@pytest.mark.parametrize("today", WEEK, ids=lambda d: f"{d:%a-%m-%d}")
def test_a_case_due_on_thursday_is_overdue_by_at_least_one_day_from_friday_on(
    today: date,
) -> None:
    row = in_progress(at(WEEK[0], 17, 30))
    now = at(today)
    left = working_days_left(row, now, CALENDAR)
    shown = countdown(row, now, CALENDAR)
    assert shown is not None and left is not None
    if today == WEEK[0]:
        assert (left, shown["label"], is_overdue(row, now)) == (0, "今日到期", False)
        return
    # Friday one working day late, from the worked Saturday on two: holidays add nothing.
    assert left == (-1 if today == WEEK[1] else -2)
    assert is_overdue(row, now) and shown["overdue"]
    assert shown["label"] == f"超期 {-left} 个工作日"


@pytest.mark.parametrize("today", [WEEK[3] + timedelta(days=n) for n in range(7)])
def test_overdue_on_a_day_off_never_reads_as_time_left(today: date) -> None:
    """Due on the holiday's Sunday morning, seen on each later day of the holiday."""
    row = in_progress(at(WEEK[3], 9))
    left = working_days_left(row, at(today), CALENDAR)
    shown = countdown(row, at(today), CALENDAR)
    assert left == -1 and shown is not None
    assert shown["label"] == "超期 1 个工作日"
    assert "剩" not in shown["label"]


def test_before_the_deadline_the_countdown_counts_working_days_left() -> None:
    row = in_progress(at(date(2026, 2, 26), 17, 30))  # Thursday after the holiday
    shown = countdown(row, at(WEEK[1]), CALENDAR)  # Friday before it
    # Saturday 14 (worked), then 24, 25, 26 February.
    assert shown == {
        "deadline": "handle",
        "unit": "working_days",
        "left": 4,
        "overdue": False,
        "label": "剩 4 个工作日",
    }


def test_an_immediate_cases_sign_for_deadline_counts_down_in_hours() -> None:
    dispatched = at(WEEK[3], 22)  # 即办 signs within two clock hours, holiday or not
    row = {
        "dispatch_status": "dispatched",
        "track": "immediate",
        "signed_at": None,
        "sign_deadline": dispatched + timedelta(hours=2),
        "handle_deadline": at(date(2026, 2, 26), 17, 30),
    }
    assert countdown(row, dispatched, CALENDAR) == {
        "deadline": "sign",
        "unit": "hours",
        "left": 2,
        "overdue": False,
        "label": "签收剩 2 个小时",
    }
    late = dispatched + timedelta(hours=5, minutes=10)
    shown = countdown(row, late, CALENDAR)
    assert shown is not None and shown["label"] == "签收超期 3 个小时"
    assert is_overdue(row, late)
    just_late = dispatched + timedelta(hours=2, minutes=1)
    assert countdown(row, just_late, CALENDAR)["left"] == -1  # type: ignore[index]


def test_an_unsigned_case_counts_down_to_its_sign_for_deadline_in_working_days() -> None:
    row = {
        "dispatch_status": "dispatched",
        "track": "general",
        "signed_at": None,
        "sign_deadline": at(WEEK[2], 17, 30),
        "handle_deadline": at(date(2026, 3, 6), 17, 30),
    }
    assert countdown(row, at(WEEK[1]), CALENDAR)["label"] == "签收剩 1 个工作日"  # type: ignore[index]
    shown = countdown(row, at(WEEK[5]), CALENDAR)
    assert shown is not None and shown["label"] == "签收超期 1 个工作日"
    assert is_overdue(row, at(WEEK[5]))
