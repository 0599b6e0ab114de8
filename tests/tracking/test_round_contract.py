"""A round's events as the other services read them (issue 19): every one is published, so
read models see its versions without gaps (ADR 4); a reminder names the duty and its due
moment, so notify can tell the late units' liaisons which duty it is."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.tracking.assessment.contract import TRANSLATIONS, to_contract
from services.tracking.assessment.domain import Round, periods_around
from shared.contracts import SYSTEM_ACTOR
from shared.contracts import tracking as c

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {"id": "office:赵主任", "name": "赵主任", "role": "office", "unit": None}


def test_every_round_event_is_published() -> None:
    events = {
        f"Round.{name}"
        for name, value in vars(Round).items()
        if isinstance(value, type) and issubclass(value, Round.Event) and name != "Event"
    } - {"Round.Created"}  # the library's default, unused: ``Opened`` creates
    assert events == {name for name in TRANSLATIONS if name.startswith("Round.")}


def test_a_reminder_names_the_duty_its_due_moment_and_only_the_units_still_owing() -> None:
    due = datetime(2026, 12, 10, 23, 59, 59, tzinfo=SHANGHAI)
    r = Round(
        kind="self_inspection", period="2026-12", units=["A", "B"], due=due, actor=OFFICE, at=due
    )
    r.submit(
        "A", {"lists": {"power_list": "已对照"}}, OFFICE, datetime(2026, 12, 9, tzinfo=SHANGHAI)
    )
    assert r.remind(SYSTEM_ACTOR, due) == []  # not past due yet
    assert r.remind(SYSTEM_ACTOR, datetime(2026, 12, 11, 9, tzinfo=SHANGHAI)) == ["B"]
    published = [to_contract(e) for e in r.collect_events()]
    assert [type(p) for p in published] == [c.RoundOpened, c.RoundSubmitted, c.RoundReminded]
    reminded = published[-1]
    assert isinstance(reminded, c.RoundReminded)
    assert (reminded.kind, reminded.period, reminded.units, reminded.due) == (
        "self_inspection",
        "2026-12",
        ["B"],
        due,
    )


def test_the_sweep_looks_for_every_period_of_three_years() -> None:
    found = periods_around(2026)
    assert len(found) == len(set(found)) == 45
    assert ("self_inspection", "2025-12") in found and ("annual_report", "2027") in found
    assert ("monthly_circular", "2026-01") in found and ("self_inspection", "2026-03") not in found
