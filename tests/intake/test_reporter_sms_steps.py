"""Which steps a consenting reporter is texted and in what words, when a text may go, and
that tips recorded before consent was asked still load (ADR 37). Pure: no infrastructure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.contract import to_contract
from services.intake.domain import AnonymousSmsConsentError, Tip
from services.intake.reporter_sms.projection import QuietHours
from services.intake.reporter_sms.steps import (
    DECISIONS,
    REASON_MAX,
    RECEIPT_MASK,
    TWO_PARTS,
    Step,
    fit_reason,
    longest_first_text,
    notice_id,
    receipt_words,
    sms_text,
    step_of,
)
from shared.contracts import dispatch as d
from shared.contracts import tracking as t
from shared.platform.settings import NotifySettings
from tests.support.pinned import NOW, SHANGHAI

CASE = uuid.uuid4()
AT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def dispatched(**extra: Any) -> d.CaseDispatched:
    fields: dict[str, Any] = {
        "case_id": CASE,
        "status": "dispatched",
        "lead_unit": "U1",
        "co_units": [],
        "track": "general",
        "handle_working_days": 15,
        "sign_deadline": AT,
        "sign_deadline_provisional": False,
        "handle_deadline": AT,
        "handle_deadline_provisional": False,
        "redispatch": False,
    }
    return d.CaseDispatched(**(fields | extra))


def feedback(channel: str, pass_no: int = 1) -> t.FeedbackDelivered:
    return t.FeedbackDelivered(
        case_id=CASE,
        status="awaiting_feedback",
        pass_no=pass_no,
        channel=channel,
        content="张三说……",
        delivered_feedback=[channel],
    )


def test_each_step_the_receipt_page_shows_has_plain_words_and_one_id() -> None:
    accepted = step_of(dispatched())
    assert accepted is not None and accepted.step is Step.ACCEPTED
    again = step_of(dispatched(redispatch=True))
    assert again is not None
    assert notice_id(CASE, again.step, again.pass_no) == notice_id(CASE, Step.ACCEPTED)

    merged = step_of(
        d.CaseMerged(
            case_id=CASE,
            status="merged",
            into_case_id=uuid.uuid4(),
            into_number="2026-000007",
            reason="同一问题",
        )
    )
    assert merged is not None and "2026-000007" in merged.words

    first, second = step_of(feedback("direct_reply")), step_of(feedback("direct_reply", 2))
    assert first is not None and second is not None
    assert notice_id(CASE, first.step, first.pass_no) != notice_id(CASE, second.step, 2)
    assert "张三" not in first.words  # the reply's content is never texted
    assert step_of(feedback("online_publication")) is None  # public, not to this reporter

    closed = step_of(t.CaseClosedOut(case_id=CASE, status="closed_out", closed_at=AT))
    assert closed is not None and closed.step is Step.CLOSED
    assert sms_text("2026-000001", closed.words, "详情请留意我办答复。") == (
        "您反映的问题(编号2026-000001)已办结。详情请留意我办答复。回复TD退订"
    )
    signed = d.CaseSigned(case_id=CASE, status="in_progress", unit="U1", on_time=True)
    assert step_of(signed) is None


def test_the_office_s_decision_tells_the_receipt_code_with_the_portal_or_alone() -> None:
    """ADR 44: 受理, 不予受理 or 合并 — the first text — gives the code; with the portal's
    address when the deployment has one, spaced so that a phone sees where it ends."""
    assert {Step.ACCEPTED, Step.NOT_ACCEPTED, Step.MERGED} == DECISIONS
    code = "7K3M-9QXZ-2B4C-HT8W"
    assert receipt_words(code, None) == f"回执码{code},请妥善保管,凭此查询进度。"
    portal = "https://jf.example.gov.cn/portal/"
    assert receipt_words(code, portal) == f"回执码{code},可在 {portal} 查询进度并评价。"
    # The longest text the settings allow still fits the notice's column, mask, and the
    # way to stop them at its end (ADR 49: the column's 200 never cuts it off).
    longest_url = "https://" + "a" * 41 + ".cn/portal/"  # TAIZHANG_PORTAL_URL's 60
    reason = step_of(d.CaseNotAccepted(case_id=CASE, status="not_accepted", reason="甲" * 20))
    assert reason is not None and len(longest_url) == 60
    text = sms_text(
        "2026-000001", reason.words, "乙" * 30, receipt_words(RECEIPT_MASK, longest_url)
    )
    assert len(text) <= 200 and RECEIPT_MASK in text and text.endswith("回复TD退订")
    assert longest_first_text(longest_url, "乙" * 30) == len(text)


def test_the_longest_text_still_fits_two_sms_parts_with_the_way_to_stop_them() -> None:
    """ADR 44's budget, with 「回复TD退订」 (ADR 49): the office's decision with the receipt
    code, the portal's address as the tests deploy it and the default last words, and the
    longest 不予受理 reason a text carries — two parts of 67 characters, not three."""
    portal = "https://jf.example.gov.cn/portal/"
    where = NotifySettings().reporter_where
    assert longest_first_text(portal, where) <= TWO_PARTS == 134
    assert longest_first_text(portal + "x", where) > TWO_PARTS  # the budget is that tight
    reason = "理" * REASON_MAX
    refused = step_of(d.CaseNotAccepted(case_id=CASE, status="not_accepted", reason=reason))
    assert refused is not None and refused.words == f"不予受理,理由:{reason}"
    text = sms_text("2026-000123", refused.words, where, receipt_words(RECEIPT_MASK, portal))
    assert len(text) == longest_first_text(portal, where)
    assert longest_first_text(None, where) <= TWO_PARTS - 30  # without the portal: room


def test_a_not_accepted_reason_is_texted_only_when_short_and_without_particulars() -> None:
    assert fit_reason("不属于本机关受理范围。") == "不属于本机关受理范围"
    assert fit_reason("举报人张三反映的问题已由法院受理") is None  # an introduced name
    assert fit_reason("请致电13800001111了解") is None  # a number
    assert fit_reason("该问题涉及的单位和人员已在另案中调查处理完毕无需重复办理") is None  # long
    assert fit_reason("第一行\n第二行") is None
    assert fit_reason(None) is None and fit_reason("  ") is None
    refused = step_of(d.CaseNotAccepted(case_id=CASE, status="not_accepted", reason="x" * 40))
    assert refused is not None and refused.words == "不予受理,理由将另行告知"


def test_no_text_goes_at_night_the_morning_takes_it() -> None:
    quiet = QuietHours(NotifySettings(), "Asia/Shanghai")  # 21:00–08:00 by default
    assert quiet.first_attempt(NOW) == NOW  # 10:00
    night = NOW.replace(hour=21, minute=5)
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0)
    assert quiet.first_attempt(night) == morning
    early = NOW.replace(hour=7, minute=59)
    assert quiet.first_attempt(early) == NOW.replace(hour=8, minute=0)
    assert quiet.until(night.astimezone(UTC)) == morning.astimezone(SHANGHAI)
    later = QuietHours(NotifySettings(reporter_quiet_start="22:00"), "Asia/Shanghai")
    assert later.first_attempt(night) == night


def registered_tip(**changes: Any) -> Tip:
    fields: dict[str, Any] = {
        "number": "2026-000001",
        "channel": "hotline_12388",
        "content": "x",
        "summary": None,
        "category": None,
        "external_ref": None,
        "occurred_at": None,
        "location": None,
        "subject": None,
        "anonymous": False,
        "reporter_sealed": {"kid": "k1", "ct": "…"},
        "receipt_sealed": None,
        "receipt_digest": None,
        "fingerprint": "f",
        "actor": {"id": "u", "name": "n", "role": "operator", "unit": None},
        "sms_consent": False,
    }
    return Tip(id=uuid.uuid4(), **(fields | changes))  # type: ignore[call-arg]


def test_tips_recorded_before_consent_was_asked_load_without_it() -> None:
    tip = registered_tip(sms_consent=True)
    registered = tip.collect_events()[0]
    state = {k: v for k, v in registered.__dict__.items() if k != "sms_consent"}
    old = object.__new__(type(registered))  # as the mapper decodes a stored event
    old.__dict__.update(state)
    loaded = old.mutate(None)
    assert loaded is not None and loaded.sms_consent is False  # nobody texted unasked
    published = to_contract(old)
    assert published is not None and "sms_consent" not in published.model_dump()


def test_a_second_pass_is_told_once_per_pass_without_its_reason() -> None:
    started = t.SecondPassStarted(
        case_id=CASE, status="second_pass", pass_no=2, reason="张三不满意:窗口仍然推诿"
    )
    found = step_of(started)
    assert found is not None and (found.step, found.pass_no) == (Step.SECOND_PASS, 2)
    assert found.words == "因评价不满意,已重新交有关单位办理"  # as the receipt page says it
    again = step_of(started)  # a redelivery: the same notice
    assert again is not None and notice_id(CASE, again.step, 2) == notice_id(CASE, found.step, 2)
    assert notice_id(CASE, Step.SECOND_PASS, 2) != notice_id(CASE, Step.SECOND_PASS, 3)
    assert len(sms_text("2026-000123", found.words, "详情请留意我办答复。")) <= 70  # one part


def test_consent_withdrawn_and_given_again_is_recorded_once_each_with_who_and_when() -> None:
    tip = registered_tip(sms_consent=True)
    office = {"id": "office:王", "name": "王主任", "role": "office", "unit": None}
    tip.withdraw_sms_consent(office, "来电要求不再发送", AT)
    tip.withdraw_sms_consent(office, None, AT)  # already withdrawn: nothing more
    assert tip.sms_consent is False
    tip.give_sms_consent(office, None, AT)
    events = [type(e).__qualname__ for e in tip.collect_events()]
    assert events == ["Tip.Registered", "Tip.SmsConsentWithdrawn", "Tip.SmsConsentGiven"]
    assert tip.sms_consent is True
    assert [(c["consent"], c["actor"]["name"]) for c in tip.sms_consent_changes] == [
        (False, "王主任"),
        (True, "王主任"),
    ]
    anonymous = registered_tip(reporter_sealed=None, anonymous=True)
    with pytest.raises(AnonymousSmsConsentError):
        anonymous.withdraw_sms_consent(office, None, AT)
