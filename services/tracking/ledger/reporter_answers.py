"""The two answers a named (实名) reporter is owed, as deadlines on the case (issue 20).

The discipline bodies' rules for 检举控告 (2020) give the practice: a real-name reporter is
told within 15 working days whether the report is accepted, and told the result within 15
working days of its conclusion. Here the first is answered by the office's decision (交办, or
不予受理/合并 followed by a direct reply), the second by the direct reply (直接反馈) after the
result of the current pass was accepted. Read-side only: computed from the ledger row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.tracking.ledger import presentation  # module: presentation shows these
from services.tracking.ledger.rows import Row
from shared.contracts.vocabulary import CaseStatus, FeedbackChannel

ANSWER_WORKING_DAYS = 15
CONCLUDED = (CaseStatus.NOT_ACCEPTED.value, CaseStatus.MERGED.value)


def owed_answers(row: Row, ctx: presentation.Context) -> list[dict[str, Any]] | None:
    """None for an anonymous reporter (the receipt page is its channel)."""
    if not row.get("named") or row.get("registered_at") is None:
        return None
    replies = [f for f in row.get("feedback") or [] if f["channel"] == FeedbackChannel.DIRECT_REPLY]
    decided = row.get("dispatched_at")
    if row.get("status") in CONCLUDED:
        decided = _at(replies[0]) if replies else None
    answers = [_answer("acceptance", "受理告知", row["registered_at"], decided, ctx)]
    concluded_at = row.get("result_accepted_at")
    if concluded_at is not None:
        pass_no = row.get("pass_no") or 1
        told = [_at(f) for f in replies if f.get("pass_no") == pass_no]
        answers.append(_answer("result", "结果告知", concluded_at, told[0] if told else None, ctx))
    return answers


def _answer(
    kind: str, name: str, start: datetime, answered: datetime | None, ctx: presentation.Context
) -> dict[str, Any]:
    due = ctx.calendar.add_working_days(start, ANSWER_WORKING_DAYS).at
    if answered is not None:
        on_time = answered <= due
        text = f"{name}:已于期限内答复" if on_time else f"{name}:逾期后答复"
        return {
            "kind": kind,
            "due": due,
            "answered_at": answered,
            "overdue": not on_time,
            "label": text,
        }
    left = presentation.days_to(due, ctx.now, ctx.calendar)
    text = f"{name}:超期 {-left} 个工作日" if left < 0 else f"{name}:剩 {left} 个工作日"
    return {"kind": kind, "due": due, "answered_at": None, "overdue": left < 0, "label": text}


def _at(delivery: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(delivery["at"]))
