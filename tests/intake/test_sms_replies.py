"""A reporter stops the texts by replying to one (ADR 49): the SMS gateway delivers the reply
(上行短信) to intake, known by its secret; 「TD」, 「退订」 … withdraw consent on every tip the
phone was texted about — as the reporter's own act, with what waited withheld — anything else
is counted and dropped; a retry changes nothing. The phone is found by a keyed digest only,
which goes when the identity is shredded. Real HTTP, a real receiver for the gateway's sends;
the clock pinned. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from services.app import create_app
from services.intake.reporter_sms.gateway_api import SECRET_HEADER
from services.intake.reporter_sms.optout import REPLY_REASON
from services.intake.reporter_sms.tables import phones
from services.intake.service import IntakeService
from shared.platform.clock import set_clock
from shared.platform.readmodel import create_engine
from shared.platform.settings import ConfigurationError, Settings, load_secrets
from tests.conftest import make_settings
from tests.intake.test_reporter_sms import (
    PHONE,
    PORTAL,
    UNIT,
    dispatched,
    named_tip,
    notices,
    notify_settings,
    set_consent,
)
from tests.support.api import Api, problem
from tests.support.cli import run_taizhang
from tests.support.dispatch import add_units, ok
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import NOW
from tests.support.receivers import WebhookReceiver
from tests.support.workbench import Workbench
from tests.system.test_identity_leaks import dump_schema, forms

SECRET = "gw-" + "x7Kq" * 10  # the deployment's TAIZHANG_SMS_REPLY_SECRET
AS_THE_GATEWAY_WRITES_IT = "13800005555"  # the same phone as PHONE (+8613800005555)
OTHER = "+8613900006666"


@pytest.fixture
def gateway() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def replying(settings: Settings, gateway: WebhookReceiver) -> Settings:
    update = {
        "notify": notify_settings(gateway),
        "portal_url": PORTAL,
        "sms_reply_secret": SecretStr(SECRET),
    }
    return settings.model_copy(update=update)


@pytest.fixture
def api(settings: Settings, gateway: WebhookReceiver) -> Iterator[Api]:
    configured = replying(settings, gateway)
    with ServerThread(create_app(configured)) as server, Api(server.url, configured) as client:
        yield client


def reply(
    api: Api,
    text: str,
    phone: str = AS_THE_GATEWAY_WRITES_IT,
    message_id: str | None = None,
    secret: str | None = SECRET,
) -> httpx.Response:
    body: dict[str, Any] = {"phone": phone, "text": text, "received_at": NOW.isoformat()}
    if message_id is not None:
        body["message_id"] = message_id
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return api.post("/api/v1/sms/replies", json=body, headers=headers)


def taken(response: httpx.Response) -> None:
    assert ok(response) == {"status": "recorded"}  # the same whatever came of it


def counts(api: Api) -> dict[str, int]:
    return ok(api.get("/api/v1/sms/replies/counts", headers=api.auth("office")))


def texted(api: Api, case_id: str) -> None:
    dispatched(api, case_id)
    wait_for(
        lambda: [n["status"] for n in notices(api, case_id)["items"]] == ["sent"],
        30,
        "the acceptance texted",
    )


def test_td_withdraws_consent_on_every_tip_of_the_phone_and_withholds_what_waits(
    api: Api, settings: Settings, gateway: WebhookReceiver
) -> None:
    add_units(api, UNIT)
    first = named_tip(api, consent=True)  # texted, the phone indexed before it went
    second = named_tip(api, consent=True, phone="+86 138-0000-5555")  # the same phone
    other = named_tip(api, consent=True, phone=OTHER)
    texted(api, str(first["case_id"]))
    texted(api, str(other["case_id"]))
    assert settings.clock_file is not None
    set_clock(settings.clock_file, NOW.replace(hour=22, minute=30), running=True)
    second_id = str(second["case_id"])
    dispatched(api, second_id)  # at night: recorded, held for the morning
    wait_for(lambda: notices(api, second_id)["total"] == 1, 30, "the step held")

    taken(reply(api, " ＴＤ。", message_id="aliyun-1001"))

    for tip in (first, second):
        log = notices(api, str(tip["case_id"]))
        assert log["consent"] is False
        (change,) = log["consent_changes"]
        assert (change["by"], change["by_role"], change["reason"]) == (
            "举报人(短信回复)",
            "public",
            REPLY_REASON,
        )
    held = notices(api, second_id)["items"][0]
    assert (held["status"], held["next_attempt_at"]) == ("withheld", None)
    assert notices(api, str(other["case_id"]))["consent"] is True  # another phone's tip
    assert counts(api) == {"withdrawn": 1, "unmatched": 0, "ignored": 0, "tips": 2}

    # The reporter's own act in the case's trail, for those who may reveal the reporter.
    def trail() -> list[dict[str, Any]]:
        path = f"/api/v1/cases/{first['case_id']}/history"
        return [
            e
            for e in ok(api.get(path, headers=api.auth("office")))["items"]
            if e["type"] == "ReporterSmsConsentWithdrawn"
        ]

    (entry,) = wait_for(trail, 30, "the withdrawal in the case's history")
    assert entry["actor"]["name"] == "举报人(短信回复)"
    bench = Workbench(str(api.base_url))
    assert bench.sign_in(api.auth("office")["Authorization"].split()[1]).status_code == 200
    page = bench.page(f"/ui/cases/{first['case_id']}").text
    assert "举报人(短信回复)(公众)记录:" in page and 'data-consent="false"' in page
    assert "13800005555" not in page

    # The office records the reporter's later 同意 by phone; then the gateway retries the
    # old reply: the same message, the same outcome — nothing withdrawn again.
    given = {"consent": True, "reason": "举报人来电同意恢复短信告知"}
    assert ok(set_consent(api, str(first["case_id"]), given))["consent"] is True
    taken(reply(api, " ＴＤ。", message_id="aliyun-1001"))
    assert notices(api, str(first["case_id"]))["consent"] is True
    assert counts(api)["withdrawn"] == 1

    set_clock(settings.clock_file, NOW + timedelta(days=1), running=True)  # the morning
    time.sleep(0.5)  # five passes of the texter
    assert len(gateway.calls) == 2  # the two texts of the day before, no more
    assert notices(api, second_id)["items"][0]["status"] == "withheld"


@pytest.mark.parametrize("text", ["td", "T", " n ", "退订", "【取消】", "Td!"])
def test_each_common_opt_out_withdraws(text: str) -> None:
    """The words people reply, in any case and width, with what they type around them
    (pure: the webhook's classification; the walk above takes one through HTTP)."""
    from services.intake.reporter_sms.optout import is_opt_out

    assert is_opt_out(text)
    assert is_opt_out(text.upper().replace("T", "Ｔ"))
    assert not is_opt_out(f"{text.strip()}好的")


def test_any_other_reply_is_counted_as_ignored_and_kept_nowhere(
    api: Api, settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    add_units(api, UNIT)
    tip = named_tip(api, consent=True)
    texted(api, str(tip["case_id"]))
    question = "请问什么时候处理?可回电13800005555"
    taken(reply(api, question, message_id="m-1"))
    taken(reply(api, "TD退订", message_id="m-2"))  # not one of the words alone
    taken(reply(api, "退订", phone=OTHER, message_id="m-3"))  # a phone texted about nothing
    taken(reply(api, "退订", phone=OTHER))  # no id: the same phone, time and text …
    taken(reply(api, "退订", phone=OTHER))  # … are the same reply
    assert counts(api) == {"withdrawn": 0, "unmatched": 2, "ignored": 2, "tips": 0}
    assert notices(api, str(tip["case_id"]))["consent"] is True

    # Stored: keyed digests only — no phone, no unkeyed digest of it, no reply's text.
    if settings.database_url is None:
        stored = "\n".join(
            db.read_bytes().decode("utf-8", "replace") for db in settings.data_dir.glob("*.sqlite*")
        )
    else:
        stored = dump_schema(settings.database_url, settings.database_schema)
    for value in (PHONE, AS_THE_GATEWAY_WRITES_IT, OTHER, OTHER.removeprefix("+86")):
        assert not [form for form in forms(value) if form in stored], value
    assert "请问什么时候处理" not in stored and "fp1:" in stored
    # Logged: the route and the outcome, never the phone or the words.
    logged = "".join(capfd.readouterr())
    assert "/api/v1/sms/replies" in logged and "sms_reply_taken" in logged
    assert "ignored" in logged and "请问" not in logged
    assert "13800005555" not in logged and "13900006666" not in logged


def test_the_gateway_is_known_by_its_secret_and_refused_without_one(
    api: Api, settings: Settings
) -> None:
    for secret in (None, "gw-wrong", SECRET[:-1]):
        body = problem(reply(api, "TD", secret=secret), 403)
        assert body["code"] == "sms_gateway_refused" and "短信网关密钥" in body["detail"]
    refused = problem(api.post("/api/v1/sms/replies", json={"text": "TD"}), 403)  # body unread
    assert refused["code"] == "sms_gateway_refused"
    invalid = problem(reply(api, "TD", phone="不是电话"), 422)
    assert "phone" in invalid["detail"]
    late = {"phone": PHONE, "text": "TD", "received_at": "2026-12-08T09:00:00"}  # no zone
    naive = api.post("/api/v1/sms/replies", json=late, headers={SECRET_HEADER: SECRET})
    assert "时区" in problem(naive, 422)["detail"]
    assert counts(api) == {"withdrawn": 0, "unmatched": 0, "ignored": 0, "tips": 0}
    for who in (("operator",), ("unit_liaison", "联络员", UNIT)):
        problem(api.get("/api/v1/sms/replies/counts", headers=api.auth(*who)), 403)

    # A deployment without the secret takes no reply, whoever sends it, with whatever.
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as plain:
        for secret in (SECRET, None):
            absent = problem(reply(plain, "TD", secret=secret), 404)
            assert absent["code"] == "sms_replies_off" and "未开通短信回复" in absent["detail"]
        assert problem(plain.post("/api/v1/sms/replies", content=b"{"), 404)

    # A secret anyone could guess is refused at start.
    for weak in ("changeme", "short-secret"):
        weakly = settings.model_copy(update={"sms_reply_secret": SecretStr(weak)})
        with pytest.raises(ConfigurationError, match="TAIZHANG_SMS_REPLY_SECRET"):
            IntakeService(weakly, load_secrets(weakly))


def indexed_phones(settings: Settings) -> int:
    async def count() -> int:
        engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
        try:
            async with engine.connect() as connection:
                found = await connection.execute(sa.select(sa.func.count()).select_from(phones))
                return int(found.scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_the_phone_s_digest_is_shredded_with_the_identity(api: Api) -> None:
    """``taizhang reporters shred-expired`` destroys the identity keys and the keyed digests
    of the phones texted about the same tips: a reply then finds nothing."""
    named_tip(api, consent=True)  # indexed at registration: a 「TD」 may come before a text
    named_tip(api, consent=False, phone=OTHER)  # no consent: never indexed
    assert indexed_phones(api.settings) == 1
    done = run_taizhang(api.settings, "reporters", "shred-expired", "--days", "0")
    assert done.returncode == 0, done.stderr
    assert "destroyed 2 case key" in done.stderr
    assert "removed 1 texted phone digest" in done.stderr
    assert indexed_phones(api.settings) == 0
    taken(reply(api, "TD", message_id="after-shredding"))
    assert counts(api)["unmatched"] == 1


def test_a_reply_to_a_text_sent_before_replies_were_taken_still_withdraws(
    tmp_path: Path, request: pytest.FixtureRequest, gateway: WebhookReceiver
) -> None:
    """Texts sent before the gateway's secret was set indexed no phone; the next start
    indexes those sent in the last 30 days (unsealed in memory), and a 「TD」 finds them.
    (SQLite only: nothing store-specific.)"""
    settings = make_settings("sqlite", tmp_path / "data", request)
    before = replying(settings, gateway).model_copy(update={"sms_reply_secret": None})
    with ServerThread(create_app(before)) as server, Api(server.url, before) as client:
        add_units(client, UNIT)
        tip = named_tip(client, consent=True)
        texted(client, str(tip["case_id"]))
    assert indexed_phones(settings) == 0
    after = replying(settings, gateway)
    with ServerThread(create_app(after)) as server, Api(server.url, after) as client:
        wait_for(lambda: indexed_phones(settings) == 1, 30, "the texted phone indexed")
        taken(reply(client, "退订", message_id="late-1"))
        assert notices(client, str(tip["case_id"]))["consent"] is False


def test_registered_page_tells_the_portal_address_with_the_code(api: Api) -> None:
    """登记成功 with ``TAIZHANG_PORTAL_URL`` set (ADR 44's untested case): the code to read
    out, and the portal's look-up page — an address that never holds the code."""
    bench = Workbench(str(api.base_url))
    signed = bench.sign_in(api.auth("office")["Authorization"].split()[1])
    assert signed.status_code == 200, signed.text
    bench.page("/ui/intake")
    answer = bench.submit(
        "/ui/intake",
        channel="hotline_12388",
        content="某所窗口工作人员脱岗",
        reporter_named="true",
        reporter_name="孙某",
        reporter_phone="+8613800009999",
    )
    assert answer.status_code == 201, answer.text
    code = re.search(r'id="receipt-code">([0-9A-Z-]{19})<', answer.text)
    assert code is not None
    where = re.search(r'id="receipt-where">([^<]+)<', answer.text)
    assert where is not None
    assert where.group(1) == (
        f"举报人可凭回执码在 {PORTAL} 查询办理进度并评价,页面不显示举报人的姓名和电话。"
    )
    assert code.group(1) not in where.group(1) and "在公众门户" not in answer.text
