"""The dispatch Case and routing rules as pure domain: commands in, events and refusals out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest

from services.dispatch.deadlines import DeadlineRules
from services.dispatch.domain import Case
from services.dispatch.errors import Invalid, NotLeadUnit, Refused, WrongState
from services.dispatch.routing import TipFacts, check_rules, first_match, matches
from shared.contracts import SYSTEM_ACTOR
from shared.platform.calendar import WorkingCalendar, YearCalendar
from shared.platform.settings import DeadlinePolicy

CST = timezone(timedelta(hours=8))
OFFICE = {"id": "office:张三", "name": "张三", "role": "office", "unit": None}
LIAISON = {"id": "unit_liaison:李四", "name": "李四", "role": "unit_liaison", "unit": "WC-JYJ"}
RULES = DeadlineRules(DeadlinePolicy(), WorkingCalendar())
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
SEED = Path(__file__).resolve().parents[2] / "services" / "dispatch" / "seed"


def new_case(channel: str = "hotline_12388") -> Case:
    return Case(  # type: ignore[call-arg]
        id=uuid4(),
        number="2026-000001",
        channel=channel,
        category=None,
        summary=None,
        content="反映内容",
        location=None,
        named=False,
        registered_at=MONDAY,
        actor=OFFICE,
    )


def dispatched(track: str = "general", now: datetime = MONDAY) -> Case:
    case = new_case()
    case.triage(track=track, category=None, note=None, actor=OFFICE)
    case.dispatch(
        lead_unit="WC-JYJ",
        co_units=["WC-SCJG"],
        handle_working_days=None,
        now=now,
        rules=RULES,
        actor=OFFICE,
    )
    return case


def in_progress(**kw) -> Case:  # type: ignore[no-untyped-def]
    case = dispatched(**kw)
    case.sign(unit="WC-JYJ", now=MONDAY, actor=LIAISON)
    return case


def event_names(case: Case) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


RESULT = {
    "findings": "属实",
    "rectification": "已整改",
    "proposal_kind": "rectification",
    "proposal_text": "完善制度",
    "signed_off_by": "局长",
}


def test_every_event_records_the_status_after_it_and_the_pass() -> None:
    case = in_progress()
    statuses = [(type(e).__name__, e.status, e.pass_no) for e in case.collect_events()[1:]]  # type: ignore[attr-defined]
    assert statuses == [
        ("Triaged", "registered", 1),
        ("Dispatched", "dispatched", 1),
        ("Signed", "in_progress", 1),
    ]


def test_sign_and_handle_deadlines_are_separate_and_immediate_signs_in_two_clock_hours() -> None:
    general = dispatched()
    assert general.deadlines["sign"]["at"] == datetime(2026, 3, 3, 23, 59, 59, tzinfo=CST)
    assert general.deadlines["handle"]["at"] == datetime(2026, 3, 23, 23, 59, 59, tzinfo=CST)
    immediate = dispatched("immediate")
    assert immediate.deadlines["sign"]["at"] == MONDAY + timedelta(hours=2)
    assert immediate.deadlines["handle"]["at"] == datetime(2026, 3, 5, 23, 59, 59, tzinfo=CST)


def test_the_wrong_state_is_refused_in_chinese_and_english() -> None:
    case = in_progress()
    case.collect_events()
    with pytest.raises(WrongState) as refused:
        case.sign(unit="WC-JYJ", now=MONDAY, actor=LIAISON)
    assert str(refused.value) == "案件当前状态为“办理中”,不能签收 (cannot sign a case in_progress)"
    assert case.collect_events() == []


def test_only_the_lead_unit_signs_but_a_co_unit_may_report_progress() -> None:
    case = dispatched()
    with pytest.raises(NotLeadUnit):
        case.sign(unit="WC-SCJG", now=MONDAY, actor=LIAISON)
    case.report_progress(unit="WC-SCJG", note="已核实", now=MONDAY, actor=LIAISON)
    with pytest.raises(NotLeadUnit):
        case.report_progress(unit="WC-GS", note="无关", now=MONDAY, actor=LIAISON)


def test_a_return_is_allowed_within_two_working_days_of_dispatch_only() -> None:
    friday = datetime(2026, 3, 6, 10, tzinfo=CST)
    case = dispatched(now=friday)
    late = datetime(2026, 3, 11, 0, 0, 1, tzinfo=CST)  # Mon and Tue are the two working days
    with pytest.raises(Refused):
        case.return_case(unit="WC-JYJ", reason="不属于", now=late, rules=RULES, actor=LIAISON)
    in_time = datetime(2026, 3, 10, 23, 0, tzinfo=CST)
    case.return_case(unit="WC-JYJ", reason="不属于", now=in_time, rules=RULES, actor=LIAISON)
    assert (case.status, case.returns_by_unit) == ("returned", {"WC-JYJ": 1})


def test_extensions_are_bounded_one_at_a_time_and_before_the_deadline() -> None:
    case = in_progress()
    for days in (0, 11):
        with pytest.raises(Invalid):
            case.request_extension(
                unit="WC-JYJ", working_days=days, reason="r", now=MONDAY, rules=RULES, actor=LIAISON
            )
    n = case.request_extension(
        unit="WC-JYJ", working_days=10, reason="r", now=MONDAY, rules=RULES, actor=LIAISON
    )
    assert n == 1
    with pytest.raises(Refused):
        case.request_extension(
            unit="WC-JYJ", working_days=1, reason="r", now=MONDAY, rules=RULES, actor=LIAISON
        )
    with pytest.raises(Invalid):
        case.decide_extension(n=1, granted=False, reason=None, rules=RULES, actor=OFFICE)
    case.decide_extension(n=1, granted=False, reason="理由不充分", rules=RULES, actor=OFFICE)
    after = case.deadlines["handle"]["at"] + timedelta(seconds=1)
    with pytest.raises(Refused):
        case.request_extension(
            unit="WC-JYJ", working_days=1, reason="r", now=after, rules=RULES, actor=LIAISON
        )


def test_reminder_at_80_percent_and_supervision_when_missed_each_once_per_deadline() -> None:
    case = dispatched()
    case.collect_events()
    sign = case.deadlines["sign"]
    remind = RULES.remind_at(sign["start"], sign["at"])
    case.check_deadlines(now=remind - timedelta(seconds=1), rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == []
    for _ in range(2):
        case.check_deadlines(now=remind, rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == ["DeadlineApproaching"]
    for _ in range(2):
        case.check_deadlines(now=sign["at"] + timedelta(seconds=1), rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == ["DeadlineMissed", "SupervisionNoticeIssued"]
    # Signed: the sign-for deadline stops running; handling is far from its reminder point.
    case.sign(unit="WC-JYJ", now=sign["at"], actor=LIAISON)
    case.check_deadlines(now=sign["at"] + timedelta(days=1), rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == ["Signed"]


def test_a_clock_stepped_back_after_the_supervision_notice_raises_no_reminder() -> None:
    """督办 first (this replica's clock was ahead, or jumped past the reminder point), then a
    replica whose clock reads earlier — or NTP stepped it back — checks again inside the
    reminder window: a 催办 after the 督办 would tell the unit its deadline is still ahead."""
    case = dispatched()
    case.collect_events()
    sign = case.deadlines["sign"]
    case.check_deadlines(now=sign["at"] + timedelta(seconds=1), rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == ["DeadlineMissed", "SupervisionNoticeIssued"]
    stepped_back = RULES.remind_at(sign["start"], sign["at"]) + timedelta(minutes=1)
    case.check_deadlines(now=stepped_back, rules=RULES, actor=SYSTEM_ACTOR)
    assert event_names(case) == []


def test_a_second_pass_reopens_once_and_needs_findings_on_person_and_leadership() -> None:
    case = in_progress()
    case.submit_result(unit="WC-JYJ", result=RESULT, now=MONDAY, actor=LIAISON)
    case.review_result(n=1, accepted=True, reason=None, actor=OFFICE)
    later = datetime(2026, 4, 1, 9, tzinfo=CST)
    assert case.reopen_for_second_pass(pass_no=2, now=later, rules=RULES, actor=SYSTEM_ACTOR)
    assert not case.reopen_for_second_pass(pass_no=2, now=later, rules=RULES, actor=SYSTEM_ACTOR)
    assert (case.status, case.pass_no) == ("in_progress", 2)
    assert case.deadlines["handle"]["at"] == datetime(2026, 4, 23, 23, 59, 59, tzinfo=CST)
    with pytest.raises(Invalid) as refused:
        case.submit_result(
            unit="WC-JYJ", result=RESULT | {"direct_person_findings": "x"}, now=later, actor=LIAISON
        )
    assert refused.value.errors[0][0] == "leadership_findings"
    both = RESULT | {
        "direct_person_findings": "对经办人诫勉谈话",
        "leadership_findings": "班子检查",
    }
    assert case.submit_result(unit="WC-JYJ", result=both, now=later, actor=LIAISON) == 2


def test_provisional_deadlines_are_counted_again_when_the_year_is_loaded() -> None:
    december = datetime(2026, 12, 28, 10, tzinfo=CST)
    case = dispatched(now=december)
    assert case.deadlines["handle"]["provisional"]
    assert not case.recalculate(rules=RULES, actor=SYSTEM_ACTOR)  # 2027 still unknown
    known = WorkingCalendar(
        [YearCalendar(2027, frozenset({datetime(2027, 1, 1).date()}), frozenset())]
    )
    case.collect_events()
    assert case.recalculate(rules=DeadlineRules(DeadlinePolicy(), known), actor=SYSTEM_ACTOR)
    assert case.deadlines["handle"]["at"] == datetime(2027, 1, 19, 23, 59, 59, tzinfo=CST)
    assert not case.deadlines["handle"]["provisional"]
    assert event_names(case) == ["DeadlinesRecalculated"]


# --- routing ---------------------------------------------------------------------------------

RULE = {
    "id": "r-test",
    "match": {
        "categories": ["education", "arbitrary_charges"],
        "districts": [],
        "streets": ["积玉桥街道"],
        "channels": [],
        "keywords": ["补课费", "资料费"],
    },
    "lead_unit": "WC-JYJ",
    "co_units": [],
    "track": "general",
}


def facts(**kw) -> TipFacts:  # type: ignore[no-untyped-def]
    base = {
        "channel": "hotline_12388",
        "category": "education",
        "location": {"street": "积玉桥街道"},
        "content": "学校收取资料费",
        "summary": None,
    }
    return TipFacts.of(**(base | kw))


def test_a_rule_ands_its_lists_and_ors_within_a_list() -> None:
    assert matches(RULE, facts())
    assert matches(RULE, facts(category="arbitrary_charges", content="无", summary="补课费"))
    assert not matches(RULE, facts(category="medical"))
    assert not matches(RULE, facts(location={"street": "杨园街道"}))
    assert not matches(RULE, facts(content="学校乱收费"))


def test_the_first_matching_rule_wins() -> None:
    later = RULE | {"id": "r-later", "lead_unit": "WC-SCJG"}
    assert first_match([RULE, later], facts())["id"] == "r-test"  # type: ignore[index]
    assert first_match([RULE, later], facts(category="other")) is None


def test_the_seed_rules_name_only_seeded_units_and_known_channels() -> None:
    units = json.loads((SEED / "units.json").read_text(encoding="utf-8"))
    rules = json.loads((SEED / "routing_rules.json").read_text(encoding="utf-8"))
    codes = {u["code"] for u in units}
    check_rules(rules, codes, codes)
    assert len(units) >= 30
    with pytest.raises(Invalid) as refused:
        check_rules([*rules, RULE | {"lead_unit": "WC-NONE"}], codes, codes)
    assert refused.value.errors == [
        (
            f"rules[{len(rules)}].lead_unit",
            "规则 r-test:牵头单位 WC-NONE 不存在 (rule r-test: unknown or inactive unit)",
        )
    ]


def test_a_redispatch_before_acceptance_sets_a_result_under_review_aside() -> None:
    case = in_progress()
    case.submit_result(unit="WC-JYJ", result=RESULT, now=MONDAY, actor=LIAISON)
    case.dispatch(
        lead_unit="WC-SCJG",
        co_units=[],
        handle_working_days=None,
        now=MONDAY,
        rules=RULES,
        actor=OFFICE,
    )
    assert (case.status, case.lead_unit) == ("dispatched", "WC-SCJG")
    assert case.collect_events()[-1].redispatch  # type: ignore[attr-defined]
    assert case.results[0]["review"]["accepted"] is False
    with pytest.raises(WrongState):
        case.review_result(n=1, accepted=True, reason=None, actor=OFFICE)


def test_a_file_is_attached_once_per_purpose_and_every_download_is_counted() -> None:
    from services.dispatch.errors import NoSuchItem

    case = in_progress()
    now = case.dispatched_at
    assert now is not None
    file = {"digest": "cd" * 32, "media_type": "image/jpeg", "size": 99}
    first = case.attach(**file, purpose="result", now=now, actor=LIAISON)
    again = case.attach(**file, purpose="result", now=now, actor=LIAISON)
    signed = case.attach(**file, purpose="signed_form", now=now, actor=LIAISON)
    assert (first["n"], again["n"], signed["n"]) == (1, 1, 2)
    case.record_download(digest="cd" * 32, now=now, actor=OFFICE)
    assert case.attachments[0]["downloads"] == 1
    with pytest.raises(Invalid, match="附件用途"):
        case.attach(**file, purpose="selfie", now=now, actor=LIAISON)
    with pytest.raises(NoSuchItem, match="没有该附件"):
        case.record_download(digest="ef" * 32, now=now, actor=OFFICE)
    names = [type(e).__qualname__ for e in case.collect_events()]
    assert names.count("Case.AttachmentAdded") == 2
    assert names.count("Case.AttachmentDownloaded") == 1


def test_where_required_a_result_waits_for_the_form_its_head_signed() -> None:
    case = in_progress()
    with pytest.raises(Invalid, match="主要领导签字背书"):
        case.submit_result(
            unit="WC-JYJ", result=RESULT, now=MONDAY, actor=LIAISON, signed_form_required=True
        )
    form = {"digest": "aa" * 32, "media_type": "application/pdf", "size": 10}
    case.attach(**form, purpose="signed_form", now=MONDAY, actor=LIAISON)
    n = case.submit_result(
        unit="WC-JYJ", result=RESULT, now=MONDAY, actor=LIAISON, signed_form_required=True
    )
    assert n == 1 and case.status == "result_submitted"
    # Off by default: SPEC §6 clients that attach nothing keep working.
    other = in_progress()
    assert other.submit_result(unit="WC-JYJ", result=RESULT, now=MONDAY, actor=LIAISON) == 1
