"""One case from intake to close-out through a dissatisfied evaluation and a second pass,
across all three services — in one embedded process (SQLite and PostgreSQL) and as separate
processes on PostgreSQL + NATS — checking the ledger row, the history, the KPIs and the xlsx
at each step."""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl
import pytest

from shared.platform.settings import Settings, load_secrets
from shared.web.auth import Role, issue_token
from tests.support.api import EVALUATOR_KIND, Api, feedback_taken, problem
from tests.support.deployment import Deployment
from tests.support.infra import wait_for

UNIT = "E2E-LEAD"
TIP = {
    "channel": "mayor_hotline",  # needs online publication and a direct reply
    "content": "某窗口工作人员对前来办事的群众推诿扯皮,多次往返未办结",
    "summary": "窗口推诿扯皮",
}
RESULT = {
    "findings": "经查属实,窗口工作人员存在推诿行为",
    "rectification": "已对窗口流程整改,实行首问负责制",
    "proposal": {"kind": "rectification", "text": "加强窗口作风建设"},
    "signed_off_by": "局长 李某",
}
BOTH_FINDINGS = {
    "direct_person_findings": "直接责任人张某推诿,已批评教育",
    "leadership_findings": "分管领导督促不力,已责令书面检查",
}


class Driver:
    """Speaks to each service where it answers (one base URL embedded, three apart)."""

    def __init__(self, urls: dict[str, str], settings: Settings) -> None:
        self.urls = urls
        self.secrets = load_secrets(settings)
        self.http = httpx.Client(timeout=60)

    def headers(self, role: str, unit: str | None = None) -> dict[str, str]:
        token = issue_token(
            self.secrets,
            role=Role(role),
            name=f"{role}甲",
            unit=unit,
            kind=EVALUATOR_KIND.get(role),
        )
        return {"Authorization": f"Bearer {token}"}

    def post(
        self, service: str, path: str, role: str, unit: str | None = None, **body: Any
    ) -> httpx.Response:
        return self.http.post(
            self.urls[service] + path, json=body, headers=self.headers(role, unit)
        )

    def get(self, service: str, path: str, role: str = "office", **params: Any) -> httpx.Response:
        return self.http.get(self.urls[service] + path, params=params, headers=self.headers(role))

    def case(self, case_id: str) -> dict[str, Any]:
        r = self.get("tracking", f"/api/v1/cases/{case_id}")
        return r.json() if r.status_code == 200 else {}

    def until(self, case_id: str, status: str, pass_no: int | None = None) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            row = self.case(case_id)
            if row.get("status") == status and (pass_no is None or row.get("pass_no") == pass_no):
                return row
            return None

        result: dict[str, Any] = wait_for(reached, 60, f"the ledger to show {status}", interval=0.2)
        return result

    def history_types(self, case_id: str) -> list[str]:
        r = self.get("tracking", f"/api/v1/cases/{case_id}/history")
        assert r.status_code == 200, r.text
        return [e["type"] for e in r.json()["items"]]

    def xlsx_row(self, number: str) -> dict[str, Any]:
        r = self.get("tracking", "/api/v1/ledger.xlsx")
        assert r.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        header_index = next(i for i, row in enumerate(rows) if row and "编号" in row)
        header = rows[header_index]
        for row in rows[header_index + 1 :]:
            if number in row:
                return dict(zip(header, row, strict=False))
        raise AssertionError(f"{number} not in the xlsx")

    def unit_kpis(self) -> dict[str, Any]:
        r = self.get("tracking", "/api/v1/stats/units")
        assert r.status_code == 200, r.text
        return next(u for u in r.json()["items"] if u["unit"]["code"] == UNIT)


def walk_a_case_through_a_second_pass_to_close_out(d: Driver) -> None:
    created = d.post(
        "dispatch", "/api/v1/units", "admin", code=UNIT, name="区政务服务中心", kind="department"
    )
    assert created.status_code in (201, 409), created.text
    tip = d.post("intake", "/api/v1/tips", "operator", **TIP)
    assert tip.status_code == 201, tip.text
    case_id, number = tip.json()["case_id"], tip.json()["number"]
    row = d.until(case_id, "registered")
    assert row["number"] == number
    row = wait_for(lambda: (r := d.case(case_id))["required_feedback"] and r, 30, "follow-up")
    assert set(row["required_feedback"]) == {"online_publication", "direct_reply"}

    def dispatch_action(
        path: str, role: str, unit: str | None = None, status: int = 200, **body: Any
    ) -> None:
        r = d.post("dispatch", f"/api/v1/cases/{case_id}/{path}", role, unit, **body)
        assert r.status_code == status, r.text

    dispatch_action("triage", "office", track="general", category="buck_passing")
    dispatch_action("dispatch", "office", lead_unit=UNIT, co_units=[])
    row = d.until(case_id, "dispatched")
    assert row["lead_unit"]["code"] == UNIT
    assert row["handle_deadline"]
    dispatch_action("sign", "unit_liaison", UNIT)
    d.until(case_id, "in_progress")
    dispatch_action("results", "unit_liaison", UNIT, status=201, **RESULT)
    d.until(case_id, "result_submitted")
    dispatch_action("results/1/review", "office", accepted=True)
    d.until(case_id, "awaiting_feedback")
    assert d.xlsx_row(number)["办理状态"] == "待反馈"

    def tracking_action(
        path: str, role: str = "office", status: int = 201, **body: Any
    ) -> httpx.Response:
        r = d.post("tracking", f"/api/v1/cases/{case_id}/{path}", role, **body)
        assert r.status_code == status, r.text
        return r

    def first_feedback(content: str) -> None:
        body = {"channel": "online_publication", "content": content}
        feedback_taken(
            lambda: d.post("tracking", f"/api/v1/cases/{case_id}/feedback", "office", **body)
        )

    problem(d.post("tracking", f"/api/v1/cases/{case_id}/close-out", "office"), 409)
    first_feedback("已在网上公示办理结果")
    tracking_action("feedback", channel="direct_reply", content="已电话告知投诉人")
    d.until(case_id, "awaiting_evaluation")
    # A deputy's dissatisfaction goes to the office (ADR 20), which decides on a second pass.
    tracking_action("evaluations", "evaluator", rating="dissatisfied")
    tracking_action("second-pass", start=True, reason="人大代表意见属实,二次办理")
    d.until(case_id, "in_progress", pass_no=2)  # dispatch reopened it for the lead unit
    assert d.xlsx_row(number)["二次办理"] in ("是", "第2次", 2, "2")

    # 一案双查: the second pass's result must name both the direct person and the leadership.
    refused = d.post("dispatch", f"/api/v1/cases/{case_id}/results", "unit_liaison", UNIT, **RESULT)
    assert "finding" in problem(refused, 422)["detail"]
    dispatch_action("results", "unit_liaison", UNIT, status=201, **(RESULT | BOTH_FINDINGS))
    dispatch_action("results/2/review", "office", accepted=True)
    d.until(case_id, "awaiting_feedback", pass_no=2)
    first_feedback("二次办理结果已公示")
    tracking_action("feedback", channel="direct_reply", content="已再次回复投诉人")
    d.until(case_id, "awaiting_evaluation", pass_no=2)
    tracking_action("evaluations", "evaluator", rating="satisfied", evaluator_kind="npc_deputy")
    tracking_action(
        "accountability",
        target_kind="leadership",
        name="王某",
        position="分管副局长",
        measures=["written_self_criticism"],
        circumstances="none",
    )
    tracking_action("close-out", status=200)
    row = d.until(case_id, "closed_out", pass_no=2)
    assert row["closed_out_at"]

    history = d.history_types(case_id)
    for expected in (
        "TipRegistered",
        "CaseOpened",
        "CaseTriaged",
        "CaseDispatched",
        "CaseSigned",
        "ResultSubmitted",
        "ResultReviewed",
        "FollowUpOpened",
        "FeedbackDelivered",
        "EvaluationRecorded",
        "SecondPassStarted",
        "CaseReopenedForSecondPass",
        "AccountabilityProcedureOpened",  # the second pass opened it (ADR 19)
        "AccountabilityFindingRecorded",
        "CaseClosedOut",
    ):
        assert expected in history, (expected, history)
    assert history.index("SecondPassStarted") < history.index("CaseReopenedForSecondPass")
    exported = d.xlsx_row(number)
    assert exported["办理状态"] == "已销号"
    assert exported["销号时间"] is not None
    kpis = d.unit_kpis()
    assert kpis["second_pass_rate"] == 1.0
    assert kpis["satisfaction_rate"] == 0.5  # one dissatisfied, one satisfied


def test_a_case_reaches_close_out_through_a_second_pass_embedded(api: Api) -> None:
    walk_a_case_through_a_second_pass_to_close_out(
        Driver(
            dict.fromkeys(("intake", "dispatch", "tracking"), api.base_url.__str__().rstrip("/")),
            api.settings,
        )
    )


@pytest.mark.postgres
@pytest.mark.nats
def test_a_case_reaches_close_out_through_a_second_pass_across_processes(
    deployment: Deployment,
) -> None:
    urls = {name: deployment.start(name).url for name in ("intake", "dispatch", "tracking")}
    try:
        walk_a_case_through_a_second_pass_to_close_out(Driver(urls, deployment.settings))
    except AssertionError:
        print(deployment.logs())
        raise
