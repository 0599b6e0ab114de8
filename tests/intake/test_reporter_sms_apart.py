"""Intake apart (PostgreSQL + NATS) follows dispatch's stream to text a consenting reporter,
and dies right after the text left and before it recorded it: restarted, it sends the same
notice again once the claim lapses — under the same idempotency key — so the reporter's
gateway sees one message id, twice, and nothing is lost (ADR 37)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from shared.platform.clock import FileClock, set_clock
from shared.platform.faults import REPORTER_SMS_EXIT_AFTER_SEND
from tests.support.deployment import Deployment
from tests.support.infra import wait_for
from tests.support.receivers import WebhookReceiver

INJECTED_EXIT = 70
LEASE = 3.0
PHONE = "+8613800004444"


@pytest.mark.postgres
@pytest.mark.nats
def test_intake_killed_after_texting_before_recording_texts_again_under_the_same_id(
    deployment: Deployment,
) -> None:
    d = deployment
    with WebhookReceiver() as gateway:
        notify = {
            "sms_url": f"json://127.0.0.1:{gateway.port}/sms?-to={{phone}}",
            "interval_seconds": 0.2,
            "lease_seconds": LEASE,
            "backoff_seconds": 0.5,
        }
        env = {"TAIZHANG_NOTIFY": json.dumps(notify)}
        dispatch = d.start("dispatch")
        intake = d.start("intake", TAIZHANG_FAULTS=REPORTER_SMS_EXIT_AFTER_SEND, **env)
        unit = {"code": "SMS-APART", "name": "测试单位", "kind": "department"}
        r = httpx.post(f"{dispatch.url}/api/v1/units", json=unit, headers=d.auth("admin"))
        assert r.status_code == 201, r.text
        reporter = {"anonymous": False, "name": "周某", "phone": PHONE, "sms_consent": True}
        tip = {"channel": "conduct_hotline", "content": "某所窗口无人值守", "reporter": reporter}
        r = httpx.post(f"{intake.url}/api/v1/tips", json=tip, headers=d.auth("operator"))
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        office = d.auth("office")

        def act(path: str, **body: object) -> int:
            url = f"{dispatch.url}/api/v1/cases/{case_id}/{path}"
            return httpx.post(url, json=body, headers=office).status_code

        wait_for(lambda: act("triage", track="general") == 200, 30, "the case opened")
        assert act("dispatch", lead_unit="SMS-APART", co_units=[]) == 200

        assert intake.proc is not None
        code = wait_for(lambda: intake.proc.poll(), 30, "intake to die after sending")  # type: ignore[union-attr]
        assert code == INJECTED_EXIT
        assert len(gateway.calls) == 1  # the text left; its delivery was not recorded

        intake.env = d.env | env
        intake.start()
        assert d.settings.clock_file is not None
        later = FileClock(d.settings.clock_file).now() + timedelta(seconds=LEASE * 2)
        set_clock(d.settings.clock_file, later, running=True)  # the dead process's claim lapses

        def notices() -> list[dict[str, object]]:
            url = f"{intake.url}/api/v1/tips/{case_id}/reporter-notices"
            items: list[dict[str, object]] = httpx.get(url, headers=office).json()["items"]
            return items

        wait_for(lambda: [n["status"] for n in notices()] == ["sent"], 40, "recorded as sent")
        notice = notices()[0]
    assert gateway.keys() == [notice["id"], notice["id"]]  # twice, under its one id
    # without TAIZHANG_PORTAL_URL the code alone (ADR 44), the same code both times
    receipt = f"回执码{r.json()['receipt_code']},请妥善保管,凭此查询进度。"
    assert [receipt in body["message"] for _, body in gateway.calls] == [True, True]
    assert notice["attempts"] == 1
