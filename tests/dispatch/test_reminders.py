"""催办 and 督办 with two dispatch processes on PostgreSQL + NATS: as the controllable clock
moves, each deadline gets exactly one reminder, one missed-deadline event and one supervision
notice — and none again after both processes restart."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from shared.platform.calendar import WorkingCalendar
from shared.platform.clock import set_clock
from tests.support.api import stored_notifications
from tests.support.deployment import Deployment
from tests.support.infra import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
ANNOUNCED = ("DeadlineApproaching", "DeadlineMissed", "SupervisionNoticeIssued")
MINUTE = timedelta(minutes=1)


@pytest.fixture
def deployment(deployment: Deployment, tmp_path: Path) -> Deployment:
    """The suite's deployment (conftest), on a file clock set to a Monday morning and with a
    scheduler that looks every 0.3 s."""
    deployment.clock = tmp_path / "clock"  # type: ignore[attr-defined]
    set_clock(deployment.clock, MONDAY)  # type: ignore[attr-defined]
    deployment.env |= {
        "TAIZHANG_CLOCK_FILE": str(deployment.clock),  # type: ignore[attr-defined]
        "TAIZHANG_SCHEDULER_INTERVAL_SECONDS": "0.3",
    }
    return deployment


def announcements(d: Deployment, case_id: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for n in stored_notifications(d.settings, "dispatch"):
        name = n.topic.rsplit(".", 1)[-1]
        if str(n.originator_id) == case_id and name in ANNOUNCED:
            found[(name, json.loads(n.state)["deadline_kind"])] += 1
    return found


def wait_announced(d: Deployment, case_id: str, *expected: tuple[str, str]) -> None:
    try:
        wait_for(
            lambda: all(announcements(d, case_id)[key] >= 1 for key in expected),
            60,
            f"{expected} for {case_id}",
            interval=0.2,
        )
    except AssertionError:
        print(d.logs())
        raise


def post(d: Deployment, url: str, path: str, role: str, unit: str | None = None, **body) -> dict:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{url}{path}", json=body, headers=d.auth(role, unit=unit), timeout=30)
    assert r.status_code in (200, 201), r.text
    result: dict = r.json()
    return result


def dispatched_case(d: Deployment, intake: str, dispatch: str, content: str) -> dict:
    tip = post(d, intake, "/api/v1/tips", "operator", channel="conduct_hotline", content=content)
    path = f"/api/v1/cases/{tip['case_id']}"
    wait_for(
        lambda: (
            httpx.get(f"{dispatch}{path}/dispatch", headers=d.auth("office")).status_code == 200
        ),
        60,
        "the case opened in dispatch",
    )
    post(d, dispatch, f"{path}/triage", "office", track="general")
    return post(d, dispatch, f"{path}/dispatch", "office", lead_unit="T-LEAD")


def remind_at(case: dict, kind: str) -> datetime:
    start = datetime.fromisoformat(case["dispatched_at"])
    deadline = datetime.fromisoformat(case[f"{kind}_deadline"])
    return WorkingCalendar().fraction_point(start, deadline, 0.8)


def test_one_reminder_and_one_supervision_notice_per_deadline_with_two_replicas(
    deployment: Deployment,
) -> None:
    d, clock = deployment, deployment.clock  # type: ignore[attr-defined]
    intake = d.start("intake").url
    first, _ = d.start("dispatch").url, d.start("dispatch")
    post(d, first, "/api/v1/units", "admin", code="T-LEAD", name="测试局", kind="department")
    case = dispatched_case(d, intake, first, "窗口人员推诿,办事难")
    case_id = case["case_id"]
    assert case["sign_deadline"] == "2026-03-03T23:59:59+08:00"
    assert case["handle_deadline"] == "2026-03-23T23:59:59+08:00"

    set_clock(clock, remind_at(case, "sign") + MINUTE)
    wait_announced(d, case_id, ("DeadlineApproaching", "sign"))
    set_clock(clock, datetime.fromisoformat(case["sign_deadline"]) + MINUTE)
    wait_announced(d, case_id, ("DeadlineMissed", "sign"), ("SupervisionNoticeIssued", "sign"))
    signed = post(d, first, f"/api/v1/cases/{case_id}/sign", "unit_liaison", "T-LEAD")
    assert signed["status"] == "in_progress"
    set_clock(clock, remind_at(case, "handle") + MINUTE)
    wait_announced(d, case_id, ("DeadlineApproaching", "handle"))
    set_clock(clock, datetime.fromisoformat(case["handle_deadline"]) + MINUTE)
    wait_announced(d, case_id, ("DeadlineMissed", "handle"), ("SupervisionNoticeIssued", "handle"))
    once_each = Counter({(name, kind): 1 for name in ANNOUNCED for kind in ("sign", "handle")})
    assert announcements(d, case_id) == once_each

    # Restart both replicas; prove their schedulers ran by a new case's reminder.
    for process in [p for p in d.processes if p.service == "dispatch"]:
        process.stop()
    again, _ = d.start("dispatch").url, d.start("dispatch")
    later = dispatched_case(d, intake, again, "另一件:窗口人员推诿")
    set_clock(clock, remind_at(later, "sign") + MINUTE)
    wait_announced(d, later["case_id"], ("DeadlineApproaching", "sign"))
    set_clock(clock, datetime.fromisoformat(later["sign_deadline"]) + MINUTE)
    wait_announced(d, later["case_id"], ("SupervisionNoticeIssued", "sign"))
    assert announcements(d, case_id) == once_each
    assert announcements(d, later["case_id"]) == Counter({(name, "sign"): 1 for name in ANNOUNCED})
