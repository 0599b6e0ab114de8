"""督办 of a rectification notice (《告知与整改通知书》, 002 第二十九条: 限期整改, 按时限回告)
by the calendar (issue 19), on SQLite and PostgreSQL as the pinned clock moves: once the
reply deadline passes with no reply, tracking's sweep reminds the unit — once — and its
liaison finds it in the inbox; three working days later it reminds again; after the reply,
never. The unit's assessment (API and workbench page) shows the count and the last one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.tracking.assessment.contract import TRANSLATIONS, to_contract
from services.tracking.assessment.domain import NoticeReminders
from shared.contracts import SYSTEM_ACTOR
from shared.contracts import dispatch as d
from shared.contracts import tracking as c
from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.dispatch import ok
from tests.support.infra import wait_for
from tests.support.tracking import Served, serving
from tests.support.workbench import Workbench
from tests.tracking.test_round_reminders import inbox, liaison

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_reminder_of_a_notice_is_published_naming_the_notice() -> None:
    events = {
        f"NoticeReminders.{name}"
        for name, value in vars(NoticeReminders).items()
        if isinstance(value, type) and issubclass(value, NoticeReminders.Event)
    } - {"NoticeReminders.Event", "NoticeReminders.Created"}  # ``Reminded`` creates
    assert events == {name for name in TRANSLATIONS if name.startswith("NoticeReminders.")}
    due = datetime(2027, 1, 20, 23, 59, 59, tzinfo=SHANGHAI)
    at = due + timedelta(hours=10)
    dunned = NoticeReminders(
        year=2026,
        unit="N1",
        notice_number="纠风整改〔2026〕1号",
        due=due,
        actor=SYSTEM_ACTOR,
        at=at,
    )
    dunned.remind_again(SYSTEM_ACTOR, at + timedelta(days=5))
    published = [to_contract(e) for e in dunned.collect_events()]
    assert published == [
        c.RectificationNoticeReminded(
            year=2026, unit="N1", notice_number="纠风整改〔2026〕1号", due=due, count=n
        )
        for n in (1, 2)
    ]
    assert dunned.last_reminded() == at + timedelta(days=5)


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    with serving(settings.model_copy(update={"scheduler_interval_seconds": 0.2})) as served:
        office = served.api.auth("office")
        served.dispatch_event(
            d.UnitRegistered(code="N1", name="N1局", kind="department", parent=None, liaisons=[]),
            stream_id=uuid.uuid5(uuid.NAMESPACE_URL, "unit:N1"),
        )
        ok(served.api.post("/api/v1/persons", json=liaison("N1"), headers=office), 201)
        yield served


def test_a_notice_past_its_reply_deadline_is_reminded_until_the_unit_replies(
    served: Served,
) -> None:
    api, office = served.api, served.api.auth("office")
    year = served.tracking.now().astimezone(SHANGHAI).year
    base = f"/api/v1/assessments/{year}/N1"
    issued = ok(
        api.post(
            f"{base}/notice",
            json={"issues": ["按期办结率偏低"], "reply_working_days": 2},
            headers=office,
        ),
        201,
    )["notice"]
    due, number = datetime.fromisoformat(issued["reply_deadline"]), issued["number"]
    assert issued["reminders"] == []

    def reminders() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = ok(api.get(base, headers=office))["notice"]["reminders"]
        return found

    sweep = served.tracking.round_reminders
    clock = served.settings.clock_file
    assert clock is not None

    def two_passes_at(moment: datetime) -> None:
        set_clock(clock, moment)
        passes = sweep.passes
        wait_for(lambda: sweep.passes >= passes + 2, 30, "two sweeps on the moved clock")

    two_passes_at(due - timedelta(hours=1))
    assert reminders() == []  # not due yet

    set_clock(clock, due + timedelta(hours=1))
    [first] = wait_for(reminders, 30, "the sweep's reminder")
    assert first["by"]["role"] == "system"
    title = f"督办:整改通知书 {number} 已过回告时限 {due.astimezone(SHANGHAI).date()}"
    wait_for(lambda: any(t.startswith(title) for t in inbox(served, "N1")), 30, "N1's inbox")

    two_passes_at(due + timedelta(days=1))
    assert len(reminders()) == 1  # within three working days: not again

    set_clock(clock, due + timedelta(days=8))  # past 3 working days
    wait_for(lambda: len(reminders()) == 2, 30, "the second reminder")
    wait_for(lambda: sum(t.startswith(title) for t in inbox(served, "N1")) == 2, 30, "N1 told")

    # the workbench shows the count and the last reminder
    bench = Workbench(str(api.base_url))
    token = api.auth("office")["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(token).status_code == 200
    page = bench.page(f"/ui/assessment/{year}/N1").text
    assert number in page and "逾期未回告" in page
    assert '已督办 <span id="notice-reminders">2</span> 次' in page

    liaison_of_n1 = api.auth("unit_liaison", "联络员N1", "N1")
    ok(api.post(f"{base}/notice/reply", json={"content": "已整改"}, headers=liaison_of_n1))
    two_passes_at(due + timedelta(days=20))
    assert len(reminders()) == 2  # replied: never again
    assert "逾期未回告" not in bench.page(f"/ui/assessment/{year}/N1").text
