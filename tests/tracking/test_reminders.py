"""Tracking's 催办 and 督办 (issues 18 and 20, ADR 32) on SQLite and PostgreSQL, as the
pinned clock moves: a higher level's report-back deadline and a named reporter's 15-working-day
answer are each announced once as they near and once when they pass — to the office's inbox,
the 督办 to supervisors too — and never again; the answers' KPI counts them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.platform.clock import set_clock
from shared.platform.settings import Settings
from tests.support.api import stored_notifications
from tests.support.dispatch import ok
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, serving
from tests.support.workbench import Workbench
from tests.tracking.test_accountability import opened

HOUR = timedelta(hours=1)
OFFICE = {"id": "office:赵主任", "name": "赵主任", "role": "office"}
SUPERVISOR = {"id": "supervisor:钱督查", "name": "钱督查", "role": "supervisor"}


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    with serving(settings.model_copy(update={"scheduler_interval_seconds": 0.2})) as served:
        for person in (OFFICE, SUPERVISOR):
            ok(
                served.api.post("/api/v1/persons", json=person, headers=served.api.auth("office")),
                201,
            )
        yield served


def announced(served: Served, case: Case) -> Counter[str]:
    found: Counter[str] = Counter()
    for n in stored_notifications(served.settings, "tracking"):
        name = n.topic.rsplit(".", 1)[-1]
        state = bytes(n.state).decode()
        ours = n.originator_id == case.id or case.id.hex in state or str(case.id) in state
        if name.startswith(("ReportBack", "ReporterAnswer")) and ours:
            found[name] += 1
    return found


def titles(served: Served, who: dict[str, str]) -> list[str]:
    inbox = ok(served.api.get("/api/v1/inbox", headers=served.api.auth(who["role"], who["name"])))
    return [i["title"] for i in inbox["items"]]


def move_clock(served: Served, moment: datetime) -> None:
    assert served.settings.clock_file is not None
    set_clock(served.settings.clock_file, moment)


def test_the_report_back_is_reminded_then_supervised_once_each_until_reported(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="higher_referral", summary="市纪委转办:某局乱收费")
    due = datetime.fromisoformat(opened(case, "higher_source")["report_back_due"])
    assert announced(served, case) == Counter()  # far from due: nothing yet

    move_clock(served, due - HOUR)
    wait_for(lambda: announced(served, case)["ReportBackApproaching"] == 1, 30, "催办")
    move_clock(served, due + HOUR)
    wait_for(lambda: announced(served, case)["ReportBackMissed"] == 1, 30, "督办")
    wait_for(
        lambda: any("逾期未回告" in t for t in titles(served, SUPERVISOR)), 30, "supervisor told"
    )
    wait_for(lambda: len(titles(served, OFFICE)) == 2, 30, "the office told twice")
    office = titles(served, OFFICE)
    assert sum("问责结果应于" in t and case.number in t for t in office) == 1
    assert sum("逾期未回告上级" in t for t in office) == 1
    assert not any("应于" in t for t in titles(served, SUPERVISOR))  # 催办 is the office's

    history = ok(
        served.api.get(f"/api/v1/cases/{case.id}/history", headers=served.api.auth("office"))
    )
    assert {"ReportBackApproaching", "ReportBackMissed"} <= {e["type"] for e in history["items"]}
    assert announced(served, case) == Counter({"ReportBackApproaching": 1, "ReportBackMissed": 1})


def test_a_named_reporters_answer_is_reminded_supervised_and_counted(served: Served) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    reporter = {"anonymous": False, "name": "实名举报人", "phone": "13700001111"}
    case = Case(served, channel="hotline_12388", summary="某校乱收费", reporter=reporter)
    [acceptance] = case.view()["reporter_answers"]
    due = datetime.fromisoformat(acceptance["due"])
    office = served.api.auth("office")

    def kpi() -> dict[str, Any]:
        items = ok(served.api.get("/api/v1/stats/reporter-answers", headers=office))["items"]
        return {i["answer"]: i for i in items}

    assert kpi()["acceptance"] | {"answer_label": ""} == {
        "answer": "acceptance",
        "answer_label": "",
        "owed": 1,
        "on_time": 0,
        "late": 0,
        "overdue": 0,
        "pending": 1,
        "on_time_rate": None,
    }
    move_clock(served, due - HOUR)
    wait_for(lambda: announced(served, case)["ReporterAnswerApproaching"] == 1, 30, "催办")
    move_clock(served, due + HOUR)
    wait_for(lambda: announced(served, case)["ReporterAnswerMissed"] == 1, 30, "督办")
    assert (kpi()["acceptance"]["overdue"], kpi()["acceptance"]["on_time_rate"]) == (1, 0.0)
    wait_for(
        lambda: any("逾期未向实名举报人告知受理情况" in t for t in titles(served, SUPERVISOR)),
        30,
        "supervisor told",
    )

    case.triage().dispatch("WC-JYQ", now=due + HOUR)  # answered, late
    wait_for(lambda: kpi()["acceptance"]["late"] == 1, 30, "the late answer counted")
    assert kpi()["acceptance"]["overdue"] == 0 and kpi()["result"]["owed"] == 0
    assert announced(served, case) == Counter(
        {"ReporterAnswerApproaching": 1, "ReporterAnswerMissed": 1}
    )
    assert sum("告知受理情况" in t for t in titles(served, OFFICE)) == 2  # 催办 + 督办

    bench = Workbench(str(served.api.base_url))  # the dashboard's panel
    assert bench.sign_in(office["Authorization"].removeprefix("Bearer ")).status_code == 200
    panel = bench.page("/ui/answers/panel").text
    row = panel.split('data-answer="acceptance"')[1].split("</tr>")[0]
    assert "<td>1</td><td>0</td><td>1</td><td>0</td><td>0</td>" in row and "0.0%" in row
    assert 'id="answers-slot"' in bench.page("/ui/dashboard").text
