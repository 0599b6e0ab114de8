"""A ledger row as people read it: labels, unit names, overdue and the working-day countdown,
all computed for a given moment (now, or ``as_of``) — never stored, so never stale."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from services.tracking.ledger import reporter_answers
from services.tracking.ledger.rows import Row
from shared.contracts.catalogue import Catalogue
from shared.contracts.vocabulary import (
    CHANNEL_LABELS,
    CIRCUMSTANCE_LABELS,
    EVALUATOR_LABELS,
    FEEDBACK_LABELS,
    MEASURE_LABELS,
    RATING_LABELS,
    STATUS_LABELS,
    TARGET_LABELS,
    TRACK_LABELS,
    AccountabilityTarget,
    CaseStatus,
    Channel,
    Circumstance,
    EvaluatorKind,
    FeedbackChannel,
    Measure,
    Rating,
    Track,
)
from shared.platform.calendar import WorkingCalendar

# The unit is at work on the case (the sign-for deadline runs only until it signs).
HANDLING = (CaseStatus.DISPATCHED.value, CaseStatus.IN_PROGRESS.value)

E = TypeVar("E", bound=StrEnum)


def label(labels: dict[E, str], kind: type[E], value: str | None) -> str | None:
    """The Chinese label of a code; an unknown code (a newer producer) shows as itself."""
    if value is None:
        return None
    try:
        return labels[kind(value)]
    except (ValueError, KeyError):
        return value


def is_overdue(row: Row, now: datetime) -> bool:
    """Past the sign-for deadline unsigned, or past the handling deadline without a result.
    (``queries.overdue_clause`` says the same in SQL.)"""
    status = row.get("dispatch_status")
    sign, handle = row.get("sign_deadline"), row.get("handle_deadline")
    if status == CaseStatus.DISPATCHED and row.get("signed_at") is None and sign and sign < now:
        return True
    return status in HANDLING and handle is not None and handle < now


def working_days_left(row: Row, now: datetime, calendar: WorkingCalendar) -> int | None:
    """Working days until the handling deadline, while it runs (see ``days_to``)."""
    deadline = row.get("handle_deadline")
    if deadline is None or row.get("dispatch_status") not in HANDLING:
        return None
    return days_to(deadline, now, calendar)


def days_to(deadline: datetime, now: datetime, calendar: WorkingCalendar) -> int:
    """Working days left until `deadline`; once it has passed, −max(1, working days elapsed
    since it) — an overdue case never reads as time left, even over a weekend or a holiday."""
    today = now.astimezone(calendar.timezone).date()
    due = deadline.astimezone(calendar.timezone).date()
    if deadline < now:
        return -max(1, calendar.working_days_between(due, today))
    return calendar.working_days_between(today, due)


def hours_to(deadline: datetime, now: datetime) -> int:
    """Clock hours left (rounded up); once passed, −max(1, whole hours elapsed)."""
    seconds = (deadline - now).total_seconds()
    if seconds < 0:
        return -max(1, int(-seconds // 3600))
    return math.ceil(seconds / 3600)


def countdown(row: Row, now: datetime, calendar: WorkingCalendar) -> dict[str, Any] | None:
    """The deadline that runs now and what is left of it, as people read it: the sign-for
    deadline while the case waits unsigned (in clock hours for 即办), then the handling one."""
    status = row.get("dispatch_status")
    sign, handle = row.get("sign_deadline"), row.get("handle_deadline")
    if status == CaseStatus.DISPATCHED and row.get("signed_at") is None and sign is not None:
        which, deadline, prefix = "sign", sign, "签收"
    elif status in HANDLING and handle is not None:
        which, deadline, prefix = "handle", handle, ""
    else:
        return None
    in_hours = which == "sign" and row.get("track") == Track.IMMEDIATE
    left = hours_to(deadline, now) if in_hours else days_to(deadline, now, calendar)
    unit = "个小时" if in_hours else "个工作日"
    if left < 0:
        text = f"{prefix}超期 {-left} {unit}"
    elif left == 0:
        text = f"{prefix}今日到期"
    else:
        text = f"{prefix}剩 {left} {unit}"
    return {
        "deadline": which,
        "unit": "hours" if in_hours else "working_days",
        "left": left,
        "overdue": left < 0,
        "label": text,
    }


@dataclass(frozen=True)
class Context:
    """What a view needs besides the row: the moment, unit names, the working calendar."""

    now: datetime
    unit_names: dict[str, str]
    calendar: WorkingCalendar
    categories: Catalogue = field(default_factory=Catalogue.seeded)  # 问题分类 (ADR 25)
    # 单位负责人 by unit code, as the ledger prints them: ``张某(局长)``
    unit_heads: dict[str, str] = field(default_factory=dict)

    def unit(self, code: str | None) -> dict[str, str] | None:
        return None if code is None else {"code": code, "name": self.unit_names.get(code, code)}

    def category_name(self, code: str | None) -> str | None:
        """The Chinese name (a retired category's too); a value stored before the catalogue
        as it was."""
        return self.categories.name_of(code)


def person_line(person: dict[str, Any] | None) -> str | None:
    """A person with the position in brackets, as offices write it: ``张某(局长)``."""
    if not person or not person.get("name"):
        return None
    position = person.get("position")
    return f"{person['name']}({position})" if position else str(person["name"])


def case_view(row: Row, ctx: Context, *, full: bool = True) -> dict[str, Any]:
    view = _registration(row) | _handling(row, ctx) | _after_result(row)
    view["reporter_answers"] = reporter_answers.owed_answers(row, ctx)
    view["category_name"] = ctx.category_name(row.get("category"))
    if full:
        view["content"] = row.get("content")
        view["feedback"] = [_delivery(f) for f in row.get("feedback") or []]
    return view


def _registration(row: Row) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "number": row.get("number"),
        "channel": row.get("channel"),
        "channel_label": label(CHANNEL_LABELS, Channel, row.get("channel")),
        "category": row.get("category"),
        "summary": row.get("summary"),
        "district": row.get("district"),
        "subject": row.get("subject"),
        "named": row.get("named"),
        "registered_at": row.get("registered_at"),
        "status": row["status"],
        "status_label": label(STATUS_LABELS, CaseStatus, row["status"]),
        "pass_no": row["pass_no"],
        "second_pass": row["pass_no"] > 1,
        "updated_at": row.get("updated_at"),
    }


def _handling(row: Row, ctx: Context) -> dict[str, Any]:
    return {
        "track": row.get("track"),
        "track_label": label(TRACK_LABELS, Track, row.get("track")),
        "lead_unit": ctx.unit(row.get("lead_unit")),
        "co_units": [ctx.unit(u) for u in row.get("co_units") or []],
        "dispatched_at": row.get("dispatched_at"),
        "sign_deadline": row.get("sign_deadline"),
        "sign_deadline_provisional": row.get("sign_deadline_provisional"),
        "handle_deadline": row.get("handle_deadline"),
        "handle_deadline_provisional": row.get("handle_deadline_provisional"),
        "working_days_left": working_days_left(row, ctx.now, ctx.calendar),
        "countdown": countdown(row, ctx.now, ctx.calendar),
        "overdue": is_overdue(row, ctx.now),
        "signed_at": row.get("signed_at"),
        "signed_on_time": row.get("signed_on_time"),
        "extensions": {
            "requested": row["extensions_requested"],
            "granted": row["extensions_granted"],
        },
        "returns": row["returns"],
        "result": {
            "submitted_at": row.get("result_submitted_at"),
            "on_time": row.get("result_on_time"),
            "findings": row.get("result_findings"),
            "rectification": row.get("result_rectification"),
            "accepted_at": row.get("result_accepted_at"),
        },
        "repeats": row["repeats"],
        "merged_into": row.get("merged_into"),
        "not_accepted_reason": row.get("not_accepted_reason"),
        "flagged_for_accountability": row["flagged_for_accountability"],
        "reminders": row["reminders"],
        "supervision_notices": row["supervision_notices"],
    }


def _after_result(row: Row) -> dict[str, Any]:
    latest = row.get("latest_evaluation")
    return {
        "required_feedback": row.get("required_feedback") or [],
        "delivered_feedback": row.get("delivered_feedback") or [],
        "latest_evaluation": _evaluation(latest) if latest else None,
        "evaluations": {
            "total": row["evaluations_total"],
            "satisfied": row["evaluations_satisfied"],
        },
        "escalated": row["escalated"],
        "accountability": row.get("accountability") or [],
        "accountability_summary": accountability_summary(row.get("accountability") or []),
        "closed_out_at": row.get("closed_out_at"),
    }


REFERRAL_LABELS = {
    "pending": "第三方不满意,待办公室研究",
    "second_pass": "办公室决定二次办理",
    "declined": "办公室决定不启动二次办理",
}


def _evaluation(evaluation: dict[str, Any]) -> dict[str, Any]:
    shown = evaluation | {
        "rating_label": label(RATING_LABELS, Rating, evaluation["rating"]),
        "evaluator_label": label(EVALUATOR_LABELS, EvaluatorKind, evaluation["evaluator_kind"]),
    }
    if referral := evaluation.get("referral"):
        shown["referral_label"] = REFERRAL_LABELS.get(referral, referral)
    return shown


def _delivery(delivery: dict[str, Any]) -> dict[str, Any]:
    return delivery | {
        "channel_label": label(FEEDBACK_LABELS, FeedbackChannel, delivery["channel"])
    }


def accountability_summary(records: list[dict[str, Any]], *, names: bool = True) -> str | None:
    """One line per record, e.g. ``直接责任人 张三(科长):诫勉谈话、通报批评(从重)``."""
    lines = [_accountability_line(r, names) for r in records]
    return ";".join(lines) or None


def _accountability_line(record: dict[str, Any], names: bool) -> str:
    target = label(TARGET_LABELS, AccountabilityTarget, record["target_kind"]) or ""
    if names:
        position = f"({record['position']})" if record.get("position") else ""
        target = f"{target} {record['name']}{position}"
    if record.get("exempted"):
        return f"{target}:容错免责"
    measures = "、".join(label(MEASURE_LABELS, Measure, m) or m for m in record["measures"])
    circumstance = label(CIRCUMSTANCE_LABELS, Circumstance, record.get("circumstances"))
    return f"{target}:{measures}" + (f"({circumstance})" if circumstance else "")


def local_date(moment: datetime | None, calendar: WorkingCalendar) -> date | None:
    return None if moment is None else moment.astimezone(calendar.timezone).date()
