"""A case through the office's and the units' hands, on SQLite and PostgreSQL: each state
change as the endpoints answer it, and each refusal (wrong unit, role or state) as a clear
problem+json that changes nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.platform.calendar import WorkingCalendar
from tests.support.api import Api
from tests.support.dispatch import act, add_units, case_events, ok, open_case, refused, view

LEAD, CO, OTHER = "T-LEAD", "T-CO", "T-OTHER"
RESULT = {
    "findings": "经查,反映问题属实",
    "rectification": "已对相关人员批评教育,窗口增设引导岗",
    "proposal": {"kind": "rectification", "text": "完善窗口服务制度"},
    "signed_off_by": "局长 王某",
}


@pytest.fixture
def units(api: Api) -> Api:
    add_units(api, LEAD, CO, OTHER)
    return api


def test_triage_dispatch_sign_extension_result_rejection_result_acceptance(units: Api) -> None:
    api = units
    case_id = open_case(api)
    assert view(api, case_id)["status"] == "registered"

    triaged = ok(act(api, case_id, "triage", "office", track="general", category="inaction"))
    assert (triaged["status"], triaged["track"], triaged["category"]) == (
        "registered",
        "general",
        "inaction",
    )
    dispatched = ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[CO]))
    assert dispatched["status"] == "dispatched"
    assert (dispatched["lead_unit"], dispatched["co_units"]) == (LEAD, [CO])
    assert dispatched["handle_working_days"] == 15
    assert dispatched["sign_deadline"] < dispatched["handle_deadline"]

    # Before signing: wrong unit, co-unit, wrong role, wrong state.
    refused(api, case_id, 404, "sign", "unit_liaison", OTHER)
    co = refused(api, case_id, 403, "sign", "unit_liaison", CO)
    assert "协办" in co["detail"]
    refused(api, case_id, 403, "sign", "office")
    early = refused(
        api, case_id, 409, "extensions", "unit_liaison", LEAD, working_days=3, reason="需要时间"
    )
    assert "dispatched" in early["detail"]

    signed = ok(act(api, case_id, "sign", "unit_liaison", LEAD))
    assert signed["status"] == "in_progress"
    again = refused(api, case_id, 409, "sign", "unit_liaison", LEAD)
    assert again["detail"] == "案件当前状态为“办理中”,不能签收 (cannot sign a case in_progress)"

    progress = ok(act(api, case_id, "progress", "unit_liaison", CO, note="协办单位已走访核实"))
    assert progress["progress"][-1]["unit"] == CO
    refused(api, case_id, 404, "progress", "unit_liaison", OTHER, note="不相干的单位")

    requested = ok(
        act(api, case_id, "extensions", "unit_liaison", LEAD, working_days=3, reason="需调取监控"),
        201,
    )
    assert requested["n"] == 1
    assert requested["extensions"][0]["status"] == "pending"
    refused(api, case_id, 409, "extensions", "unit_liaison", LEAD, working_days=2, reason="再延")
    refused(api, case_id, 403, "extensions/1/decision", "unit_liaison", LEAD, granted=True)
    refused(api, case_id, 404, "extensions/2/decision", "office", granted=True)
    granted = ok(act(api, case_id, "extensions/1/decision", "office", granted=True, reason="同意"))
    before = datetime.fromisoformat(requested["handle_deadline"])
    assert datetime.fromisoformat(granted["handle_deadline"]) == (
        WorkingCalendar().add_working_days(before, 3).at
    )
    assert granted["extensions"][0]["status"] == "granted"

    first = ok(act(api, case_id, "results", "unit_liaison", LEAD, **RESULT), 201)
    assert (first["n"], first["status"]) == (1, "result_submitted")
    assert first["results"][0]["proposal"] == RESULT["proposal"]
    assert first["results"][0]["on_time"] is True
    refused(api, case_id, 409, "results", "unit_liaison", LEAD, **RESULT)
    refused(api, case_id, 403, "results/1/review", "unit_liaison", LEAD, accepted=True)
    no_reason = refused(api, case_id, 422, "results/1/review", "office", accepted=False)
    assert no_reason["errors"][0]["field"] == "reason"

    rejected = ok(
        act(api, case_id, "results/1/review", "office", accepted=False, reason="未整改到位")
    )
    assert rejected["status"] == "in_progress"
    assert rejected["results"][0]["review"] == {"accepted": False, "reason": "未整改到位"}
    refused(api, case_id, 409, "results/1/review", "office", accepted=True)

    second = ok(act(api, case_id, "results", "unit_liaison", LEAD, **RESULT), 201)
    assert (second["n"], second["status"]) == (2, "result_submitted")
    accepted = ok(act(api, case_id, "results/2/review", "office", accepted=True))
    assert accepted["status"] == "awaiting_feedback"
    refused(api, case_id, 409, "dispatch", "office", lead_unit=OTHER)
    assert case_events(api, case_id) == [
        "Case.Opened",
        "Case.Triaged",
        "Case.Dispatched",
        "Case.Signed",
        "Case.ProgressReported",
        "Case.ExtensionRequested",
        "Case.ExtensionDecided",
        "Case.ResultSubmitted",
        "Case.ResultReviewed",
        "Case.ResultSubmitted",
        "Case.ResultReviewed",
    ]


def test_return_redispatch_and_an_overruled_return(units: Api) -> None:
    api = units
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="supervised"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=OTHER))

    refused(api, case_id, 422, "return", "unit_liaison", OTHER)  # no reason
    returned = ok(act(api, case_id, "return", "unit_liaison", OTHER, reason="不属于本单位职责"))
    assert returned["status"] == "returned"
    assert returned["returns_by_unit"] == {OTHER: 1}
    refused(api, case_id, 409, "sign", "unit_liaison", OTHER)
    refused(api, case_id, 403, "dispatch", "unit_liaison", OTHER, lead_unit=LEAD)

    redispatched = ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[OTHER]))
    assert (redispatched["status"], redispatched["lead_unit"]) == ("dispatched", LEAD)
    assert redispatched["handle_working_days"] == 10  # supervised
    assert case_events(api, case_id)[-1] == "Case.Dispatched"
    refused(api, case_id, 403, "return", "unit_liaison", OTHER, reason="已是协办")

    ok(act(api, case_id, "return", "unit_liaison", LEAD, reason="应由属地街道办理"))
    overruled = ok(act(api, case_id, "overrule-return", "office", reason="属于本单位监管职责"))
    assert (overruled["status"], overruled["lead_unit"]) == ("dispatched", LEAD)
    assert overruled["sign_deadline"] >= redispatched["sign_deadline"]
    assert overruled["returns_by_unit"] == {OTHER: 1, LEAD: 1}
    once_more = refused(api, case_id, 409, "return", "unit_liaison", LEAD, reason="仍不属于")
    assert "驳回" in once_more["detail"]
    refused(api, case_id, 409, "overrule-return", "office", reason="没有待处理的退回")
    assert ok(act(api, case_id, "sign", "unit_liaison", LEAD))["status"] == "in_progress"


def test_an_unrelated_liaison_cannot_see_a_case_and_unknown_cases_are_404(units: Api) -> None:
    api = units
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[CO]))
    assert view(api, case_id, check=False, role="unit_liaison", unit=OTHER).status_code == 404
    assert view(api, case_id, role="unit_liaison", unit=CO)["lead_unit"] == LEAD
    assert view(api, case_id, check=False, role="operator").status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert act(api, unknown, "sign", "unit_liaison", LEAD).status_code == 404
    assert act(api, unknown, "triage", "office", track="general").status_code == 404


def test_dispatch_refuses_unknown_units_and_key_rectification_without_the_plans_time(
    units: Api,
) -> None:
    api = units
    case_id = open_case(api)
    refused(api, case_id, 409, "dispatch", "office", lead_unit=LEAD)  # not triaged yet
    ok(act(api, case_id, "triage", "office", track="key_rectification"))
    unknown = refused(api, case_id, 422, "dispatch", "office", lead_unit="T-NOBODY", co_units=[CO])
    assert unknown["errors"][0]["field"] == "lead_unit"
    refused(api, case_id, 422, "dispatch", "office", lead_unit=LEAD, co_units=[LEAD])
    no_plan = refused(api, case_id, 422, "dispatch", "office", lead_unit=LEAD)
    assert no_plan["errors"][0]["field"] == "handle_working_days"
    planned = ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, handle_working_days=60))
    assert (planned["track"], planned["handle_working_days"]) == ("key_rectification", 60)


def test_merge_links_the_repeat_to_the_original_and_keeps_both(units: Api) -> None:
    api = units
    original = open_case(api)
    repeat = open_case(api, content="又一次反映:某局工作人员上班时间玩手机游戏")
    number = view(api, original)["number"]

    refused(api, repeat, 422, "merge", "office", into=repeat)
    refused(api, repeat, 422, "merge", "office", into="2099-999999")
    refused(api, repeat, 403, "merge", "unit_liaison", LEAD, into=number)
    merged = ok(act(api, repeat, "merge", "office", into=number, reason="同一问题重复反映"))
    assert merged["status"] == "merged"
    assert merged["merged_into"]["number"] == number
    linked = view(api, original)
    assert linked["status"] == "registered"
    assert [r["case_id"] for r in linked["repeats"]] == [repeat]
    assert case_events(api, original)[-1] == "Case.RepeatReportLinked"
    refused(api, repeat, 409, "triage", "office", track="general")
    third = open_case(api, content="第三次反映同一问题")
    refused(api, third, 409, "merge", "office", into=repeat)  # into a merged case


def test_not_accepted_with_a_reason_is_final(units: Api) -> None:
    api = units
    case_id = open_case(api)
    refused(api, case_id, 422, "not-accepted", "office")
    refused(api, case_id, 403, "not-accepted", "operator", reason="不属于受理范围")
    closed = ok(act(api, case_id, "not-accepted", "office", reason="不属于纠风受理范围"))
    assert (closed["status"], closed["not_accepted_reason"]) == (
        "not_accepted",
        "不属于纠风受理范围",
    )
    refused(api, case_id, 409, "dispatch", "office", lead_unit=LEAD)
