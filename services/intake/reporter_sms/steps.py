"""Which steps of a case a consenting reporter is told of by SMS, and in what words.

The steps are those the receipt page shows a reporter (受理/交办, 不予受理, 合并,
二次办理, 直接反馈, 办结销号). A text says only the case's number, the step in words and
where to look or ask — never the complaint's content, the reporter's name or anyone else's
particulars: whoever holds the phone reads it. The office's decision on the tip (受理, 不予
受理 or 合并: the 受理告知) also gives the receipt code and the portal's address (ADR 44);
the code is recorded masked and filled in only by the texter, in memory. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from services.intake.reporter_sms.optout import HOW_TO_STOP
from shared.contracts import Contract
from shared.contracts import dispatch as d
from shared.contracts import tracking as t
from shared.contracts.vocabulary import FeedbackChannel
from shared.platform.redaction import redact

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/intake/reporter-sms")
REASON_MAX = 20  # a 不予受理 reason longer than this is not sent: the reply carries it


# The receipt code as a recorded text holds it (and the office reads it): the texter puts the
# reporter's code in its place at the moment of sending; a code is never stored in clear.
RECEIPT_MASK = "****-****-****-****"


class Step(StrEnum):
    """告知环节 — a step of the case a reporter is told of."""

    ACCEPTED = "accepted"  # 受理, 交有关单位办理
    NOT_ACCEPTED = "not_accepted"  # 不予受理
    MERGED = "merged"  # 合并办理
    REPLIED = "replied"  # 直接反馈 (once per pass)
    SECOND_PASS = "second_pass"  # 二次办理 (once per pass it starts)
    CLOSED = "closed"  # 办结销号


@dataclass(frozen=True)
class Found:
    """A step an event brings, with its words (what follows the case's number)."""

    step: Step
    words: str
    pass_no: int = 0  # a reply and a second pass are per pass; every other step is told once


def notice_id(case_id: UUID, step: Step, pass_no: int = 0) -> UUID:
    """The one identity of a notice: a redelivered event, a re-dispatch or a replayed store
    gives the same id, which is also the gateway's idempotency key."""
    return uuid5(NAMESPACE, f"{case_id}|{step.value}|{pass_no}")


def _accepted(event: Contract) -> Found:
    return Found(Step.ACCEPTED, "已受理,并交有关单位办理")


def _not_accepted(event: Contract) -> Found:
    assert isinstance(event, d.CaseNotAccepted)
    reason = fit_reason(event.reason)
    # Not 「经审查…」 as the receipt page says: three characters the two-part budget needs.
    words = f"不予受理,理由:{reason}" if reason else "不予受理,理由将另行告知"
    return Found(Step.NOT_ACCEPTED, words)


def _merged(event: Contract) -> Found:
    assert isinstance(event, d.CaseMerged)
    return Found(Step.MERGED, f"与编号{event.into_number}的案件反映同一问题,已合并办理")


def _replied(event: Contract) -> Found | None:
    assert isinstance(event, t.FeedbackDelivered)
    if event.channel != FeedbackChannel.DIRECT_REPLY:
        return None  # 网上公示 and 媒体回应 are public, not an answer to this reporter
    return Found(Step.REPLIED, "我办已向您直接反馈办理情况", event.pass_no)


def _second_pass(event: Contract) -> Found:
    assert isinstance(event, t.SecondPassStarted)
    # As the receipt page says it; never the evaluation's or the office's reason.
    return Found(Step.SECOND_PASS, "因评价不满意,已重新交有关单位办理", event.pass_no)


def _closed(event: Contract) -> Found:
    return Found(Step.CLOSED, "已办结")


# integration event → the step it brings (None: none for this reporter)
STEPS: dict[type[Contract], Callable[[Contract], Found | None]] = {
    d.CaseDispatched: _accepted,  # a re-dispatch gives the same notice id: told once
    d.CaseNotAccepted: _not_accepted,
    d.CaseMerged: _merged,
    t.FeedbackDelivered: _replied,
    t.SecondPassStarted: _second_pass,  # the pass it starts: a redelivery is the same notice
    t.CaseClosedOut: _closed,
}


# The office's decision on the tip: the first text a reporter gets, which gives the receipt code.
DECISIONS = frozenset({Step.ACCEPTED, Step.NOT_ACCEPTED, Step.MERGED})


def step_of(event: Contract) -> Found | None:
    react = STEPS.get(type(event))
    return react(event) if react else None


_DIGITS = re.compile(r"\d")
# Words that bring a person into a sentence: a reason holding one is not texted (the redaction
# step masks a name only where it can see where the name ends).
_PERSONS = re.compile(r"举报人|投诉人|反映人|来电人|联系人|当事人|姓名|先生|女士|同志")


def fit_reason(reason: str | None) -> str | None:
    """The office's 不予受理 reason if it is fit for a text: short, one line, no digits, no
    word that introduces a person and nothing the redaction step would mask (a phone, an ID
    number, an e-mail, a name). Anything else is told by the office's reply, not by SMS."""
    text = (reason or "").strip().rstrip("。.")
    if not text or len(text) > REASON_MAX or "\n" in text or _DIGITS.search(text):
        return None
    if _PERSONS.search(text) or redact(text).flags:
        return None
    return text


def receipt_words(code: str, portal_url: str | None) -> str:
    """The sentence that tells the receipt code (ADR 44): with the portal's address when the
    deployment has one (the look-up page: a code never stands in an address), else the code
    alone. Spaces around the address, so that a phone sees where it ends."""
    if portal_url:
        return f"回执码{code},可在 {portal_url} 查询进度并评价。"
    return f"回执码{code},请妥善保管,凭此查询进度。"


def sms_text(number: str, words: str, where: str, receipt: str = "") -> str:
    """The whole text: ``您反映的问题(编号…)<step>。[<receipt words>]<where>回复TD退订`` —
    every text says how to stop them, as Chinese gateways require (ADR 49)."""
    return f"您反映的问题(编号{number}){words}。{receipt}{where}{HOW_TO_STOP}"


# Two SMS parts: a long text goes in parts of 67 characters (UCS-2, Chinese), one of 70.
TWO_PARTS = 2 * 67
SAMPLE_NUMBER = "2026-000123"  # case numbers are 11 characters until a year's millionth


def longest_first_text(portal_url: str | None, where: str) -> int:
    """The longest text a deployment sends (ADR 49): the office's decision with the receipt
    code, 不予受理 with the longest reason a text carries — to hold against :data:`TWO_PARTS`
    (the gateway's signature 【…】 counts too on most Chinese gateways)."""
    refused = d.CaseNotAccepted(
        case_id=UUID(int=0), status="not_accepted", reason="理" * REASON_MAX
    )
    words = _not_accepted(refused).words
    receipt = receipt_words(RECEIPT_MASK, portal_url)
    return len(sms_text(SAMPLE_NUMBER, words, where, receipt))
