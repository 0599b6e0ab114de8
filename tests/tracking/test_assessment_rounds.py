"""A periodic duty walked through on a pinned clock: the office opens the December
self-inspection round (001: 对照三个清单), one unit reports on time, the due moment passes, one
reports late, one not at all and is reminded (督办), the office reviews; the late units are
counted and the assessment's self-inspection measure follows. The annual report is due
25 December (000)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.contracts import dispatch as d
from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.tracking import Served, served_fixture  # noqa: F401

pytestmark = pytest.mark.calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPORT = {
    "lists": {
        "power_list": "权力清单所列事项均按规定行使",
        "procedure_list": "审批流程已按程序清单公开",
        "responsibility_list": "岗位责任已落实到人",
    },
    "problems": [
        {
            "problem": "个别窗口未公示收费标准",
            "rectification_task": "全面公示收费标准",
            "timetable": "2027-01-15",
            "responsible_person": "李科长",
        }
    ],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This walk 督办s the office's way, from the page; the sweep that reminds by the
    calendar (tests/tracking/test_round_reminders.py) runs only at start here."""
    return settings.model_copy(update={"scheduler_interval_seconds": 3600})


def test_a_self_inspection_round_from_opening_to_review(served: Served) -> None:
    year = served.tracking.now().astimezone(SHANGHAI).year
    early = {"kind": "self_inspection", "period": f"{year}-12"}
    r = served.api.post("/api/v1/rounds", json=early, headers=served.api.auth("office"))
    assert r.status_code == 409 and r.json()["code"] == "round_without_units", r.text
    assert "单位名录同步" in r.json()["detail"]
    for code, kind in (("D1", "department"), ("D2", "department"), ("S1", "street_office")):
        served.dispatch_event(
            d.UnitRegistered(code=code, name=code, kind=kind, parent=None, liaisons=[]),
            stream_id=uuid.uuid5(uuid.NAMESPACE_URL, f"unit:{code}"),
        )
    api, office = served.api, served.api.auth("office")
    now = served.tracking.now().astimezone(SHANGHAI)
    year = now.year
    base = f"/api/v1/rounds/self_inspection/{year}-12"

    r = api.post(
        "/api/v1/rounds", json={"kind": "self_inspection", "period": f"{year}-03"}, headers=office
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "round_period_invalid"
    assert "每年6月、12月" in r.json()["detail"]
    body = {"kind": "self_inspection", "period": f"{year}-12", "working_days": 3}
    r = api.post("/api/v1/rounds", json=body, headers=office)
    assert r.status_code == 201, r.text
    due = datetime.fromisoformat(r.json()["due"])
    assert due > now and due.astimezone(SHANGHAI).time().hour == 23
    assert [u["unit"] for u in r.json()["units"]] == ["D1", "D2", "S1"]
    r = api.post("/api/v1/rounds", json=body, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "round_already_open"

    def liaison(unit: str) -> dict[str, str]:
        return api.auth("unit_liaison", unit=unit)

    r = api.post(f"{base}/submissions", json={"content": "已自查"}, headers=liaison("D2"))
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "submission_incomplete"
    r = api.post(f"{base}/submissions", json=REPORT, headers=liaison("D1"))
    assert r.status_code == 201, r.text
    assert r.json()["late"] == 0
    r = api.post(f"{base}/submissions", json=REPORT, headers=liaison("D1"))
    assert r.status_code == 409 and r.json()["code"] == "already_submitted"
    r = api.post(f"{base}/submissions", json=REPORT, headers=liaison("X9"))
    assert r.status_code == 403 and r.json()["code"] == "not_in_round"

    # the due moment passes
    set_clock(served.settings.clock_file, due + timedelta(days=1), running=True)
    r = api.post(f"{base}/submissions", json=REPORT, headers=liaison("D2"))
    assert r.status_code == 201, r.text
    view = api.get(base, headers=office).json()
    by_unit = {u["unit"]: u for u in view["units"]}
    assert (view["submitted"], view["late"]) == (2, 2)
    assert [by_unit[u]["on_time"] for u in ("D1", "D2", "S1")] == [True, False, None]
    assert [by_unit[u]["late"] for u in ("D1", "D2", "S1")] == [False, True, True]

    r = api.post(f"{base}/reminders", headers=office)
    assert r.status_code == 200 and r.json()["reminded"] == ["S1"]
    assert r.json()["round"]["reminders"][0]["units"] == ["S1"]

    r = api.post(
        f"{base}/submissions/D2/review",
        json={"accepted": False, "comment": "问题查摆不深"},
        headers=office,
    )
    assert r.status_code == 200, r.text
    reviewed = {u["unit"]: u for u in r.json()["units"]}["D2"]["review"]
    assert (reviewed["accepted"], reviewed["comment"]) == (False, "问题查摆不深")
    r = api.post(f"{base}/submissions/S1/review", json={"accepted": True}, headers=office)
    assert r.status_code == 409 and r.json()["code"] == "nothing_to_review"

    # the assessment counts it: on time 1, late 0, missing past due 0
    for unit, share in (("D1", 1.0), ("D2", 0.0), ("S1", 0.0)):
        got = api.get(f"/api/v1/assessments/{year}/{unit}", headers=office).json()
        measure = next(m for m in got["measures"] if m["name"] == "self_inspection_on_time")
        assert measure["value"] == share, unit

    # a rectification notice unanswered past its reply deadline reads as overdue
    r = api.post(
        f"/api/v1/assessments/{year}/D2/notice",
        json={"issues": ["自查报告逾期"], "reply_working_days": 2},
        headers=office,
    )
    assert r.status_code == 201 and r.json()["notice"]["overdue"] is False
    reply_by = datetime.fromisoformat(r.json()["notice"]["reply_deadline"])
    set_clock(served.settings.clock_file, reply_by + timedelta(hours=1), running=True)
    got = api.get(f"/api/v1/assessments/{year}/D2", headers=office).json()
    assert got["notice"]["overdue"] is True

    # the annual report is due 25 December, end of day
    r = api.post(
        "/api/v1/rounds", json={"kind": "annual_report", "period": str(year)}, headers=office
    )
    assert r.status_code == 201, r.text
    assert datetime.fromisoformat(r.json()["due"]) == datetime(
        year, 12, 25, 23, 59, 59, tzinfo=SHANGHAI
    )
