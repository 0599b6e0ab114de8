"""A named reporter who agreed to SMS notices is texted by intake (the holder of the phone)
at the steps the receipt page shows — once per step under the notice's stable id, with the
case's number and nothing personal, never at night — and one who did not agree gets nothing
(ADR 37). The office's decision (受理, 不予受理, 合并) also tells the reporter's receipt code
and the portal's address, the code put in only as it goes (ADR 44). A real HTTP receiver stands in for the SMS gateway (Apprise's ``json://``); the clock
is pinned. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from services.app import create_app
from services.intake.application import NoSmsConsent
from services.intake.reporter_sms import tables
from services.intake.reporter_sms.delivery import ReporterTexter
from services.intake.reporter_sms.projection import QuietHours
from services.intake.reporter_sms.steps import Step, notice_id
from shared.platform.clock import set_clock
from shared.platform.projection import projection_positions
from shared.platform.readmodel import create_engine
from shared.platform.settings import NotifySettings, Settings
from tests.conftest import make_settings
from tests.support.api import Api, problem, stored_notifications
from tests.support.dispatch import UNROUTED, act, add_units, ok
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import NOW
from tests.support.receivers import WebhookReceiver

UNIT = "SMS-LEAD"
PHONE = "+8613800005555"
NAME = "钱举报"
CONTENT = "某局工作人员上班时间玩手机游戏,群众排队无人理会,已反映多次"
RESULT = {
    "findings": "经查属实,窗口人员推诿",
    "rectification": "已整改,实行首问负责制",
    "proposal": {"kind": "rectification", "text": "加强窗口作风建设"},
    "signed_off_by": "局长 李某",
}


@pytest.fixture
def gateway() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def notify_settings(gateway: WebhookReceiver) -> NotifySettings:
    return NotifySettings(
        sms_url=SecretStr(f"json://127.0.0.1:{gateway.port}/sms?-to={{phone}}"),
        interval_seconds=0.1,
        backoff_seconds=0.2,
        reporter_where="详询12388。",
    )


PORTAL = "https://jf.example.gov.cn/portal/"
MASK = "****-****-****-****"  # the code as the notice is recorded and the office reads it
STOP = "回复TD退订"  # every text ends with how to stop them (ADR 49)


def told(code: str) -> str:
    return f"回执码{code},可在 {PORTAL} 查询进度并评价。"


@pytest.fixture
def api(settings: Settings, gateway: WebhookReceiver) -> Iterator[Api]:
    update = {"notify": notify_settings(gateway), "portal_url": PORTAL}
    configured = settings.model_copy(update=update)
    with ServerThread(create_app(configured)) as server, Api(server.url, configured) as client:
        yield client


def named_tip(api: Api, consent: bool, **reporter: Any) -> dict[str, Any]:
    who = {"anonymous": False, "name": NAME, "phone": PHONE, "sms_consent": consent} | reporter
    r = api.register(**(UNROUTED | {"content": CONTENT, "reporter": who}))
    return ok(r, 201)


def dispatched(api: Api, case_id: str) -> None:
    wait_for(
        lambda: act(api, case_id, "triage", "office", track="general").status_code == 200,
        30,
        "the case on dispatch's desk",
    )
    ok(act(api, case_id, "dispatch", "office", lead_unit=UNIT, co_units=[]))


def notices(api: Api, case_id: str) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/tips/{case_id}/reporter-notices", headers=api.auth("office")))


def test_a_consenting_reporter_is_texted_once_per_step_with_nothing_personal(
    api: Api, gateway: WebhookReceiver, capfd: pytest.CaptureFixture[str]
) -> None:
    add_units(api, UNIT)
    texted = named_tip(api, consent=True)
    silent = named_tip(api, consent=False, phone="+8613900006666")
    for tip in (texted, silent):
        dispatched(api, str(tip["case_id"]))
    case_id = str(texted["case_id"])

    wait_for(
        lambda: [n["status"] for n in notices(api, case_id)["items"]] == ["sent"],
        30,
        "the acceptance texted and recorded",
    )
    log = notices(api, case_id)
    assert log["consent"] is True
    notice = log["items"][0]
    assert (notice["step"], notice["step_label"], notice["status_label"]) == (
        "accepted",
        "受理交办",
        "已发送",
    )
    assert notice["attempts"] == 1 and notice["sent_at"] is not None
    assert "phone" not in notice and PHONE not in str(log)  # the office sees that, not where
    code = texted["receipt_code"]
    assert code not in str(log)  # nor the receipt code: recorded masked
    number = texted["number"]
    assert (
        notice["text"]
        == f"您反映的问题(编号{number})已受理,并交有关单位办理。{told(MASK)}详询12388。{STOP}"
    )

    # one request, under the notice's stable id, to the reporter's number only
    assert gateway.keys() == [notice["id"]]
    assert parse_qs(urlsplit(gateway.paths[0]).query) == {"to": [PHONE]}
    body = gateway.calls[0][1]["message"]
    assert body == notice["text"].replace(MASK, code)  # filled in as it went, in memory
    assert NAME not in body and CONTENT[:6] not in body and "13800005555" not in body
    assert len(body) <= 134  # two SMS parts at most

    # the reporter who did not agree: no notice, no text
    quiet = notices(api, str(silent["case_id"]))
    assert quiet == {
        "case_id": silent["case_id"],
        "consent": False,
        "consent_changes": [],
        "sms_configured": True,
        "items": [],
        "total": 0,
    }

    # a re-dispatch is the same step under the same notice id: nothing more is texted
    ok(act(api, case_id, "return", "unit_liaison", unit=UNIT, reason="不属于本单位职责"))
    ok(act(api, case_id, "dispatch", "office", lead_unit=UNIT, co_units=[]))
    time.sleep(0.5)  # five passes of the texter
    assert len(gateway.calls) == 1 and notices(api, case_id)["total"] == 1

    # the logs say which notice went and how, never to whom or what
    logged = "".join(capfd.readouterr())
    assert "reporter_sms_sent" in logged and notice["id"] in logged
    assert "13800005555" not in logged and "已受理,并交" not in logged and code not in logged


def test_a_step_at_night_waits_for_the_morning(
    api: Api, gateway: WebhookReceiver, settings: Settings
) -> None:
    add_units(api, UNIT)
    assert settings.clock_file is not None
    night = NOW.replace(hour=22, minute=30)
    set_clock(settings.clock_file, night, running=True)
    tip = named_tip(api, consent=True)
    case_id = str(tip["case_id"])
    dispatched(api, case_id)
    wait_for(lambda: notices(api, case_id)["total"] == 1, 30, "the notice recorded")
    held = notices(api, case_id)["items"][0]
    assert held["status"] == "pending"
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0)
    assert held["next_attempt_at"].startswith(morning.date().isoformat())
    set_clock(settings.clock_file, night + timedelta(hours=3), running=True)  # 01:30
    time.sleep(1.0)  # ten passes of the texter
    assert gateway.calls == [] and notices(api, case_id)["items"][0]["status"] == "pending"

    set_clock(settings.clock_file, morning + timedelta(minutes=1), running=True)
    wait_for(
        lambda: notices(api, case_id)["items"][0]["status"] == "sent", 30, "sent in the morning"
    )
    assert gateway.keys() == [held["id"]]


def test_consent_needs_a_phone_and_is_refused_in_chinese(api: Api) -> None:
    who = {"anonymous": False, "name": NAME, "sms_consent": True}
    body = problem(api.register(**(UNROUTED | {"reporter": who})), 422)
    assert "同意短信告知须留下举报人的电话" in body["detail"]
    assert body["code"]
    anonymous = {"anonymous": True, "sms_consent": True}
    problem(api.register(**(UNROUTED | {"reporter": anonymous})), 422)
    wrong = {"anonymous": False, "phone": PHONE, "sms_consent": "yes"}
    problem(api.register(**(UNROUTED | {"reporter": wrong})), 422)


def test_notices_are_the_office_s_to_read(api: Api) -> None:
    tip = named_tip(api, consent=True)
    path = f"/api/v1/tips/{tip['case_id']}/reporter-notices"
    problem(api.get(path, headers=api.auth("unit_liaison", unit=UNIT)), 403)
    problem(api.get(path, headers=api.auth("operator")), 403)
    assert ok(api.get(path, headers=api.auth("supervisor")))["consent"] is True
    missing = "/api/v1/tips/00000000-0000-4000-8000-000000000000/reporter-notices"
    assert problem(api.get(missing, headers=api.auth("office")), 404)["code"] == "no_such_tip"


def sent_steps(api: Api, case_id: str) -> dict[str, str]:
    items = notices(api, case_id)["items"]
    return {n["step"]: n["text"] for n in items if n["status"] == "sent"}


def test_not_accepted_merged_and_replied_are_told_in_plain_words(
    api: Api, gateway: WebhookReceiver
) -> None:
    refused = named_tip(api, consent=True)
    refused_id = str(refused["case_id"])
    wait_for(
        lambda: (
            act(
                api, refused_id, "not-accepted", "office", reason="不属于本机关受理范围。"
            ).status_code
            == 200
        ),
        30,
        "the case on dispatch's desk",
    )
    original = named_tip(api, consent=False, phone="+8613900007777")
    duplicate = named_tip(api, consent=True)
    duplicate_id = str(duplicate["case_id"])
    wait_for(
        lambda: (
            act(api, duplicate_id, "merge", "office", into=str(original["case_id"])).status_code
            == 200
        ),
        30,
        "both cases on dispatch's desk",
    )
    reply = {"channel": "direct_reply", "content": "已电话告知不予受理的理由"}
    wait_for(
        lambda: (
            api.post(
                f"/api/v1/cases/{refused_id}/feedback", json=reply, headers=api.auth("office")
            ).status_code
            == 201
        ),
        30,
        "tracking to know the case was not accepted",
    )

    wait_for(lambda: len(sent_steps(api, refused_id)) == 2, 30, "two steps texted")
    wait_for(lambda: len(sent_steps(api, duplicate_id)) == 1, 30, "the merge texted")
    said = sent_steps(api, refused_id)
    number = refused["number"]
    assert said == {
        "not_accepted": f"您反映的问题(编号{number})不予受理,理由:不属于本机关受理范围。"
        f"{told(MASK)}详询12388。{STOP}",
        "replied": f"您反映的问题(编号{number})我办已向您直接反馈办理情况。详询12388。{STOP}",
    }
    merged = sent_steps(api, duplicate_id)["merged"]
    assert f"与编号{original['number']}的案件反映同一问题,已合并办理。{told(MASK)}" in merged
    assert any(told(duplicate["receipt_code"]) in body["message"] for _, body in gateway.calls)
    assert len(gateway.calls) == 3 and len(set(gateway.keys())) == 3  # the original: none
    assert all(NAME not in body["message"] for _, body in gateway.calls)


def test_sms_turned_on_later_texts_no_stale_news(
    tmp_path: Path, request: pytest.FixtureRequest, gateway: WebhookReceiver
) -> None:
    """Without ``sms_url`` intake follows no other service (it runs alone, embedded, as
    before). Turned on days later, its projection reads the whole history: steps older than
    three days are not texted, the next one is. (SQLite only: nothing store-specific.)"""
    settings = make_settings("sqlite", tmp_path / "data", request)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        add_units(client, UNIT)
        old = named_tip(client, consent=True)
        dispatched(client, str(old["case_id"]))
        assert notices(client, str(old["case_id"]))["sms_configured"] is False
    assert settings.clock_file is not None
    set_clock(settings.clock_file, NOW + timedelta(days=4), running=True)
    configured = settings.model_copy(update={"notify": notify_settings(gateway)})
    with ServerThread(create_app(configured)) as server, Api(server.url, configured) as client:
        new = named_tip(client, consent=True)
        dispatched(client, str(new["case_id"]))  # after the old step on dispatch's log
        wait_for(lambda: notices(client, str(new["case_id"]))["total"] == 1, 30, "the new step")
        assert notices(client, str(old["case_id"]))["items"] == []
        wait_for(lambda: len(gateway.calls) == 1, 30, "the new step texted")  # before it stops
    assert new["number"] in gateway.calls[0][1]["message"]


# --- the reporter's later word: consent withdrawn, given again (ADR 37 addendum) ------------

WITHDRAWN = {"consent": False, "reason": "举报人来电要求不再发送短信"}


def set_consent(api: Api, case_id: str, body: dict[str, Any], *who: Any) -> httpx.Response:
    headers = api.auth(*(who or ("office",)))
    return api.put(f"/api/v1/tips/{case_id}/sms-consent", json=body, headers=headers)


def read_up_to(settings: Settings, source: str) -> None:
    """Wait until the reporter_sms projection has read everything ``source`` has stored —
    the one sure sign that a step was read and found nobody to text."""
    last = stored_notifications(settings, source)[-1].id

    async def position() -> int:
        engine = create_engine(settings.model_copy(update={"db_pool_size": 1}))
        try:
            async with engine.connect() as connection:
                found = await connection.execute(
                    sa.select(projection_positions.c.position).where(
                        projection_positions.c.consumer == "reporter_sms",
                        projection_positions.c.source == source,
                    )
                )
                return int(found.scalar_one_or_none() or 0)
        finally:
            await engine.dispose()

    wait_for(lambda: asyncio.run(position()) >= last, 30, f"reporter_sms to read {source}")


def replied(api: Api, case_id: str, channel: str = "direct_reply") -> None:
    reply = {"channel": channel, "content": "已告知办理情况"}
    wait_for(
        lambda: (
            api.post(
                f"/api/v1/cases/{case_id}/feedback", json=reply, headers=api.auth("office")
            ).status_code
            == 201
        ),
        30,
        "tracking to take the reply",
    )


def test_a_withdrawal_withholds_pending_texts_and_stops_later_steps(
    api: Api, gateway: WebhookReceiver, settings: Settings
) -> None:
    assert settings.clock_file is not None
    night = NOW.replace(hour=22, minute=30)
    set_clock(settings.clock_file, night, running=True)
    tip = named_tip(api, consent=True)
    case_id = str(tip["case_id"])
    wait_for(
        lambda: (
            act(api, case_id, "not-accepted", "office", reason="不属于本机关受理范围").status_code
            == 200
        ),
        30,
        "the case on dispatch's desk",
    )
    wait_for(lambda: notices(api, case_id)["total"] == 1, 30, "the step held for the morning")

    answer = ok(set_consent(api, case_id, WITHDRAWN))
    assert (answer["consent"], answer["withheld"]) == (False, 1)
    (change,) = answer["consent_changes"]
    assert (change["consent"], change["by_role"], change["reason"]) == (
        False,
        "office",
        WITHDRAWN["reason"],
    )
    log = notices(api, case_id)
    assert log["consent"] is False and log["consent_changes"] == answer["consent_changes"]
    held = log["items"][0]
    assert (held["status"], held["status_label"]) == ("withheld", "举报人已撤回同意,不再发送")
    assert held["next_attempt_at"] is None
    again = ok(set_consent(api, case_id, WITHDRAWN))  # unchanged: nothing more recorded
    assert again["withheld"] == 0 and len(again["consent_changes"]) == 1

    replied(api, case_id)  # a later step: read, and nobody is texted
    read_up_to(settings, "tracking")
    assert [n["step"] for n in notices(api, case_id)["items"]] == ["not_accepted"]
    set_clock(settings.clock_file, NOW + timedelta(days=1), running=True)  # morning
    time.sleep(0.3)  # three passes of the texter
    assert gateway.calls == []

    # The change is in the case's history for those who may reveal the reporter, not others.
    def history(*who: Any) -> list[str]:
        path = f"/api/v1/cases/{case_id}/history"
        return [e["type"] for e in ok(api.get(path, headers=api.auth(*who)))["items"]]

    wait_for(lambda: "ReporterSmsConsentWithdrawn" in history("office"), 30, "the trail")
    assert "ReporterSmsConsentWithdrawn" in history("supervisor")
    assert "ReporterSmsConsentWithdrawn" not in history("operator", "话务员甲")


def test_consent_given_again_resumes_later_steps_and_a_second_pass_is_texted_once(
    api: Api, gateway: WebhookReceiver, settings: Settings
) -> None:
    add_units(api, UNIT)
    tip = named_tip(api, consent=True)
    case_id, number = str(tip["case_id"]), tip["number"]
    ok(set_consent(api, case_id, WITHDRAWN))
    dispatched(api, case_id)  # while withdrawn: not texted, and not later either
    read_up_to(settings, "dispatch")
    assert notices(api, case_id)["items"] == []

    # the operator who registered the tip takes the reporter's call
    given = {"consent": True, "reason": "举报人来电同意恢复短信告知"}
    answer = ok(set_consent(api, case_id, given, "operator", "话务员甲"))
    assert answer["consent"] is True
    assert [c["consent"] for c in answer["consent_changes"]] == [False, True]

    for path, role, status, body in [
        ("sign", "unit_liaison", 200, {}),
        ("results", "unit_liaison", 201, RESULT),
        ("results/1/review", "office", 200, {"accepted": True}),
    ]:
        r = api.post(
            f"/api/v1/cases/{case_id}/{path}", json=body, headers=api.auth(role, unit=UNIT)
        )
        assert r.status_code == status, r.text
    replied(api, case_id)
    replied(api, case_id, "online_publication")  # public: not texted
    rating = {"rating": "dissatisfied", "evaluator_kind": "complainant"}
    r = api.post(f"/api/v1/cases/{case_id}/evaluations", json=rating, headers=api.auth("office"))
    assert r.status_code == 201, r.text

    wait_for(lambda: len(sent_steps(api, case_id)) == 2, 30, "the reply and the second pass")
    assert sent_steps(api, case_id) == {
        "replied": f"您反映的问题(编号{number})我办已向您直接反馈办理情况。详询12388。{STOP}",
        "second_pass": f"您反映的问题(编号{number})因评价不满意,已重新交有关单位办理。"
        f"详询12388。{STOP}",
    }
    second = next(n for n in notices(api, case_id)["items"] if n["step"] == "second_pass")
    assert (second["step_label"], second["pass_no"]) == ("二次办理", 2)
    assert len(gateway.calls) == 2  # the acceptance, while withdrawn: never


def test_consent_changes_are_refused_in_chinese_where_nobody_can_be_texted(api: Api) -> None:
    anonymous = ok(api.register(**(UNROUTED | {"reporter": {"anonymous": True}})), 201)
    body = problem(set_consent(api, str(anonymous["case_id"]), {"consent": False}), 409)
    assert body["code"] == "sms_consent_anonymous" and "匿名举报" in body["detail"]

    phoneless = named_tip(api, consent=False, phone=None)
    phoneless_id = str(phoneless["case_id"])
    body = problem(set_consent(api, phoneless_id, {"consent": True}), 409)
    assert body["code"] == "sms_consent_needs_phone" and "未留电话" in body["detail"]
    unchanged = ok(set_consent(api, phoneless_id, {"consent": False}))  # already so
    assert (unchanged["consent"], unchanged["consent_changes"]) == (False, [])

    problem(set_consent(api, phoneless_id, {"consent": "no"}), 422)
    control = problem(set_consent(api, phoneless_id, {"consent": False, "reason": "a\x1bb"}), 422)
    assert "控制字符" in str(control["errors"])  # the reason is a text field like any other
    missing = "00000000-0000-4000-8000-000000000000"
    assert problem(set_consent(api, missing, WITHDRAWN), 404)["code"] == "no_such_tip"


def test_only_the_office_and_the_registering_operator_record_consent(api: Api) -> None:
    case_id = str(named_tip(api, consent=True)["case_id"])
    for who in [("unit_liaison", "联络员", UNIT), ("evaluator",), ("supervisor",)]:
        body = problem(set_consent(api, case_id, WITHDRAWN, *who), 403)
        assert "无权" in body["detail"]
    problem(set_consent(api, case_id, WITHDRAWN, "operator", "话务员乙"), 404)  # not its tip
    assert ok(set_consent(api, case_id, WITHDRAWN, "operator", "话务员甲"))["consent"] is False


def test_the_texter_reads_consent_again_right_before_sending(
    tmp_path: Path, gateway: WebhookReceiver
) -> None:
    """A notice claimed in the same pass as the withdrawal (or left pending by a crash
    between the withdrawal and its withholding) is withheld, never sent. (SQLite only.)"""
    kept, withdrawn = uuid.uuid4(), uuid.uuid4()

    def phone_of(case_id: uuid.UUID) -> str:
        if case_id == withdrawn:
            raise NoSmsConsent(case_id)  # as the tip says at the moment of sending
        return PHONE

    async def scenario() -> dict[str, str]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'notices.sqlite'}")
        async with engine.begin() as connection:
            await connection.run_sync(tables.metadata.create_all)
        sessions = async_sessionmaker(engine)
        async with sessions() as session, session.begin():
            for case_id in (kept, withdrawn):
                await session.execute(tables.notices.insert().values(pending(case_id)))
        config = notify_settings(gateway)
        quiet = QuietHours(config, "Asia/Shanghai")
        texter = ReporterTexter(sessions, config, phone_of, quiet, lambda: NOW)
        assert await texter.deliver_due() == 2  # both claimed in one pass
        async with sessions() as session:
            rows = (await session.execute(sa.select(tables.notices))).all()
        await engine.dispose()
        return {str(row.case_id): row.status for row in rows}

    assert asyncio.run(scenario()) == {str(kept): "sent", str(withdrawn): "withheld"}
    assert len(gateway.calls) == 1


def pending(case_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": notice_id(case_id, Step.ACCEPTED),
        "case_id": case_id,
        "number": "2026-000001",
        "step": "accepted",
        "pass_no": 0,
        "text": "您反映的问题(编号2026-000001)已受理,并交有关单位办理。详询12388。",
        "created_at": NOW,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": NOW,
        "sent_at": None,
        "last_error": None,
    }
