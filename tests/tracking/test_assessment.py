"""A generated year (seeded) assessed through the API, every figure recomputed here from the
event streams — dispatch's events as delivered and tracking's own store — without the KPI
module; then the office's decision (the veto holds), its reason, and a rectification notice
with its reply deadline in working days."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.contracts import Envelope
from shared.contracts import dispatch as d
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401

pytestmark = pytest.mark.calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = {
    "S1": ("一号街道", "street_office"),
    "S2": ("二号街道", "street_office"),
    "S3": ("三号街道", "street_office"),
    "D1": ("区教育局", "department"),
    "D2": ("区财政局", "department"),
}
GROUP = {"street_office": "街道", "department": "区直部门"}
# The default rules, as literals (services/tracking/assessment/domain.py).
WEIGHTS = {
    "sign": 15,
    "completion": 30,
    "complainant": 15,
    "third_party": 15,
    "returns": 5,
}
THRESHOLDS = ((90.0, "excellent"), (75.0, "competent"), (60.0, "basically_competent"))
OUTCOMES = ("unsigned", "late_no_result", "late_result", "handled", "in_progress")
RATINGS = ("satisfied", "basically_satisfied", "dissatisfied")
KINDS = ("complainant", "npc_deputy", "cppcc_member")


def generate(served: Served, seed: int, cases: int) -> dict[str, Case]:
    rng = random.Random(seed)
    for code, (name, kind) in UNITS.items():
        served.dispatch_event(
            d.UnitRegistered(code=code, name=name, kind=kind, parent=None, liaisons=[]),
            stream_id=uuid.uuid5(uuid.NAMESPACE_URL, f"unit:{code}"),
        )
    made: dict[str, Case] = {}
    for i in range(cases):
        unit = rng.choice(sorted(UNITS))
        outcome = (
            OUTCOMES[i % len(OUTCOMES)]
            if i < len(OUTCOMES)
            else rng.choices(OUTCOMES, (1, 1, 1, 6, 2))[0]
        )
        case = Case(served, channel="mayor_hotline", summary=f"生成案件{i}").triage()
        if outcome == "unsigned":
            case.dispatch(unit, sign_in=timedelta(hours=-2))
        elif outcome == "late_no_result":
            case.dispatch(unit, handle_in=timedelta(days=-1)).sign(on_time=rng.random() < 0.5)
        elif outcome == "late_result":
            case.dispatch(unit).sign().submit(on_time=False).accept()
        elif outcome == "in_progress":
            case.dispatch(unit).sign()
        else:
            case.handled(unit)
            case.wait_status("awaiting_feedback")
            for channel in ("online_publication", "direct_reply"):
                r = case.post("feedback", {"channel": channel, "content": "已反馈处理结果"})
                assert r.status_code == 201, r.text
            for kind in ["complainant", *rng.sample(KINDS[1:], rng.randint(0, 1))]:
                rating = rng.choices(RATINGS, (3, 1, 1))[0]
                r = case.post("evaluations", {"rating": rating, "evaluator_kind": kind})
                assert r.status_code == 201, r.text
                EVALUATED[case.id] = EVALUATED.get(case.id, 0) + 1
                if rating == "dissatisfied":  # a second pass starts: no more this pass
                    break
        made[outcome + str(i)] = case
    return made


def rate(n: int, of: int) -> float | None:
    return round(n / of, 4) if of else None


def recompute(
    dispatched: list[Envelope], tracking: list[Any], now: datetime
) -> dict[str, dict[str, Any]]:
    """Each unit's figures, score, grade and rank from the events alone."""
    streams: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for envelope in dispatched:
        streams[envelope.stream_id].append(envelope.event)
    numbers = {c.id: c.number for c in CASES.values()}
    f: dict[str, dict[str, Any]] = {
        u: defaultdict(int) | {"cases": defaultdict(list)} for u in UNITS
    }
    lead: dict[uuid.UUID, str] = {}
    for case_id, events in streams.items():
        if case_id not in numbers:
            continue
        dispatch = [e for e in events if isinstance(e, d.CaseDispatched)][-1]
        unit, status = dispatch.lead_unit, events[-1].status
        lead[case_id] = unit
        u, cases = f[unit], f[unit]["cases"]
        u["dispatches"] += 1
        signed = [e for e in events if isinstance(e, d.CaseSigned)]
        results = [e for e in events if isinstance(e, d.ResultSubmitted)]
        if signed:
            u["signed"] += 1
            u["signed_on_time"] += signed[-1].on_time
        elif status == "dispatched" and dispatch.sign_deadline < now:
            u["unsigned_past_deadline"] += 1
            cases["unsigned_past_deadline"].append(numbers[case_id])
        if results:
            u["completed"] += 1
            u["completed_on_time"] += results[-1].on_time
        elif status in ("dispatched", "in_progress") and dispatch.handle_deadline < now:
            u["late_without_result"] += 1
            cases["late_without_result"].append(numbers[case_id])
    findings: dict[str, list[Any]] = defaultdict(list)
    for event in tracking:
        name = type(event).__name__
        unit = lead.get(event.originator_id)
        if name == "EvaluationRecorded" and unit:
            side = "complainant" if event.evaluator_kind == "complainant" else "third_party"
            f[unit][f"{side}_evaluations"] += 1
            f[unit][f"{side}_satisfied"] += event.rating in ("satisfied", "basically_satisfied")
        elif name == "AccountabilityRecorded" and unit:
            findings[unit].append(event.position)
        elif name == "FindingRecorded":  # a decision of the case's procedure (ADR 19)
            against = event.record.get("unit") or lead.get(event.case_id)
            if against:
                findings[against].append(event.record.get("position"))
    for code, u in f.items():
        measures = {
            "sign": rate(u["signed_on_time"], u["signed"] + u["unsigned_past_deadline"]),
            "completion": rate(u["completed_on_time"], u["completed"] + u["late_without_result"]),
            "complainant": rate(u["complainant_satisfied"], u["complainant_evaluations"]),
            "third_party": rate(u["third_party_satisfied"], u["third_party_evaluations"]),
            "returns": 1.0 if u["dispatches"] else None,
        }
        counted = {k: v for k, v in measures.items() if v is not None}
        u["measures"] = measures
        if not counted:
            u["score"] = u["grade"] = None
            continue
        total = sum(WEIGHTS[k] for k in counted)
        mean = 100 * sum(WEIGHTS[k] * v for k, v in counted.items()) / total
        deduction = min(20.0, 5.0 * len(findings[code]))
        u["score"] = round(max(0.0, min(100.0, mean - deduction)), 2)
        grade = next((g for floor, g in THRESHOLDS if u["score"] >= floor), "incompetent")
        u["computed"] = grade
        if "局长" in findings[code]:
            order = [g for _, g in THRESHOLDS] + ["incompetent"]
            grade = max(grade, "basically_competent", key=order.index)
        u["grade"] = grade
    for kind, group in GROUP.items():
        members = sorted(
            (c for c, (_, k) in UNITS.items() if k == kind and f[c]["score"] is not None),
            key=lambda c: (-f[c]["score"], c),
        )
        for i, c in enumerate(members):
            tied = i and f[members[i - 1]]["score"] == f[c]["score"]
            f[c]["rank"] = f[members[i - 1]]["rank"] if tied else i + 1
            f[c]["group"] = group
    return f


CASES: dict[str, Case] = {}
EVALUATED: dict[uuid.UUID, int] = {}


def test_a_generated_year_is_assessed_as_its_events_say(served: Served) -> None:
    delivered: list[Envelope] = []
    original = served.deliver

    def capture(envelope: Envelope) -> None:
        delivered.append(envelope)
        original(envelope)

    served.deliver = capture  # type: ignore[method-assign]
    CASES.clear()
    EVALUATED.clear()
    CASES.update(generate(served, seed=19, cases=16))
    handled_d1 = next(
        (c for k, c in CASES.items() if k.startswith("handled") and c.lead_unit == "D1"), None
    )
    if handled_d1 is None:  # the seed decides; make sure D1 has a case to be held to account
        handled_d1 = Case(served, channel="mayor_hotline", summary="教育局案件").handled("D1")
        CASES["handled_d1"] = handled_d1
        handled_d1.wait_status("awaiting_feedback")
    r = handled_d1.post(
        "accountability",
        {
            "target_kind": "person",
            "name": "王某",
            "position": "局长",
            "measures": ["admonishment_talk"],
        },
    )
    assert r.status_code == 201, r.text
    wait_for(lambda: handled_d1.view()["accountability"], 30, "the record on the ledger")
    for case in CASES.values():
        wait_for(
            lambda c=case: c.view()["evaluations"]["total"] == EVALUATED.get(c.id, 0),
            30,
            "evaluations on the ledger",
        )

    now = served.tracking.now()
    year = now.astimezone(SHANGHAI).year
    app = served.tracking.app
    stored = [
        app.mapper.to_domain_event(n)
        for n in app.recorder.select_notifications(start=1, limit=100_000)
    ]
    expected = recompute(delivered, stored, now)

    office = served.api.auth("office")
    r = served.api.get(f"/api/v1/assessments/{year}", headers=office)
    assert r.status_code == 200, r.text
    items = {i["unit"]["code"]: i for i in r.json()["items"]}
    assert set(items) == set(UNITS)
    for code, want in expected.items():
        got = items[code]
        assert got["score"] == want["score"], code
        assert (got["grade"] or {}).get("code") == want["grade"], code
        if want["score"] is not None:
            assert (got["rank"], got["group"]) == (want["rank"], want["group"]), code
        if want["score"] is not None:
            assert got["computed_grade"]["code"] == want["computed"], code
    # this seed gives a spread of grades, and D1's veto bites (合格 computed, 基本合格 after)
    assert len({w["grade"] for w in expected.values()}) >= 3
    assert (expected["D1"]["computed"], expected["D1"]["grade"]) == (
        "competent",
        "basically_competent",
    )
    assert items["D1"]["vetoes"] == ["main_leader_accountable"]
    assert items["D1"]["no_award"] is True

    # the breakdown: every figure and the cases behind it
    for code, want in expected.items():
        r = served.api.get(f"/api/v1/assessments/{year}/{code}", headers=office)
        assert r.status_code == 200, r.text
        unit = r.json()
        kpis, cases = unit["kpis"], unit["cases"]
        for name in ("signed", "signed_on_time", "unsigned_past_deadline", "completed"):
            assert kpis.get(name, 0) == want[name], (code, name)
            assert len(cases.get(name, [])) == want[name], (code, name)
        assert kpis.get("completed_on_time", 0) == want["completed_on_time"], code
        assert sorted(cases.get("unsigned_past_deadline", [])) == sorted(
            want["cases"]["unsigned_past_deadline"]
        )
        assert sorted(cases.get("late_without_result", [])) == sorted(
            want["cases"]["late_without_result"]
        )
        values = {m["name"]: m["value"] for m in unit["measures"]}
        assert values["on_time_sign_rate"] == want["measures"]["sign"], code
        assert values["on_time_completion_rate"] == want["measures"]["completion"], code
        assert values["third_party_satisfaction_rate"] == want["measures"]["third_party"], code
    d1 = served.api.get(f"/api/v1/assessments/{year}/D1", headers=office).json()
    assert [a["case_number"] for a in d1["accountability"]] == [handled_d1.number]

    # the office's final decision: the veto holds, a reason is kept
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/decision",
        json={"grade": "excellent", "reason": "日常工作突出"},
        headers=office,
    )
    assert r.status_code == 409 and r.json()["code"] == "assessment_vetoed"
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/decision",
        json={"grade": "incompetent", "reason": "主要负责人被问责,整改不到位"},
        headers=office,
    )
    assert r.status_code == 200, r.text
    assert r.json()["final_grade"] == {"code": "incompetent", "label": "不合格"}
    assert r.json()["decision"]["reason"] == "主要负责人被问责,整改不到位"
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/decision", json={"grade": "A", "reason": ""}, headers=office
    )
    assert r.status_code == 422
    r = served.api.post(
        f"/api/v1/assessments/{year}/NOPE/decision",
        json={"grade": "competent", "reason": "无"},
        headers=office,
    )
    assert r.status_code == 404 and r.json()["code"] == "no_such_assessed_unit"

    # 告知与整改通知书: a reply deadline ten working days on, answered by the unit only
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/notice",
        json={"issues": ["按期办结率偏低"], "reply_working_days": 10},
        headers=office,
    )
    assert r.status_code == 201, r.text
    notice = r.json()["notice"]
    assert notice["number"] == f"纠风整改〔{year}〕1号"
    deadline = datetime.fromisoformat(notice["reply_deadline"]).astimezone(SHANGHAI)
    assert deadline.date() - now.astimezone(SHANGHAI).date() >= timedelta(days=12)
    assert (deadline.hour, deadline.minute) == (23, 59)
    other = served.api.auth("unit_liaison", unit="D2")
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/notice/reply", json={"content": "已整改"}, headers=other
    )
    assert r.status_code == 403 and r.json()["code"] == "not_your_unit"
    mine = served.api.auth("unit_liaison", unit="D1")
    r = served.api.post(
        f"/api/v1/assessments/{year}/D1/notice/reply", json={"content": "已整改"}, headers=mine
    )
    assert r.status_code == 200, r.text
    assert r.json()["notice"]["reply"]["on_time"] is True
