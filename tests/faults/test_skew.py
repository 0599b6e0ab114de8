"""Clock skew (issue 17's fault suite, NOTES row 17): two replicas of dispatch and of tracking
whose clocks disagree by minutes — across midnight, so a day's difference shows — and one
stepped back by NTP mid-run, while tips flow and cases are dispatched, signed, answered and
reminded. Nothing is lost or doubled, and what a skew could break holds: each deadline is
reminded and supervised once; deadlines are counted from the event that started them, not
the clock of whoever read it; a case's history is in the order its steps were recorded even
where a later step's clock reads earlier; the working-day countdown is the same on both
tracking replicas and does not move while nothing changes."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.tracking.ledger.presentation import days_to
from services.tracking.reminders import state
from shared.platform.calendar import WorkingCalendar
from shared.platform.settings import AccountabilityRules
from tests.faults.harness import FEEDBACK, RESULT, FaultyDeployment, pause_beyond
from tests.faults.skew import SkewedClocks, ledger_rows
from tests.faults.walks import NOT_YET, UNIT, Walker
from tests.support.api import stored_notifications
from tests.support.deployment import ServiceProcess
from tests.support.infra import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.nats]

HANDLE_WORKING_DAYS = 15  # a 市长专线 case on the general track
CALENDAR = WorkingCalendar()
HOUR = timedelta(hours=1)
D0, D1, T0, T1 = ("dispatch", 0), ("dispatch", 1), ("tracking", 0), ("tracking", 1)


def test_replicas_whose_clocks_disagree_and_one_stepped_back(system: FaultyDeployment) -> None:
    clocks, walker = SkewedClocks(system), Walker(system)
    walker.unit()
    with clocks.apart():
        d0, d1 = clocks.replicas[D0], clocks.replicas[D1]
        t0, t1 = clocks.replicas[T0], clocks.replicas[T1]
        load = system.load("skew")
        referred = [register(system, "higher_referral") for _ in range(2)]
        walked = [walk(walker, d0, d1, t0, t1)]
        clocks.step_back(D0, timedelta(minutes=10))  # NTP steps it back, tips still flowing
        answers = {case: answer for case, answer in (dispatched(walker, r) for r in (d0, d1))}
        overdue = list(answers)
        countdowns = [countdown(walker, replica, overdue) for replica in (t0, t1, t0, t1)]

        # Past the sign-for deadline and the handling deadline's reminder point (催办), on
        # every replica's clock; the report back (10 working days) is due or missed by then.
        later = max(remind_at(answer, "handle") for answer in answers.values()) + HOUR
        assert all(later + HOUR < deadline(answer, "handle") for answer in answers.values())
        clocks.set_all(later)  # both schedulers and both sweeps see deadlines pass
        ids = [uuid.UUID(case) for case in overdue]
        wait_until(lambda: system.announced(ids), "催办 and 督办 on every overdue case", system)
        rows = ledger_rows(system, [*referred, *walked, *overdue])
        owed = {case: report_back_owed(rows[case], later) for case in referred}
        wait_until(
            lambda: all(report_back_announcements(system, c) == owed[c] for c in referred),
            "the report backs announced",
            system,
        )
        clocks.step_back(D1, timedelta(days=16))  # back inside the sign-for reminder window
        pause_beyond(3.0)  # several scheduler passes on the stepped-back clock
        figures = system.settle("clock skew: replicas minutes apart, one stepped back", load)
        history = {case: case_history(walker, t1, case) for case in walked}

    # Each deadline announced once, whichever replica's clock saw it first — and not again
    # on the clock stepped back.
    once = Counter({("DeadlineApproaching", "handle"): 1, ("DeadlineMissed", "sign"): 1})
    once[("SupervisionNoticeIssued", "sign")] = 1
    for case in overdue:
        assert announcements(system, case) == once, case
    for case in referred:
        assert report_back_announcements(system, case) == owed[case]
    # The report back is owed from the tip's registration (intake's clock, the evening before)
    # though both tracking replicas read the next day when they opened the procedure.
    rules = AccountabilityRules()
    for case in referred:
        registered = rows[case]["registered_at"]
        due = datetime.fromisoformat(rows[case]["accountability_procedure"]["report_back_due"])
        assert due == CALENDAR.add_working_days(registered, rules.report_back_working_days).at
    # Deadlines from the dispatch's own time, as dispatch counted them and the ledger shows.
    for case in [*walked, *overdue]:
        row = rows[case]
        handle = CALENDAR.add_working_days(row["dispatched_at"], HANDLE_WORKING_DAYS).at
        assert row["handle_deadline"] == handle, case
    # The history in recorded order, though the signing replica's clock stamped it earlier.
    for case, steps in history.items():
        kinds = [step["type"] for step in steps]
        at = {step["type"]: datetime.fromisoformat(step["occurred_at"]) for step in steps}
        assert at["CaseSigned"] < at["CaseDispatched"], "the scenario's skew did not show"
        order = ["CaseTriaged", "CaseDispatched", "CaseSigned", "ResultSubmitted"]
        assert [k for k in kinds if k in order] == order, (case, kinds)
    # One countdown on both tracking replicas, read twice each: the same, from the deadline.
    assert len({json.dumps(c, sort_keys=True) for c in countdowns}) == 1, countdowns
    for case, left in countdowns[0].items():
        handle = rows[case]["handle_deadline"]
        assert left == days_to(handle, clocks.base + timedelta(minutes=2), CALENDAR)
    assert figures.lost == 0
    assert figures.duplicated == 0


def report_back_owed(row: dict[str, Any], now: datetime) -> dict[str, int]:
    """What the sweep owes a procedure's report back by ``now``: one announcement at most."""
    due = datetime.fromisoformat(row["accountability_procedure"]["report_back_due"])
    said = state(due, now, CALENDAR)
    return {f"ReportBack{said.capitalize()}": 1} if said else {}


def register(system: FaultyDeployment, channel: str) -> str:
    tip = {"channel": channel, "content": f"窗口办事推诿(时钟 {uuid.uuid4()})"}
    r = httpx.post(f"{system.intake.url}/api/v1/tips", json=tip, headers=system.d.auth("office"))
    assert r.status_code == 201, r.text
    return str(r.json()["case_id"])


def act(
    walker: Walker, replica: ServiceProcess, case: str, step: tuple[str, str, dict[str, Any], int]
) -> dict[str, Any]:
    """One step on this replica (and no other), once its service has what the step needs."""
    action, role, body, status = step
    url = f"{replica.url}/api/v1/cases/{case}/{action}"
    deadline, seen = time.monotonic() + 60, ""
    while time.monotonic() < deadline:
        r = walker.http.post(url, json=body, headers=walker.auth(role))
        if r.status_code == status:
            return dict(r.json())
        assert r.status_code in NOT_YET, f"{action}: {r.status_code} {r.text}"
        seen = f"{r.status_code} {r.text[:120]}"
        time.sleep(0.2)
    raise AssertionError(f"{action} never accepted: {seen}")


def walk(
    walker: Walker, d0: ServiceProcess, d1: ServiceProcess, t0: ServiceProcess, t1: ServiceProcess
) -> str:
    """Dispatched on the replica 90 s ahead, signed on the one 45 s behind (its stamp reads
    earlier than the dispatch's), answered on both tracking replicas."""
    case = register(walker.system, "mayor_hotline")
    steps = [
        (d1, ("triage", "office", {"track": "general"}, 200)),
        (d0, ("dispatch", "office", {"lead_unit": UNIT}, 200)),
        (d1, ("sign", "unit_liaison", {}, 200)),
        (d0, ("results", "unit_liaison", RESULT, 201)),
        (d1, ("results/1/review", "office", {"accepted": True}, 200)),
        (t0, ("feedback", "office", FEEDBACK | {"channel": "online_publication"}, 201)),
        (t1, ("feedback", "office", FEEDBACK | {"channel": "direct_reply"}, 201)),
    ]
    for replica, step in steps:
        act(walker, replica, case, step)
    return case


def deadline(answer: dict[str, Any], kind: str) -> datetime:
    return datetime.fromisoformat(answer[f"{kind}_deadline"])


def remind_at(answer: dict[str, Any], kind: str) -> datetime:
    start = datetime.fromisoformat(answer["dispatched_at"])
    return CALENDAR.fraction_point(start, deadline(answer, kind), 0.8)


def dispatched(walker: Walker, replica: ServiceProcess) -> tuple[str, dict[str, Any]]:
    """Dispatched on ``replica`` and never signed: its deadlines run out later."""
    case = register(walker.system, "mayor_hotline")
    act(walker, replica, case, ("triage", "office", {"track": "general"}, 200))
    answer = act(walker, replica, case, ("dispatch", "office", {"lead_unit": UNIT}, 200))
    return case, answer


def countdown(walker: Walker, replica: ServiceProcess, cases: list[str]) -> dict[str, Any]:
    """The working days left on each case's running deadline, as this replica shows them
    (once the ledger has the dispatch)."""
    found: dict[str, Any] = {}
    for case in cases:
        url = f"{replica.url}/api/v1/cases/{case}"

        def shown(url: str = url) -> Any:
            r = walker.http.get(url, headers=walker.auth("office"))
            return r.status_code == 200 and r.json().get("sign_deadline") and r.json()

        view = wait_until(shown, "the dispatch in the ledger")
        found[case] = view["working_days_left"]
    return found


def case_history(walker: Walker, replica: ServiceProcess, case: str) -> list[dict[str, Any]]:
    r = walker.http.get(f"{replica.url}/api/v1/cases/{case}/history", headers=walker.auth("office"))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def announcements(system: FaultyDeployment, case: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for n in stored_notifications(system.d.settings, "dispatch"):
        name = n.topic.rsplit(".", 1)[-1]
        if str(n.originator_id) == case and name.startswith(("Deadline", "Supervision")):
            found[(name, json.loads(n.state)["deadline_kind"])] += 1
    return found


def report_back_announcements(system: FaultyDeployment, case: str) -> dict[str, int]:
    found: Counter[str] = Counter()
    for n in stored_notifications(system.d.settings, "tracking"):
        name = n.topic.rsplit(".", 1)[-1]
        state_text = bytes(n.state).decode()
        if name.startswith("ReportBack") and (
            case in state_text or uuid.UUID(case).hex in state_text
        ):
            found[name] += 1
    return dict(found)


def wait_until(check: Any, what: str, system: FaultyDeployment | None = None) -> Any:
    try:
        return wait_for(check, 60, what, interval=0.3)
    except AssertionError:
        if system is not None:
            print(system.d.logs())
        raise
