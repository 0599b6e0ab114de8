"""notify's pure rules: who is told of which event, what they read, the one id a
notification keeps, channels by the directory's entry, backoff, quiet hours, and the start-up
check of the SMS setting."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.notify.delivery import sms_text
from services.notify.domain import (
    RULES,
    Audience,
    Channel,
    channels_for,
    message_id,
    rules,
    title,
)
from services.registry import build_service
from shared.platform.apprise_channel import check_sms_url
from shared.platform.sending import backoff, quiet_until
from shared.platform.settings import ConfigurationError, NotifySettings, Settings, load_secrets

CST = timezone(timedelta(hours=8))


def test_a_dispatch_tells_the_lead_and_co_units_and_a_supervision_notice_the_supervisors() -> None:
    assert RULES["CaseDispatched"].audiences == (Audience.LEAD, Audience.CO_UNITS)
    assert Audience.SUPERVISORS in RULES["SupervisionNoticeIssued"].audiences
    assert Audience.SUPERVISORS not in RULES["DeadlineApproaching"].audiences


def test_the_operator_overrides_audiences_per_event_type_and_an_empty_list_silences_one() -> None:
    merged = rules({"CaseDispatched": ["lead"], "ResultSubmitted": []})
    assert merged["CaseDispatched"].audiences == (Audience.LEAD,)
    assert merged["ResultSubmitted"].audiences == ()
    assert merged["CaseDispatched"].title == RULES["CaseDispatched"].title
    with pytest.raises(ValueError, match="NoSuchEvent"):
        rules({"NoSuchEvent": ["lead"]})
    with pytest.raises(ValueError, match="everyone"):
        rules({"CaseDispatched": ["everyone"]})


def test_titles_read_as_chinese_sentences_with_the_case_number() -> None:
    supervision = title(RULES["SupervisionNoticeIssued"], "2026-000007", {"deadline_kind": "sign"})
    assert supervision == "督办:案件 2026-000007 逾期未签收"
    refused = title(RULES["ExtensionDecided"], None, {"granted": False})
    assert refused == "案件 (未编号) 的延期申请未获批准"
    returned = title(RULES["CaseReturned"], "2026-000008", {})  # a missing field stays blank
    assert returned == "案件 2026-000008 被  退回,待办公室处理"


def test_one_event_person_and_channel_give_one_id_and_any_change_another() -> None:
    same = message_id("dispatch:42", "unit_liaison:王", Channel.EMAIL)
    assert same == message_id("dispatch:42", "unit_liaison:王", Channel.EMAIL)
    others = {
        message_id("dispatch:43", "unit_liaison:王", Channel.EMAIL),
        message_id("dispatch:42", "unit_liaison:李", Channel.EMAIL),
        message_id("dispatch:42", "unit_liaison:王", Channel.ROBOT),
    }
    assert same not in others and len(others) == 3


def test_channels_follow_the_directory_entry_and_the_persons_choices() -> None:
    assert channels_for({}) == [Channel.INBOX]
    full = {"email": "a@b.test", "robot_url": "json://127.0.0.1/robot"}
    assert channels_for(full) == [Channel.INBOX, Channel.EMAIL, Channel.ROBOT]
    assert channels_for(full | {"email_enabled": False}) == [Channel.INBOX, Channel.ROBOT]
    assert channels_for(full | {"robot_enabled": False}) == [Channel.INBOX, Channel.EMAIL]


def test_sms_needs_the_deployments_provider_a_phone_and_the_persons_choice() -> None:
    chose = {"phone": "+8613800001111", "sms_enabled": True}
    assert channels_for(chose, sms=True) == [Channel.INBOX, Channel.SMS]
    assert channels_for(chose) == [Channel.INBOX]  # the deployment sends no SMS
    assert channels_for(chose | {"sms_enabled": False}, sms=True) == [Channel.INBOX]
    assert channels_for({"phone": "+8613800001111"}, sms=True) == [Channel.INBOX]  # not chosen
    assert channels_for({"sms_enabled": True}, sms=True) == [Channel.INBOX]  # no phone


def test_an_sms_url_without_its_phone_or_unreadable_by_apprise_is_refused_at_start() -> None:
    check_sms_url(NotifySettings())  # none set: no SMS, nothing to check
    check_sms_url(NotifySettings(sms_url=SecretStr("json://sms-gw.test/send?-to={phone}")))
    twilio = "twilio://AC" + "a" * 32 + ":" + "b" * 32 + "@+8610012345678/{phone}"
    check_sms_url(NotifySettings(sms_url=SecretStr(twilio)))
    with pytest.raises(ConfigurationError, match=r"\{phone\}") as refused:
        check_sms_url(NotifySettings(sms_url=SecretStr("json://user:pw@sms-gw.test/send")))
    assert "pw" not in str(refused.value)  # the URL's credentials are never repeated
    with pytest.raises(ConfigurationError, match="Apprise"):
        check_sms_url(NotifySettings(sms_url=SecretStr("nosuchscheme://gw.test/{phone}")))


def test_the_notify_service_does_not_start_with_an_sms_url_lacking_its_phone(
    tmp_path: Path,
) -> None:
    notify = NotifySettings(sms_url=SecretStr("json://sms-gw.test/send"))
    settings = Settings(data_dir=tmp_path / "data", notify=notify)
    with pytest.raises(ConfigurationError, match="sms_url"):
        build_service("notify", settings, load_secrets(settings))


def test_the_sms_text_is_the_title_with_the_case_number_and_nothing_else() -> None:
    class Message:
        title = "新交办案件 2026-000007:请在时限内签收"
        case_number = "2026-000007"

    assert sms_text(Message) == Message.title
    Message.title = "每日汇总 2026-11-24:2 条通知"
    Message.case_number = "2026-000008"
    assert sms_text(Message) == "每日汇总 2026-11-24:2 条通知(案件编号 2026-000008)"


def test_backoff_doubles_and_stops_at_its_cap() -> None:
    waits = [backoff(n, 30, 100).total_seconds() for n in (1, 2, 3, 4)]
    assert waits == [30, 60, 100, 100]


@pytest.mark.parametrize(
    ("at", "until"),
    [
        (datetime(2026, 11, 23, 23, 30, tzinfo=CST), datetime(2026, 11, 24, 7, 0, tzinfo=CST)),
        (datetime(2026, 11, 24, 6, 59, tzinfo=CST), datetime(2026, 11, 24, 7, 0, tzinfo=CST)),
        (datetime(2026, 11, 24, 7, 0, tzinfo=CST), None),
        (datetime(2026, 11, 24, 12, 0, tzinfo=CST), None),
    ],
)
def test_quiet_hours_past_midnight_hold_messages_until_they_end(
    at: datetime, until: datetime | None
) -> None:
    assert quiet_until(at, time(22, 0), time(7, 0)) == until


def test_quiet_hours_within_a_day_and_none_set() -> None:
    lunch = datetime(2026, 11, 24, 12, 30, tzinfo=CST)
    assert quiet_until(lunch, time(12, 0), time(14, 0)) == lunch.replace(hour=14, minute=0)
    assert quiet_until(lunch, None, None) is None
    assert quiet_until(lunch, time(9, 0), time(9, 0)) is None
