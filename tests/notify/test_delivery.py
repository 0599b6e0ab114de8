"""A case dispatched to a unit reaches its liaison officers — in the inbox, by e-mail (a real
SMTP server), through the unit's group robot and by SMS to those who turned it on (real HTTP
receivers, through Apprise) — each under one stable id; the case's delivery log says what
became of each. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from services.app import create_app
from shared.platform.settings import NotifySettings, Settings
from tests.support.api import Api, problem
from tests.support.dispatch import act, add_units, ok, open_case
from tests.support.infra import ServerThread, wait_for
from tests.support.receivers import SmtpReceiver, WebhookReceiver

LEAD, CO = "N-LEAD", "N-CO"
LEAD_LIAISON = "unit_liaison:王联络"
CO_LIAISON = "unit_liaison:李协办"
OFFICE = "office:赵主任"


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def robot() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(fail_first=1) as receiver:  # the robot's first answer is a 503
        yield receiver


@pytest.fixture
def sms() -> Iterator[WebhookReceiver]:
    """The SMS gateway: Apprise's generic JSON webhook, the phone as a query parameter."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def api(settings: Settings, smtp: SmtpReceiver, sms: WebhookReceiver) -> Iterator[Api]:
    notify = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_url=SecretStr(f"json://127.0.0.1:{sms.port}/sms?-to={{phone}}"),
        interval_seconds=0.1,
        backoff_seconds=0.2,
        message_id_domain="notify.test",
    )
    with (
        ServerThread(create_app(settings.model_copy(update={"notify": notify}))) as server,
        Api(server.url, settings) as client,
    ):
        yield client


def person(api: Api, **fields: Any) -> dict[str, Any]:
    return ok(api.post("/api/v1/persons", json=fields, headers=api.auth("office")), 201)


def inbox(api: Api, name: str, unit: str | None = None, role: str = "unit_liaison") -> Any:
    return ok(api.get("/api/v1/inbox", headers=api.auth(role, name, unit)))


def test_dispatch_reaches_inbox_email_and_robot_once_each_under_distinct_ids(
    api: Api, smtp: SmtpReceiver, robot: WebhookReceiver
) -> None:
    add_units(api, LEAD, CO)
    lead = person(
        api,
        id=LEAD_LIAISON,
        name="王联络",
        role="liaison",
        unit=LEAD,
        email="wang@lead.test",
        robot_url=robot.url,
    )
    assert lead["robot"] is True and "robot_url" not in lead  # the robot's URL is a secret
    person(api, id=CO_LIAISON, name="李协办", role="liaison", unit=CO)
    person(api, id=OFFICE, name="赵主任", role="office")

    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general", category="inaction"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[CO]))

    wait_for(lambda: inbox(api, "王联络", LEAD)["total"] == 1, 30, "the lead's inbox entry")
    wait_for(lambda: len(smtp.mails) >= 1 and len(robot.calls) >= 1, 30, "e-mail and robot")
    entry = inbox(api, "王联络", LEAD)["items"][0]
    assert entry["case_id"] == case_id and "新交办案件" in entry["title"]
    assert inbox(api, "李协办", CO)["total"] == 1  # co-units are told too
    assert inbox(api, "赵主任", role="office")["total"] == 0  # the office dispatched it

    log = ok(api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office")))
    mine = {d["channel"]: d for d in log["items"] if d["person_id"] == LEAD_LIAISON}
    assert set(mine) == {"inbox", "email", "robot"}
    wait_for(
        lambda: all(
            d["status"] == "sent"
            for d in ok(
                api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office"))
            )["items"]
        ),
        30,
        "every delivery recorded",
    )
    ids = {channel: d["id"] for channel, d in mine.items()}
    assert len(set(ids.values())) == 3
    assert smtp.message_ids() == [f"<{ids['email']}@notify.test>"]
    assert smtp.mails[0]["To"] == "wang@lead.test"
    assert robot.keys() == [ids["robot"]]  # retried after the 503, under the same key
    robot_log = ok(api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office")))
    robot_entry = next(d for d in robot_log["items"] if d["id"] == ids["robot"])
    assert robot_entry["attempts"] == 2 and robot_entry["last_error"] == "robot_refused"

    # mark read: the unread count drops, the delivery log says read; another's is a 404
    liaison = api.auth("unit_liaison", "王联络", LEAD)
    assert ok(api.get("/api/v1/inbox/unread-count", headers=liaison))["unread"] == 1
    read = ok(api.post(f"/api/v1/inbox/{ids['inbox']}/read", headers=liaison))
    assert read["read"] is True
    assert ok(api.get("/api/v1/inbox/unread-count", headers=liaison))["unread"] == 0
    other = api.auth("unit_liaison", "李协办", CO)
    body = problem(api.post(f"/api/v1/inbox/{ids['inbox']}/read", headers=other), 404)
    assert body["code"] == "no_such_message"
    log = ok(api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office")))
    assert next(d for d in log["items"] if d["id"] == ids["inbox"])["status"] == "read"
    problem(api.get(f"/api/v1/cases/{case_id}/notifications", headers=liaison), 403)


def deliveries(api: Api, case_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office"))
    return list(ok(r)["items"])


def test_sms_reaches_only_the_person_who_turned_it_on_once_under_its_key(
    api: Api, sms: WebhookReceiver
) -> None:
    add_units(api, LEAD, CO)
    lead = person(
        api, id=LEAD_LIAISON, name="王联络", role="liaison", unit=LEAD, phone="+8613800001111"
    )
    assert lead["sms_enabled"] is False  # chosen, never assumed
    channels = ok(api.get("/api/v1/notification-channels", headers=api.auth("office")))
    assert channels["sms"] is True and channels["email"] is True and channels["inbox"] is True
    assert channels["note"] == "本系统已开通电子邮件和短信;站内待办始终送达"
    lead = ok(
        api.put(
            f"/api/v1/persons/{LEAD_LIAISON}",
            json={"name": "王联络", "role": "liaison", "unit": LEAD, "phone": "+8613800001111"}
            | {"sms_enabled": True},
            headers=api.auth("office"),
        )
    )
    assert lead["sms_enabled"] is True
    person(api, id=CO_LIAISON, name="李协办", role="liaison", unit=CO, phone="+8613900002222")

    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general", category="inaction"))
    case = ok(act(api, case_id, "dispatch", "office", lead_unit=LEAD, co_units=[CO]))

    wait_for(
        lambda: any(
            d["channel"] == "sms" and d["status"] == "sent" for d in deliveries(api, case_id)
        ),
        30,
        "the SMS recorded as sent",
    )
    texts = [d for d in deliveries(api, case_id) if d["channel"] == "sms"]
    assert [d["person_id"] for d in texts] == [LEAD_LIAISON]  # 李协办 did not turn it on
    assert sms.keys() == [texts[0]["id"]]  # one request, under the notification's stable key
    assert parse_qs(urlsplit(sms.paths[0]).query) == {"to": ["+8613800001111"]}
    body = sms.calls[0][1]["message"]
    assert case["number"] in body and "新交办案件" in body
    assert "王联络" not in body and "13800001111" not in body  # nothing personal in the text
