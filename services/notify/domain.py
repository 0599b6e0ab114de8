"""What an event means to people: who is told (audiences), what they read, and the one
identity each notification keeps however often it is delivered.

Pure: no I/O. The projection (``projection.py``) resolves audiences to persons of the
directory and writes one message per person and channel; the deliverer sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from shared.contracts.wording import ROUND_LABELS

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/notify")


class Channel(StrEnum):
    INBOX = "inbox"  # 站内待办: the workbench's inbox
    EMAIL = "email"  # SMTP
    ROBOT = "robot"  # 群机器人: a group robot's webhook (through Apprise)
    SMS = "sms"  # 短信: the deployment's SMS provider or gateway (through Apprise)


class Audience(StrEnum):
    """Whom an event concerns, before the directory names the persons."""

    LEAD = "lead"  # the lead unit's liaison officers (牵头单位联络员)
    CO_UNITS = "co_units"  # the co-units' liaison officers (协办单位联络员)
    UNIT = "unit"  # the liaison officers of the unit the event names
    UNITS = "units"  # the liaison officers of every unit the event lists (a round's late ones)
    OFFICE = "office"  # the office's staff (纠风办)
    SUPERVISORS = "supervisors"  # supervisors (督办)


class Role(StrEnum):
    """A person's place in the directory."""

    LIAISON = "liaison"
    OFFICE = "office"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Rule:
    """How one event type becomes a notification."""

    audiences: tuple[Audience, ...]
    title: str  # Chinese, formatted with the event's fields and ``number``


L, C, U, US = Audience.LEAD, Audience.CO_UNITS, Audience.UNIT, Audience.UNITS
OFF, SUP = Audience.OFFICE, Audience.SUPERVISORS
DEADLINE_NAMES = {"sign": "签收", "handle": "办理"}
ANSWER_NAMES = {"acceptance": "告知受理情况", "result": "告知办理结果"}

# event type → who is told and what they read (TAIZHANG_NOTIFY's ``audiences`` overrides
# the audiences per event type; an empty list silences one)
RULES: dict[str, Rule] = {
    "CaseDispatched": Rule((L, C), "新交办案件 {number}:请在时限内签收"),
    "ReturnOverruled": Rule((U,), "案件 {number} 的退回未获同意,请重新签收"),
    "DeadlineApproaching": Rule((U,), "催办:案件 {number} 的{deadline_name}时限将至"),
    "DeadlineMissed": Rule((U, OFF), "案件 {number} 已超过{deadline_name}时限"),
    "SupervisionNoticeIssued": Rule((U, OFF, SUP), "督办:案件 {number} 逾期未{deadline_name}"),
    "CaseReturned": Rule((OFF,), "案件 {number} 被 {unit} 退回,待办公室处理"),
    "ExtensionRequested": Rule((OFF,), "案件 {number} 申请延期 {working_days} 个工作日"),
    "ExtensionDecided": Rule((L,), "案件 {number} 的延期申请{granted_word}"),
    "ResultSubmitted": Rule((OFF,), "案件 {number} 已提交办理结果,待审核"),
    "ResultReviewed": Rule((L,), "案件 {number} 的办理结果{accepted_word}"),
    "CaseReopenedForSecondPass": Rule((U,), "案件 {number} 启动二次办理"),
    "ReportBackApproaching": Rule((OFF,), "催办:案件 {number} 的问责结果应于 {due_day} 前回告上级"),
    "ReportBackMissed": Rule((OFF, SUP), "督办:案件 {number} 的问责结果逾期未回告上级"),
    "ReporterAnswerApproaching": Rule(
        (OFF,), "催办:案件 {number} 应于 {due_day} 前向实名举报人{answer_name}"
    ),
    "ReporterAnswerMissed": Rule((OFF, SUP), "督办:案件 {number} 逾期未向实名举报人{answer_name}"),
    "RoundReminded": Rule((US,), "督办:{duty_name}({period})已过报送时限 {due_day},请尽快报送"),
    "RectificationNoticeReminded": Rule(
        (U,), "督办:整改通知书 {notice_number} 已过回告时限 {due_day},请尽快回告整改情况"
    ),
    "EarlyWarningRaised": Rule(
        (OFF,), "苗头预警:{where}「{category_label}」类线索 {count} 件,高于常态,请研判"
    ),
}


def rules(overrides: Mapping[str, Sequence[str]]) -> dict[str, Rule]:
    """The rules with the audiences the operator configured per event type."""
    merged = dict(RULES)
    for event_type, audiences in overrides.items():
        base = RULES.get(event_type)
        if base is None:
            raise ValueError(f"no notification rule for event type {event_type!r}")
        merged[event_type] = Rule(tuple(Audience(a) for a in audiences), base.title)
    return merged


def title(rule: Rule, number: str | None, fields: Mapping[str, Any]) -> str:
    words = {
        "number": number or "(未编号)",
        "deadline_name": DEADLINE_NAMES.get(str(fields.get("deadline_kind")), "办理"),
        "granted_word": "已获批准" if fields.get("granted") else "未获批准",
        "accepted_word": "已通过审核" if fields.get("accepted") else "被退回重办",
        "answer_name": ANSWER_NAMES.get(str(fields.get("answer")), "答复"),
        "due_day": _day(fields.get("due")),
        "duty_name": ROUND_LABELS.get(str(fields.get("kind")), "定期任务"),
        "where": "、".join(
            f"{k.get('level_label', '')}「{k.get('value', '')}」" for k in fields.get("keys") or ()
        ),
    }
    return rule.title.format_map(_Missing(dict(fields) | words))


def _day(value: Any) -> str:
    """A deadline's local day (events carry it with the office's offset)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value or "")[:10]


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def message_id(event_id: str, recipient: str, channel: Channel) -> UUID:
    """The one identity of a notification: the same event, person and channel give the same
    id however often it is delivered (SMTP ``Message-ID``, the webhook's idempotency key)."""
    return uuid5(NAMESPACE, f"{event_id}|{recipient}|{channel.value}")


def channels_for(person: Mapping[str, Any], sms: bool = False) -> list[Channel]:
    """Every person has the inbox; e-mail and the robot where the directory has an address
    and the person has not turned them off. SMS costs money and reaches a private phone, so
    it is chosen, never assumed: only where the deployment has an SMS provider (``sms``), the
    directory has a phone and the person turned SMS on."""
    chosen = [Channel.INBOX]
    if person.get("email") and person.get("email_enabled", True):
        chosen.append(Channel.EMAIL)
    if person.get("robot_url") and person.get("robot_enabled", True):
        chosen.append(Channel.ROBOT)
    if sms and person.get("phone") and person.get("sms_enabled", False):
        chosen.append(Channel.SMS)
    return chosen


# --- the daily digest (每日汇总) ---------------------------------------------------------------

DIGEST_EVENT = "DailyDigest"
HELD, DIGESTED = "held", "digested"  # a digest reader's message before and after its digest


def digest_day(local_now: datetime, digest_hour: int) -> date | None:
    """The day whose digest is due at ``local_now`` (the office's time): today, from the
    digest hour on; before it, none (yesterday's was made yesterday, or is made now)."""
    return local_now.date() if local_now.hour >= digest_hour else None


def digest_id(person_id: str, day: date, channel: Channel) -> UUID:
    """One digest per person, day and channel, however many passes or replicas make it."""
    return uuid5(NAMESPACE, f"digest|{person_id}|{day.isoformat()}|{channel.value}")


def digest_title(day: date, count: int) -> str:
    return f"每日汇总 {day.isoformat()}:{count} 条通知"


def digest_body(day: date, items: Sequence[tuple[str, str | None]]) -> str:
    """The digest's text: one line per notification it gathers (title, case number)."""
    lines = [digest_title(day, len(items))]
    lines += [f"- {title}" + (f"(案件编号 {number})" if number else "") for title, number in items]
    return "\n".join(lines)
