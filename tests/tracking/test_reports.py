"""KPIs on a small known data set, and the monthly circular and annual summary documents."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from shared.contracts import dispatch as d
from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, liaison, served_fixture  # noqa: F401

pytestmark = pytest.mark.calendar

A, B = "WC-JYQ", "WC-CZJ"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def registered_day(case: Case) -> date:
    return datetime.fromisoformat(case.view()["registered_at"]).astimezone(SHANGHAI).date()


def evaluate(case: Case, rating: str, kind: str = "complainant") -> None:
    r = case.post("evaluations", {"rating": rating, "evaluator_kind": kind})
    assert r.status_code == 201, r.text


def feedback(case: Case, *channels: str) -> None:
    for channel in channels:
        r = case.post("feedback", {"channel": channel, "content": "已反馈处理结果"})
        assert r.status_code == 201, r.text


@pytest.fixture
def known(served: Served) -> dict[str, Case]:
    """Five cases whose KPIs are worked out by hand in the tests below."""
    served.unit(A, "武昌区教育局")
    served.unit(B, "武昌区财政局")
    c1 = Case(served, channel="mayor_hotline", summary="按期办结并销号").handled(A)
    c2 = Case(served, channel="petition", summary="超期未办结").triage()
    c2.dispatch(A, handle_in=timedelta(days=-1)).sign(on_time=False)
    c2.emit(
        d.ExtensionRequested, "in_progress", liaison(A), n=1, unit=A, working_days=3, reason="核查"
    )
    c2.emit(
        d.ExtensionDecided,
        "in_progress",
        n=1,
        granted=True,
        reason=None,
        handle_deadline=served.tracking.now() - timedelta(hours=1),
        handle_deadline_provisional=False,
    )
    c3 = Case(served, channel="self_inspection", summary="退单后不满意二次办理").triage()
    c3.dispatch(B)
    c3.emit(
        d.CaseReturned, "returned", liaison(B), unit=B, reason="非本单位职责", returns_by_unit=1
    )
    c3.dispatch(A).sign().submit(on_time=False).accept()
    c4 = Case(served, channel="media", summary="媒体曝光已办结").handled(B)
    c5 = Case(served, channel="mayor_hotline", summary="尚未交办")

    c1.wait_status("awaiting_feedback")
    feedback(c1, "online_publication", "direct_reply")
    evaluate(c1, "satisfied")
    assert c1.post("close-out").status_code == 200
    c3.wait_status("awaiting_evaluation")
    evaluate(c3, "dissatisfied", "npc_deputy")
    # A deputy's dissatisfaction is referred; the office decides on the second pass (ADR 20).
    decided = c3.post("second-pass", {"start": True, "reason": "代表意见属实"})
    assert decided.status_code == 201, decided.text
    c4.wait_status("awaiting_feedback")
    feedback(c4, "media_response")
    evaluate(c4, "basically_satisfied")
    evaluate(c4, "satisfied", "npc_deputy")
    wait_for(lambda: c1.view()["status"] == "closed_out", 30, "c1 closed out")
    wait_for(lambda: c3.view()["status"] == "second_pass", 30, "c3 in its second pass")
    wait_for(lambda: c4.view()["evaluations"]["total"] == 2, 30, "c4 evaluated twice")
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def stats(served: Served, by: str, **params: Any) -> dict[str, Any]:
    r = served.api.get(f"/api/v1/stats/{by}", params=params, headers=served.api.auth("office"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_unit_and_channel_kpis_on_a_known_data_set(served: Served, known: dict[str, Case]) -> None:
    units = {u["unit"]["code"]: u for u in stats(served, "units")["items"]}
    assert set(units) == {A, B}
    a, b = units[A], units[B]
    assert a["unit"]["name"] == "武昌区教育局"
    assert (a["cases"], a["signed"], a["signed_on_time"]) == (3, 3, 2)
    assert a["on_time_sign_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (a["completed"], a["completed_on_time"], a["due"]) == (2, 1, 3)
    assert a["on_time_completion_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (a["evaluations"], a["satisfied"], a["satisfaction_rate"]) == (2, 1, 0.5)
    assert (a["second_pass"], a["second_pass_rate"]) == (1, 0.5)
    assert (a["overdue"], a["extensions"], a["closed_out"]) == (1, 1, 1)
    assert (a["dispatches"], a["returns"], a["return_rate"]) == (3, 0, 0.0)

    assert (b["cases"], b["on_time_sign_rate"], b["on_time_completion_rate"]) == (1, 1.0, 1.0)
    assert (b["evaluations"], b["satisfaction_rate"], b["second_pass_rate"]) == (2, 1.0, 0.0)
    assert (b["dispatches"], b["returns"], b["return_rate"]) == (2, 1, 0.5)
    assert b["overdue"] == 0

    channels = {c["channel"]: c for c in stats(served, "channels")["items"]}
    assert {k: v["cases"] for k, v in channels.items()} == {
        "mayor_hotline": 2,
        "petition": 1,
        "self_inspection": 1,
        "media": 1,
    }
    hotline = channels["mayor_hotline"]
    assert (hotline["channel_label"], hotline["closed_out"]) == ("市长专线", 1)
    assert hotline["on_time_sign_rate"] == 1.0
    assert channels["self_inspection"]["return_rate"] == 0.5
    assert channels["petition"]["on_time_completion_rate"] == 0.0

    first = min(registered_day(c) for c in known.values())
    assert stats(served, "units", to=str(first - timedelta(days=1)))["items"] == []
    assert len(stats(served, "units", **{"from": str(first)})["items"]) == 2
    problem(served.api.get("/api/v1/stats/units", headers=served.api.auth("evaluator")), 403)


def test_kpis_count_missed_deadlines_and_leave_merged_and_overruled_apart(served: Served) -> None:
    """The issue's month: the sign-for rate showed 100 % while a case had missed its deadline
    unsigned; a merged duplicate counted against the unit; an overruled return counted as a
    justified one; and the complainant's rating was mixed with a third party's."""
    served.unit(A, "武昌区教育局")
    now = served.tracking.now()
    unsigned = Case(served, summary="逾期未签收").triage()
    unsigned.dispatch(A, sign_in=timedelta(hours=-2))
    rated = Case(served, summary="按期签收并办结").triage()
    rated.dispatch(A).sign().submit().accept()
    overruled = Case(served, summary="退回被驳回").triage()
    overruled.dispatch(A)
    overruled.emit(
        d.CaseReturned, "returned", liaison(A), unit=A, reason="非本单位职责", returns_by_unit=1
    )
    overruled.emit(
        d.ReturnOverruled,
        "dispatched",
        unit=A,
        reason="属本单位职责",
        sign_deadline=now + timedelta(days=1),
        sign_deadline_provisional=False,
    )
    overruled.sign()
    duplicate = Case(served, summary="重复反映").triage()
    duplicate.dispatch(A, sign_in=timedelta(hours=-2))  # unsigned and late, but a duplicate
    duplicate.emit(
        d.CaseMerged, "merged", into_case_id=rated.id, into_number=rated.number, reason="重复"
    )
    rated.wait_status("awaiting_feedback")
    feedback(rated, "online_publication", "direct_reply")
    evaluate(rated, "satisfied")
    evaluate(rated, "dissatisfied", "npc_deputy")
    wait_for(lambda: rated.view()["evaluations"]["total"] == 2, 30, "both evaluations")
    wait_for(lambda: duplicate.view()["status"] == "merged", 30, "the merge")

    [a] = stats(served, "units")["items"]
    assert (a["cases"], a["merged"]) == (3, 1)
    assert (a["signed"], a["signed_on_time"], a["unsigned_past_deadline"]) == (2, 2, 1)
    assert (a["sign_due"], a["on_time_sign_rate"]) == (3, pytest.approx(2 / 3, abs=1e-4))
    assert (a["returns"], a["overruled_returns"], a["return_rate"]) == (1, 1, 0.0)
    assert (a["evaluations"], a["satisfaction_rate"]) == (2, 0.5)
    assert (a["complainant_evaluations"], a["complainant_satisfaction_rate"]) == (1, 1.0)
    assert (a["third_party_evaluations"], a["third_party_satisfaction_rate"]) == (1, 0.0)
    channels = stats(served, "channels")["items"]  # merged apart by channel too
    assert (sum(c["cases"] for c in channels), sum(c["merged"] for c in channels)) == (3, 1)

    # The circular lists the unsigned case by the deadline it missed (its handling deadline
    # lies ahead), and the merged duplicate not at all.
    month = f"{registered_day(unsigned):%Y-%m}"
    md = served.api.get(f"/api/v1/reports/monthly/{month}", headers=served.api.auth("office"))
    overdue = md.text.split("超期未办结问题")[1].split("##")[0]
    [line] = [x for x in overdue.splitlines() if unsigned.number in x]
    assert "逾期未签收" in line and "签收超期 1 个工作日" in line
    assert duplicate.number not in overdue


def test_the_monthly_circular_and_annual_summary_as_documents(
    served: Served, known: dict[str, Case]
) -> None:
    api, office = served.api, served.api.auth("office")
    day = registered_day(known["c1"])  # the five were registered within seconds of each other
    month = f"{day:%Y-%m}"
    md = api.get(f"/api/v1/reports/monthly/{month}", headers=office)
    assert md.status_code == 200, md.text
    assert md.headers["content-type"].startswith("text/markdown")
    text = md.text
    assert f"# {day.year}年{day.month}月纠风问题办理情况通报" in text
    assert "| 武昌区教育局 | 3 | 66.7% | 33.3% | 50.0% | 0.0% | 50.0% | 1 | 1 | 1 |" in text
    assert "| 全部 | 5 |" in text
    overdue = text.split("超期未办结问题")[1].split("##")[0]
    assert known["c2"].number in overdue and known["c1"].number not in overdue
    follow_ups = text.split("二次办理与问责情况")[1]
    assert known["c3"].number in follow_ups

    page = api.get(f"/api/v1/reports/monthly/{month}", headers=office | {"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<td>武昌区教育局</td>" in page.text

    book = api.get(f"/api/v1/reports/annual/{day.year}", params={"format": "xlsx"}, headers=office)
    assert book.status_code == 200, book.text
    workbook = openpyxl.load_workbook(io.BytesIO(book.content))
    first = workbook.worksheets[0]
    assert first.cell(1, 1).value.startswith(f"{day.year}年度纠风问题办理情况总结")
    assert first.freeze_panes == "A3"
    assert [c.value for c in first[2]][:3] == ["范围", "问题数", "按期签收率"]
    months = next(ws for ws in workbook.worksheets if "各月" in ws.title)
    row = next(r for r in months.iter_rows(min_row=3, values_only=True) if r[0] == f"{day.month}月")
    assert row == (f"{day.month}月", 5, 1)

    problem(api.get("/api/v1/reports/monthly/2026-13", headers=office), 422)
    problem(
        api.get(f"/api/v1/reports/monthly/{month}", params={"format": "pdf"}, headers=office), 422
    )
    liaison_headers = api.auth("unit_liaison", unit=A)
    problem(api.get(f"/api/v1/reports/monthly/{month}", headers=liaison_headers), 403)
