"""Working-day deadlines as the endpoints answer them, dispatching on chosen dates with the
controllable clock: National Day and Spring Festival 2026 with their make-up working days, and
a case dispatched on 28 December 2026 before and after the office loads 2027."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest

from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.dispatch import act, add_units, case_events, ok, open_case, view
from tests.support.infra import wait_for

pytestmark = pytest.mark.calendar

CST = timezone(timedelta(hours=8))
LEAD = "T-LEAD"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The store under test, with a clock the test moves (and a brisk scheduler)."""
    clock = tmp_path / "clock"
    set_clock(clock, datetime(2026, 1, 5, 9, tzinfo=CST))
    base = make_settings(request.param, tmp_path / "data", request)
    return base.model_copy(update={"clock_file": clock, "scheduler_interval_seconds": 0.2})


SQLITE_ONLY = pytest.mark.parametrize("settings", ["sqlite"], indirect=True)


def dispatch_on(api: Api, moment: datetime, track: str = "general") -> dict:
    assert api.settings.clock_file is not None
    set_clock(api.settings.clock_file, moment)
    add_units(api, LEAD)
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track=track))
    return ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD))


def end_of(year: int, month: int, day: int) -> str:
    return datetime(year, month, day, 23, 59, 59, tzinfo=CST).isoformat()


def test_the_calendar_facts_these_tests_rely_on() -> None:
    for day in ("2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"):
        assert chinese_calendar.is_workday(datetime.fromisoformat(day).date())
    for day in ("2026-02-16", "2026-02-23", "2026-10-01", "2026-10-07"):
        assert not chinese_calendar.is_workday(datetime.fromisoformat(day).date())


@SQLITE_ONLY
def test_national_day_2026_and_its_make_up_days(api: Api) -> None:
    eve = dispatch_on(api, datetime(2026, 9, 30, 10, tzinfo=CST))
    assert eve["sign_deadline"] == end_of(2026, 10, 8)  # Oct 1–7 off
    # Oct 8, 9, 10 (Saturday, 调休), 12–16, 19–23, 26, 27
    assert eve["handle_deadline"] == end_of(2026, 10, 27)
    assert not eve["sign_deadline_provisional"] and not eve["handle_deadline_provisional"]
    friday = dispatch_on(api, datetime(2026, 9, 18, 16, tzinfo=CST))
    assert friday["sign_deadline"] == end_of(2026, 9, 20)  # Sunday, 调休


@SQLITE_ONLY
def test_spring_festival_2026_with_its_make_up_saturdays(api: Api) -> None:
    friday = dispatch_on(api, datetime(2026, 2, 13, 10, tzinfo=CST))
    assert friday["sign_deadline"] == end_of(2026, 2, 14)  # Saturday, 调休
    # Feb 14 (Sat), 24–27, 28 (Sat), Mar 2–6, 9–12
    assert friday["handle_deadline"] == end_of(2026, 3, 12)
    immediate = dispatch_on(api, datetime(2026, 2, 13, 17, tzinfo=CST), track="immediate")
    assert immediate["sign_deadline"] == datetime(2026, 2, 13, 19, tzinfo=CST).isoformat()
    assert immediate["handle_deadline"] == end_of(2026, 2, 25)  # Feb 14, 24, 25


def test_a_case_dispatched_on_28_december_2026_before_and_after_2027_is_loaded(api: Api) -> None:
    case = dispatch_on(api, datetime(2026, 12, 28, 10, tzinfo=CST))
    assert (case["sign_deadline"], case["sign_deadline_provisional"]) == (
        end_of(2026, 12, 29),
        False,
    )
    # Weekends only in 2027: Dec 29–31, Jan 1, 4–8, 11–15, 18.
    assert (case["handle_deadline"], case["handle_deadline_provisional"]) == (
        end_of(2027, 1, 18),
        True,
    )

    year = {"holidays": ["2027-01-01", "2027-02-05", "2027-02-08"], "workdays": ["2027-02-20"]}
    r = api.put("/api/v1/calendar/2027", json=year, headers=api.auth("admin"))
    assert r.status_code == 200, r.text

    def exact() -> dict | None:
        shown = view(api, case["case_id"])
        return shown if not shown["handle_deadline_provisional"] else None

    recounted = wait_for(exact, 30, "the deadline counted on the loaded 2027 calendar")
    assert recounted["handle_deadline"] == end_of(2027, 1, 19)  # New Year's Day is off
    assert recounted["sign_deadline"] == end_of(2026, 12, 29)
    assert case_events(api, case["case_id"]).count("Case.DeadlinesRecalculated") == 1
