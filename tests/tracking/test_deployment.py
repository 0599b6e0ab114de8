"""Tracking as a separate process on PostgreSQL + NATS JetStream: dispatch's events, published
on its stream, open the follow-up; the API takes the case through a dissatisfied evaluation and
a second pass to close-out, and the ledger, history, KPIs and export follow at each step.

Dispatch on this branch only opens cases, so its later events are published here exactly as
its relay would (subject, message id, envelope), continuing the case's stream."""

from __future__ import annotations

import asyncio
import io
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import nats
import openpyxl
import pytest

from services.tracking.ledger.workbook import HEADERS
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.platform.messaging.nats import subject
from tests.support.api import feedback_taken, problem
from tests.support.deployment import Deployment
from tests.support.infra import wait_for
from tests.support.pinned import NOW

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
OFFICE = {"id": "office:王主任", "name": "王主任", "role": "office", "unit": None}
UNIT = "WC-JYQ"


class DispatchStream:
    """Publishes one case's dispatch events after its real ``CaseOpened`` (version 1)."""

    def __init__(self, deployment: Deployment, case_id: uuid.UUID) -> None:
        self.deployment = deployment
        self.case_id = case_id
        self.versions = itertools.count(2)
        self.positions = itertools.count(1_000_000)
        self.pass_no = 1

    def publish(self, cls: type[Contract], status: str, **data: Any) -> None:
        event = cls(case_id=self.case_id, status=status, pass_no=self.pass_no, **data)
        envelope = Envelope(
            source="dispatch",
            position=next(self.positions),
            stream_id=self.case_id,
            stream_version=next(self.versions),
            occurred_at=NOW,
            actor=OFFICE,
            event=event,
        )
        asyncio.run(self._publish(envelope))

    async def _publish(self, envelope: Envelope) -> None:
        nc = await nats.connect(self.deployment.nats_url)
        try:
            ack = await nc.jetstream().publish(
                subject(self.deployment.namespace, envelope),
                envelope.encode(),
                headers={"Nats-Msg-Id": envelope.message_id},
            )
            assert not ack.duplicate
        finally:
            await nc.close()

    def result(self, n: int) -> None:
        self.publish(
            d.ResultSubmitted,
            "result_submitted",
            n=n,
            unit=UNIT,
            findings="经查属实",
            rectification="已整改",
            proposal_kind="accountability",
            proposal_text="建议问责",
            signed_off_by="李局长",
            direct_person_findings="责任人张某" if n > 1 else None,
            leadership_findings="分管领导失察" if n > 1 else None,
            on_time=True,
        )
        self.publish(d.ResultReviewed, "awaiting_feedback", n=n, accepted=True, reason=None)


def test_tracking_in_its_own_process_follows_a_case_to_close_out(deployment: Deployment) -> None:
    intake = deployment.start("intake")
    deployment.start("dispatch")
    tracking = deployment.start("tracking")
    office = deployment.auth("office")
    tip = {"channel": "petition", "content": "反映某局乱收费问题", "summary": "乱收费"}
    answer = httpx.post(f"{intake.url}/api/v1/tips", json=tip, headers=deployment.auth("operator"))
    assert answer.status_code == 201, answer.text
    case_id = uuid.UUID(answer.json()["case_id"])
    api = httpx.Client(base_url=tracking.url, headers=office, timeout=30)

    def view() -> dict[str, Any]:
        r = api.get(f"/api/v1/cases/{case_id}")
        return r.json() if r.status_code == 200 else {}

    def wait(status: str, pass_no: int = 1) -> dict[str, Any]:
        try:
            return wait_for(
                lambda: (v := view()).get("status") == status and v["pass_no"] == pass_no and v,
                60,
                f"{status} in pass {pass_no}",
                interval=0.2,
            )
        except AssertionError:
            print(deployment.logs())
            raise

    def post(action: str, body: Any = None, status: int = 201) -> dict[str, Any]:
        r = api.post(f"/api/v1/cases/{case_id}/{action}", json=body)
        assert r.status_code == status, r.text
        return r.json()

    def feedback(content: str) -> None:
        body = {"channel": "direct_reply", "content": content}
        feedback_taken(lambda: api.post(f"/api/v1/cases/{case_id}/feedback", json=body))

    wait_for(lambda: view().get("required_feedback") == ["direct_reply"], 60, "the follow-up")
    stream = DispatchStream(deployment, case_id)
    now = NOW
    stream.publish(d.CaseTriaged, "registered", track="general", category="乱收费", note=None)
    stream.publish(
        d.CaseDispatched,
        "dispatched",
        lead_unit=UNIT,
        co_units=[],
        track="general",
        handle_working_days=15,
        sign_deadline=now + timedelta(days=1),
        sign_deadline_provisional=False,
        handle_deadline=now + timedelta(days=21),
        handle_deadline_provisional=False,
        redispatch=False,
    )
    stream.publish(d.CaseSigned, "in_progress", unit=UNIT, on_time=True)
    stream.result(1)
    wait("awaiting_feedback")
    assert problem(api.post(f"/api/v1/cases/{case_id}/close-out"), 409)["missing"]

    feedback("已电话答复")
    wait("awaiting_evaluation")
    dissatisfied = post("evaluations", {"rating": "dissatisfied", "evaluator_kind": "complainant"})
    assert (dissatisfied["status"], dissatisfied["pass_no"]) == ("second_pass", 2)
    wait("second_pass", 2)

    stream.pass_no = 2  # dispatch reopens in reaction to SecondPassStarted
    stream.publish(
        d.CaseReopenedForSecondPass,
        "in_progress",
        unit=UNIT,
        handle_deadline=now + timedelta(days=14),
        handle_deadline_provisional=False,
    )
    wait("in_progress", 2)
    stream.result(2)
    wait("awaiting_feedback", 2)
    feedback("二次办理结果已答复")
    wait("awaiting_evaluation", 2)
    post("evaluations", {"rating": "satisfied", "evaluator_kind": "complainant"})
    wait_for(lambda: view()["evaluations"]["total"] == 2, 60, "the second evaluation")
    # The second pass opened the accountability procedure (一案双查, ADR 19): decide it first.
    refused = problem(api.post(f"/api/v1/cases/{case_id}/close-out"), 409)
    assert [m["code"] for m in refused["missing"]] == ["accountability_undecided"]
    person = {"target_kind": "person", "name": "张某", "measures": ["criticism_education"]}
    assert post("accountability", person)["stage"] == "closed"
    assert post("close-out", status=200)["status"] == "closed_out"
    closed = wait("closed_out", 2)
    assert closed["second_pass"] is True
    assert closed["latest_evaluation"]["rating"] == "satisfied"

    types = [e["type"] for e in api.get(f"/api/v1/cases/{case_id}/history").json()["items"]]
    assert types.count("FollowUpOpened") == 2
    assert types[-1] == "CaseClosedOut"
    [unit] = api.get("/api/v1/stats/units").json()["items"]
    assert (unit["satisfaction_rate"], unit["second_pass_rate"], unit["closed_out"]) == (
        0.5,
        1.0,
        1,
    )
    sheet = openpyxl.load_workbook(io.BytesIO(api.get("/api/v1/ledger.xlsx").content)).active
    line = dict(zip(HEADERS, [c.value for c in sheet[3]], strict=True))
    assert (line["办理状态"], line["二次办理"]) == ("已销号", "是")
    assert isinstance(line["销号时间"], datetime)
