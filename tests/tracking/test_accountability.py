"""The accountability procedure (问责程序, issue 18) through the API on SQLite and PostgreSQL:
each trigger opens it, a decision per target follows the documents' rules, a higher level's
case is reported back, and close-out waits for all of it — every refusal changing nothing."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from shared.contracts import dispatch as d
from shared.platform.settings import AccountabilityRules, Settings
from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.pinned import pinned_clock
from tests.support.tracking import Case, Served, served_fixture, serving  # noqa: F401

DIRECT_REPLY = {"channel": "direct_reply", "content": "已向上级和投诉人反馈处理结果"}
SATISFIED = {"rating": "satisfied", "evaluator_kind": "complainant"}
PERSON = {
    "target_kind": "person",
    "name": "张某",
    "unit": "武昌区教育局",
    "position": "基础教育科科长",
    "liability": "direct",
    "measures": ["admonishment_talk"],
    "circumstances": "mitigating",
    "grounds": "主动查处和纠正,有效挽回影响(第四十条第一项)",
    "decided_by": "appointing_authority",
    "decided_on": "2026-03-02",
}
LEADERSHIP = {
    "target_kind": "leadership",
    "name": "武昌区教育局领导班子",
    "unit": "武昌区教育局",
    "liability": "collective",
    "measures": ["dismissal", "judicial_transfer"],
    "decided_by": "superior_department",
    "decided_on": "2026-03-02",
}


def procedure(case: Case) -> dict[str, Any]:
    r = case.api.get(f"/api/v1/cases/{case.id}/accountability", headers=case.api.auth("office"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def opened(case: Case, trigger: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | bool:
        r = case.api.get(
            f"/api/v1/cases/{case.id}/accountability", headers=case.api.auth("supervisor")
        )
        if r.status_code != 200:
            return False
        body: dict[str, Any] = r.json()
        return trigger in [t["trigger"] for t in body["triggers"]] and body

    result: dict[str, Any] = wait_for(found, 30, f"a procedure opened by {trigger}")
    return result


def posted(case: Case, action: str, body: Any = None, status: int = 201) -> dict[str, Any]:
    # tracking's follow-up learns of a case from its own consumer: until then a route on the
    # case answers 404 and changes nothing, so a 404 not asked for is tried again a while
    tries = 0
    while (r := case.post(action, body)).status_code == 404 != status and tries < 300:
        tries += 1
        time.sleep(0.1)
    assert r.status_code == status, r.text
    answer: dict[str, Any] = r.json()
    return answer


def ready_to_close(case: Case, feedback: bool = True) -> None:
    case.handled("WC-JYQ")
    case.wait_status("awaiting_feedback" if feedback else "awaiting_evaluation")
    if feedback:
        posted(case, "feedback", DIRECT_REPLY)
    posted(case, "evaluations", SATISFIED)


def test_a_higher_levels_referral_is_decided_reported_back_and_only_then_closed_out(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="higher_referral", summary="市纪委转办:某局乱收费")
    view = opened(case, "higher_source")
    assert (view["stage"], view["report_back_required"]) == ("open", True)
    assert view["report_back_due"] is not None
    ready_to_close(case)

    refused = problem(case.post("close-out"), 409)
    assert [m["code"] for m in refused["missing"]] == ["accountability_undecided"]
    assert "问责程序" in refused["detail"]

    wrong = problem(case.post("accountability", LEADERSHIP), 422)
    assert wrong["errors"][0]["code"] == "invalid_accountability"
    assert "第三十六条" in wrong["detail"] and "免职" in wrong["detail"]
    collective_person = {**PERSON, "liability": "collective"}
    assert "第三十五条" in problem(case.post("accountability", collective_person), 422)["detail"]
    ungrounded = {**PERSON, "grounds": None}
    assert problem(case.post("accountability", ungrounded), 422)["field"] == "grounds"
    problem(case.post("accountability/report-back", {"reported_to": "市纪委", "content": "x"}), 409)
    assert procedure(case)["findings"] == []

    answer = posted(case, "accountability", PERSON)
    assert (answer["stage"], answer["n"], answer["status"]) == ("decided", 1, "awaiting_evaluation")
    leadership = {**LEADERSHIP, "measures": ["written_self_criticism", "leadership_adjustment"]}
    posted(case, "accountability", leadership)
    still = problem(case.post("close-out"), 409)
    assert [m["code"] for m in still["missing"]] == ["report_back_missing"]

    report = {"reported_to": "市纪委", "content": "已对相关责任人问责", "reported_on": "2026-03-03"}
    assert posted(case, "accountability/report-back", report)["stage"] == "closed"
    twice = problem(case.post("accountability/report-back", report), 409)
    assert twice["code"] == "already_reported_back"
    corrected = {**PERSON, "measures": ["circulated_criticism"], "reason": "复核后更正"}
    posted(case, "accountability/findings/1/correction", corrected)
    view = procedure(case)
    assert [f["measure_labels"] for f in view["findings"]] == [
        ["通报批评"],
        ["责令书面检查", "调整处理"],
    ]
    assert len(view["all_findings"]) == 3
    assert posted(case, "close-out", status=200)["status"] == "closed_out"

    # 问责清单 and the person's record (read from the ledger)
    office = case.api.auth("supervisor")

    def listed(**params: Any) -> dict[str, Any]:
        r = case.api.get("/api/v1/accountability", params=params, headers=office)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    corrected_only = {"person": "张某", "year": 2026, "measure": "circulated_criticism"}
    wait_for(lambda: listed(**corrected_only)["total"] == 1, 30, "the corrected decision")
    [item] = listed(**corrected_only)["items"]
    assert listed(person="张某")["total"] == 1  # the correction took the finding's place
    assert (item["number"], item["unit"], item["award_bar"]) == (case.number, "武昌区教育局", True)
    assert listed(liability="collective")["items"][0]["measure_labels"] == [
        "责令书面检查",
        "调整处理",
    ]
    assert listed(year=2025)["total"] == 0
    assert listed(trigger="higher_source")["total"] == 2
    assert listed(trigger="second_pass")["total"] == 0
    assert (
        case.api.get("/api/v1/accountability", params={"colour": "red"}, headers=office).status_code
        == 422
    )
    r = case.api.get("/api/v1/accountability/persons", params={"name": "张某"}, headers=office)
    [person] = r.json()["items"]
    assert (person["unit"], person["position"]) == ("武昌区教育局", "基础教育科科长")
    assert person["award_bar_label"] == ["2026年度不得评优评先"]
    assert person["unit_award_bar_years"] == [2026]
    xlsx = case.api.get("/api/v1/accountability.xlsx", headers=office)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    liaison = case.api.auth("unit_liaison", unit="WC-JYQ")
    assert case.api.get("/api/v1/accountability", headers=liaison).status_code == 403

    # 典型案例, names removed by decision; a 标杆案例 needs a 容错免责 decision.
    typical = {
        "title": "某局乱收费被问责",
        "text": "经查属实,相关责任人被问责。",
        "keep_names": False,
    }
    benchmark = problem(
        case.post("accountability/typical-case", {**typical, "kind": "benchmark"}), 409
    )
    assert "容错免责" in benchmark["detail"]
    posted(case, "accountability/typical-case", typical)

    def published() -> list[dict[str, Any]]:
        r = case.api.get("/public/v1/typical-cases")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    [shown] = wait_for(published, 30, "the typical case on the portal")
    assert (shown["number"], shown["kind"], shown["title"]) == (
        case.number,
        "typical",
        typical["title"],
    )
    assert [p["measures"] for p in shown["persons"]] == [
        ["circulated_criticism"],
        ["written_self_criticism", "leadership_adjustment"],
    ]
    assert "张某" not in json.dumps(shown, ensure_ascii=False)
    # … and in the month's circular (通报曝光), as published: names removed, measures named
    month = f"{served.tracking.now():%Y-%m}"
    circular = case.api.get(f"/api/v1/reports/monthly/{month}", headers=office).text
    section = circular.split("典型案例通报")[1]
    assert case.number in section and typical["title"] in section and "通报批评" in section
    assert "张某" not in section and "容错免责" not in section

    # The office's table: only the heavier measures bar awards (武昌办法第四十三条).
    tables = {"award_bar_measures": ["dismissal", "disciplinary_sanction"], "floors": {}}
    office_put = case.api.auth("office")
    r = case.api.put("/api/v1/accountability/tables", json=tables, headers=office_put)
    assert r.status_code == 200, r.text
    assert (
        case.api.put("/api/v1/accountability/tables", json=tables, headers=office).status_code
        == 403
    )
    bad = {"award_bar_measures": ["public_shaming"], "floors": {}}
    assert (
        case.api.put("/api/v1/accountability/tables", json=bad, headers=office_put).status_code
        == 422
    )
    assert listed(person="张某")["items"][0]["award_bar"] is False


def test_origin_supervised_track_and_supervision_notices_open_it_and_the_office_can(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    local = Case(served, channel="undercover_visit", summary="区治庸问责办暗访")
    higher = Case(
        served,
        channel="undercover_visit",
        summary="市纪委暗访发现的问题",
        origin={"level": "city", "body": "市纪委暗访组"},
    )
    view = opened(higher, "higher_source")
    assert view["origin"] == {"level": "city", "body": "市纪委暗访组"}
    assert view["report_back_required"] is True

    triaged = Case(served, channel="media", summary="媒体曝光,来源在分类时查明")
    body = {"track": "general", "origin": {"level": "province", "body": "省级媒体"}}
    r = triaged.api.post(
        f"/api/v1/cases/{triaged.id}/triage", json=body, headers=triaged.api.auth("office")
    )
    assert r.status_code == 200, r.text
    assert opened(triaged, "higher_source")["origin"]["level"] == "province"
    bad = {"track": "general", "origin": {"level": "galaxy"}}
    r = triaged.api.post(
        f"/api/v1/cases/{triaged.id}/triage", json=bad, headers=triaged.api.auth("office")
    )
    assert r.status_code == 422

    supervised = Case(served, channel="petition", summary="列为督办")
    supervised.triage("supervised")
    assert opened(supervised, "supervised_track")["report_back_required"] is False
    no_one = {
        "reason": "经调查,问题系政策调整所致,无人应被问责",
        "decided_by": "supervisory_authority",
        "decided_on": "2026-03-02",
    }
    assert posted(supervised, "accountability/no-accountability", no_one)["stage"] == "closed"
    conflict = problem(supervised.post("accountability", PERSON), 409)
    assert conflict["code"] == "decision_conflict"

    noticed = Case(served, channel="petition", summary="多次督办").triage()
    noticed.dispatch("WC-JYQ")
    at = served.tracking.now()
    for _ in range(2):
        noticed.emit(
            d.SupervisionNoticeIssued,
            "dispatched",
            deadline_kind="sign",
            deadline=at,
            unit="WC-JYQ",
        )
    assert opened(noticed, "supervision_notices")["stage"] == "open"

    r = local.api.get(f"/api/v1/cases/{local.id}/accountability", headers=local.api.auth("office"))
    assert problem(r, 404)["code"] == "no_accountability_procedure"
    posted(local, "accountability/open", {"reason": "暗访发现窗口人员脱岗"})
    assert opened(local, "office")["stage"] == "open"
    problem(local.post("accountability/open", {"reason": "x"}, role="supervisor"), 403)


def test_a_second_pass_opens_it_at_once_and_a_section_6_body_decides_it(served: Served) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="self_inspection", summary="部门自查")
    case.handled("WC-JYQ")
    case.wait_status("awaiting_evaluation")
    posted(case, "evaluations", {"rating": "dissatisfied", "evaluator_kind": "complainant"})
    view = procedure(case)  # in the same transaction as the second pass: no waiting
    assert [t["trigger"] for t in view["triggers"]] == ["second_pass"]

    old = {"target_kind": "leadership", "name": "某局领导班子", "measures": ["dismissal"]}
    refused = problem(case.post("accountability", old), 422)
    assert "领导班子" in refused["detail"]
    section_6 = {
        "target_kind": "person",
        "name": "李某",
        "position": "科员",
        "measures": ["criticism_education"],
        "circumstances": "aggravating",
    }
    answer = posted(case, "accountability", section_6)
    assert answer["stage"] == "closed"
    [finding] = procedure(case)["findings"]
    assert (finding["liability"], finding["decided_by_label"], finding["legacy"]) == (
        "direct",
        "未注明",
        True,
    )

    def checks() -> set[str]:
        r = case.api.get("/api/v1/accountability/checks", headers=case.api.auth("office"))
        assert r.status_code == 200, r.text
        return {i["check"] for i in r.json()["items"] if i["number"] == case.number}

    wait_for(lambda: checks() == {"half_checked"}, 30, "一案双查不全 (the leadership unchecked)")

    # Dissatisfied again after the second pass: the procedure reopens for a second round.
    case.reopen_for_second_pass()
    case.wait_status("in_progress")
    case.submit(n=2, both_findings=True).accept(n=2)
    case.wait_status("awaiting_evaluation")
    posted(case, "evaluations", {"rating": "dissatisfied", "evaluator_kind": "complainant"})
    view = procedure(case)
    assert (view["stage"], view["round"], view["findings"]) == ("open", 2, [])
    assert view["triggers"][-1]["trigger"] == "dissatisfied_twice"
    refused = problem(case.post("close-out"), 409)
    assert [m["code"] for m in refused["missing"]] == ["accountability_undecided"]
    leadership = {**LEADERSHIP, "measures": ["circulated_criticism"]}
    assert posted(case, "accountability", leadership)["stage"] == "closed"
    assert posted(case, "close-out", status=200)["status"] == "closed_out"
    wait_for(lambda: checks() == set(), 30, "一案双查 complete with the leadership's")


@pytest.mark.calendar
def test_the_checks_flag_unasked_unreported_and_too_light_decisions(settings: Settings) -> None:
    rules = AccountabilityRules(report_back_working_days=2, floors={"higher_source": "dismissal"})
    with serving(settings.model_copy(update={"accountability": rules})) as served:
        served.unit("WC-JYQ", "武昌区教育局")
        case = Case(served, channel="leader_instruction", summary="领导批示的问题")
        opened(case, "higher_source")
        supervisor = served.api.auth("supervisor")

        def checks() -> list[tuple[str, str]]:
            r = served.api.get("/api/v1/accountability/checks", headers=supervisor)
            assert r.status_code == 200, r.text
            return [(i["number"], i["check"]) for i in r.json()["items"]]

        assert checks() == []
        assert settings.clock_file is not None
        pinned_clock(settings.clock_file, served.tracking.now() + timedelta(days=30))
        wait_for(lambda: checks() == [(case.number, "unasked")], 30, "该问不问")
        posted(case, "accountability", PERSON)
        wait_for(
            lambda: checks() == [(case.number, "unreported"), (case.number, "too_light")],
            30,
            "问而不报 and 问责畸轻",
        )


@pytest.mark.calendar
def test_a_procedure_owing_no_report_back_is_unasked_past_the_offices_decision_days(
    settings: Settings,
) -> None:
    """该问不问 for every procedure: one opened by the supervised track owes no report back, so
    the office's ``decision_working_days`` from its opening is its deadline."""
    rules = AccountabilityRules(decision_working_days=5)
    with serving(settings.model_copy(update={"accountability": rules})) as served:
        served.unit("WC-JYQ", "武昌区教育局")
        case = Case(served, summary="列为督办的问题").triage(track="supervised")
        view = opened(case, "supervised_track")
        assert view["report_back_due"] is None
        supervisor = served.api.auth("supervisor")

        def checks() -> list[tuple[str, str]]:
            r = served.api.get("/api/v1/accountability/checks", headers=supervisor)
            assert r.status_code == 200, r.text
            return [(i["number"], i["check"]) for i in r.json()["items"]]

        assert checks() == []
        assert settings.clock_file is not None
        pinned_clock(settings.clock_file, served.tracking.now() + timedelta(days=3))
        assert checks() == []  # three calendar days are fewer than five working days
        pinned_clock(settings.clock_file, served.tracking.now() + timedelta(days=15))
        wait_for(lambda: checks() == [(case.number, "unasked")], 30, "该问不问")
        posted(case, "accountability", PERSON)
        wait_for(lambda: checks() == [], 30, "decided: no longer unasked")
