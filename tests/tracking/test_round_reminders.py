"""督办 of the office's periodic duties by the calendar (issue 19) on SQLite and PostgreSQL,
as the pinned clock moves: once a round's due moment passes, tracking's sweep reminds the
units that have not reported — once — and their liaisons find it in their inbox; three
working days later it reminds whoever still has not, and never a unit that reported."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.contracts import dispatch as d
from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.dispatch import ok
from tests.support.infra import wait_for
from tests.support.tracking import Served, serving
from tests.tracking.test_assessment_rounds import REPORT

pytestmark = pytest.mark.calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = ("R1", "R2")


def liaison(unit: str) -> dict[str, str]:
    return {
        "id": f"unit_liaison:联络员{unit}",
        "name": f"联络员{unit}",
        "role": "liaison",
        "unit": unit,
    }


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    with serving(settings.model_copy(update={"scheduler_interval_seconds": 0.2})) as served:
        office = served.api.auth("office")
        for code in UNITS:
            served.dispatch_event(
                d.UnitRegistered(code=code, name=code, kind="department", parent=None, liaisons=[]),
                stream_id=uuid.uuid5(uuid.NAMESPACE_URL, f"unit:{code}"),
            )
            ok(served.api.post("/api/v1/persons", json=liaison(code), headers=office), 201)
        yield served


def reminders(served: Served, base: str) -> list[dict[str, Any]]:
    view = ok(served.api.get(base, headers=served.api.auth("office")))
    found: list[dict[str, Any]] = view["reminders"]
    return found


def inbox(served: Served, unit: str) -> list[str]:
    headers = served.api.auth("unit_liaison", f"联络员{unit}", unit)
    return [i["title"] for i in ok(served.api.get("/api/v1/inbox", headers=headers))["items"]]


def test_late_units_are_reminded_once_then_every_three_working_days(served: Served) -> None:
    api, office = served.api, served.api.auth("office")
    year = served.tracking.now().astimezone(SHANGHAI).year
    base = f"/api/v1/rounds/self_inspection/{year}-12"
    opened = ok(
        api.post(
            "/api/v1/rounds",
            json={"kind": "self_inspection", "period": f"{year}-12", "working_days": 2},
            headers=office,
        ),
        201,
    )
    due = datetime.fromisoformat(opened["due"])
    assert served.settings.clock_file is not None
    set_clock(served.settings.clock_file, due - timedelta(hours=1))
    ok(
        api.post(f"{base}/submissions", json=REPORT, headers=api.auth("unit_liaison", unit="R1")),
        201,
    )
    assert reminders(served, base) == []  # not due yet: no one is reminded

    set_clock(served.settings.clock_file, due + timedelta(hours=1))
    [first] = wait_for(lambda: reminders(served, base), 30, "the sweep's reminder")
    assert first["units"] == ["R2"] and first["by"]["role"] == "system"
    title = f"督办:对照三个清单履行职责情况自查({year}-12)已过报送时限"
    wait_for(lambda: any(t.startswith(title) for t in inbox(served, "R2")), 30, "R2's inbox")
    assert not any("自查" in t for t in inbox(served, "R1"))  # it reported on time

    set_clock(served.settings.clock_file, due + timedelta(days=1))
    sweep = served.tracking.round_reminders
    passes = sweep.passes
    wait_for(lambda: sweep.passes >= passes + 2, 30, "two sweeps on the moved clock")
    assert len(reminders(served, base)) == 1  # within three working days: not again

    set_clock(served.settings.clock_file, due + timedelta(days=8))  # past 3 working days
    wait_for(lambda: len(reminders(served, base)) == 2, 30, "the second reminder")
    assert reminders(served, base)[1]["units"] == ["R2"]
    wait_for(lambda: sum(t.startswith(title) for t in inbox(served, "R2")) == 2, 30, "R2 told")
