"""The daily digest (每日汇总), on SQLite and PostgreSQL: a liaison who chose it gets its inbox
entries at once but no e-mail or SMS per case; from the digest hour on, one e-mail and one SMS
gather them, each under an id stable for the person, day and channel; the delivery log says
which were gathered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from services.app import create_app
from services.notify.domain import Channel, digest_id
from shared.platform.clock import set_clock
from shared.platform.settings import NotifySettings, Settings
from tests.support.api import Api
from tests.support.dispatch import act, add_units, ok, open_case
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import NOW
from tests.support.receivers import SmtpReceiver, WebhookReceiver

UNIT = "D-UNIT"
LIAISON = "unit_liaison:汇总联络员"


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def sms() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def api(settings: Settings, smtp: SmtpReceiver, sms: WebhookReceiver) -> Iterator[Api]:
    notify = NotifySettings(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        sms_url=SecretStr(f"json://127.0.0.1:{sms.port}/sms?-to={{phone}}"),
        interval_seconds=0.1,
        message_id_domain="digest.test",
        digest_hour=NOW.hour + 1,  # the clock starts an hour before it
    )
    with (
        ServerThread(create_app(settings.model_copy(update={"notify": notify}))) as server,
        Api(server.url, settings) as client,
    ):
        yield client


def dispatched(api: Api) -> tuple[str, str]:
    case_id = open_case(api)
    ok(act(api, case_id, "triage", "office", track="general"))
    case = ok(act(api, case_id, "dispatch", "office", lead_unit=UNIT, co_units=[]))
    return case_id, case["number"]


def log(api: Api, case_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/cases/{case_id}/notifications", headers=api.auth("office"))
    return {d["channel"]: d["status"] for d in ok(r)["items"]}


def test_a_digest_reader_gets_one_mail_a_day_gathering_every_case(
    api: Api, settings: Settings, smtp: SmtpReceiver, sms: WebhookReceiver
) -> None:
    add_units(api, UNIT)
    person = {"id": LIAISON, "name": "汇总联络员", "role": "liaison", "unit": UNIT}
    person |= {"email": "digest@unit.test", "digest": True}
    person |= {"phone": "+8613800003333", "sms_enabled": True}
    assert api.post("/api/v1/persons", json=person, headers=api.auth("office")).status_code == 201
    (first, first_number), (second, second_number) = dispatched(api), dispatched(api)
    held = {"inbox": "sent", "email": "held", "sms": "held"}
    for case_id in (first, second):
        wait_for(lambda c=case_id: log(api, c) == held, 30, "held")
    assert smtp.mails == [] and sms.calls == []  # held, not sent: the digest hour has not come

    assert settings.clock_file is not None
    set_clock(settings.clock_file, NOW + timedelta(hours=1, minutes=5), running=True)
    wait_for(lambda: len(smtp.mails) == 1, 30, "the day's digest")
    mail = smtp.mails[0]
    day = (NOW + timedelta(hours=1)).date()
    assert mail["Subject"] == f"每日汇总 {day.isoformat()}:2 条通知"
    text = mail.get_content()
    assert first_number in text and second_number in text and "新交办案件" in text
    assert smtp.message_ids() == [f"<{digest_id(LIAISON, day, Channel.EMAIL)}@digest.test>"]
    assert log(api, first)["email"] == "digested" and log(api, second)["email"] == "digested"
    wait_for(lambda: len(sms.calls) == 1, 30, "the day's SMS digest")
    assert sms.keys() == [str(digest_id(LIAISON, day, Channel.SMS))]
    assert sms.calls[0][1]["message"] == mail["Subject"]  # short: the digest's title only
    assert log(api, first)["sms"] == "digested"

    # A case later that day waits for tomorrow's digest: today's is made and stays one.
    third, _ = dispatched(api)
    wait_for(lambda: log(api, third) == held, 30, "held again")
    assert len(smtp.mails) == 1 and len(sms.calls) == 1
