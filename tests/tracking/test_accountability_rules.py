"""The documents' rules for a decision of accountability, and the procedure's stages, as
pure domain (no store): each rule refuses with the article it comes from."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.tracking.accountability.domain import AccountabilityProcedure
from services.tracking.accountability.errors import (
    DecisionConflict,
    InvalidFinding,
    NoReportBackOwed,
    NoSuchFinding,
    NotDecided,
)
from services.tracking.accountability.rules import finding_problems

ACTOR = {"id": "office:王主任", "name": "王主任", "role": "office", "unit": None}
FULL = {
    "target_kind": "person",
    "name": "张某",
    "unit": "某局",
    "position": "科长",
    "liability": "direct",
    "measures": ["admonishment_talk"],
    "circumstances": "none",
    "grounds": None,
    "exempted": False,
    "exemption": None,
    "decided_by": "appointing_authority",
    "decided_on": date(2026, 3, 2),
}


def fields(record: dict[str, Any], legacy: bool = False) -> list[str]:
    return [f for f, _ in finding_problems({**FULL, **record}, legacy=legacy)]


@pytest.mark.parametrize(
    ("record", "field", "article"),
    [
        (
            {"target_kind": "leadership", "liability": "collective", "measures": ["demotion"]},
            "measures",
            "第三十六条",
        ),
        ({"measures": ["leadership_adjustment"]}, "measures", "第三十六条"),
        ({"liability": "collective"}, "liability", "第三十五条"),
        ({"circumstances": "reduced"}, "grounds", "第三十九、四十条"),
        ({"decided_by": None}, "decided_by", "杭州办法五"),
        ({"exempted": True, "measures": []}, "exemption", "容错免责"),
        ({"unit": None}, "unit", "姓名不唯一"),
        ({"circumstances": "no_sanction", "grounds": "g"}, "measures", "免予处理"),
    ],
)
def test_each_rule_names_its_field_and_article(
    record: dict[str, Any], field: str, article: str
) -> None:
    problems = finding_problems({**FULL, **record}, legacy=False)
    assert problems and problems[0][0] == field
    assert article in problems[0][1]


def test_the_section_6_form_needs_no_deciding_body_but_keeps_the_measures_rule() -> None:
    old = {"unit": None, "position": None, "decided_by": None, "decided_on": None}
    assert fields({**old, "circumstances": "aggravating"}, legacy=True) == []
    leadership = {**old, "target_kind": "leadership", "liability": "collective"}
    assert fields({**leadership, "measures": ["dismissal"]}, legacy=True) == ["measures"]
    assert fields({"circumstances": "no_sanction", "measures": [], "grounds": "g"}) == []


def opened(due: datetime | None) -> AccountabilityProcedure:
    return AccountabilityProcedure.open(
        case_id=uuid.uuid4(),
        trigger="higher_source" if due else "supervised_track",
        reason="r",
        origin=None,
        report_back_due=due,
        actor=ACTOR,
    )


def report(p: AccountabilityProcedure) -> None:
    day = date(2026, 3, 3)
    p.report_back(reported_to="市纪委", content="c", reported_on=day, on_time=True, actor=ACTOR)


def test_a_higher_sources_procedure_is_decided_then_reported_back_then_closed() -> None:
    p = opened(datetime(2026, 3, 16, 23, 59, tzinfo=UTC))
    with pytest.raises(NotDecided):
        report(p)
    with pytest.raises(InvalidFinding):
        p.record_finding({**FULL, "measures": []}, legacy=False, actor=ACTOR)
    assert p.missing_for_close_out()[0]["code"] == "accountability_undecided"
    no_one = {"decided_by": "supervisory_authority", "decided_on": date(2026, 3, 2)}
    p.find_no_one_accountable(reason="无责", **no_one, actor=ACTOR)
    assert p.stage == "decided"
    assert p.missing_for_close_out()[0]["code"] == "report_back_missing"
    with pytest.raises(DecisionConflict):
        p.record_finding(FULL, legacy=False, actor=ACTOR)
    report(p)
    assert (p.stage, p.missing_for_close_out()) == ("closed", [])


def test_a_later_trigger_reopens_a_closed_procedure_for_a_new_round() -> None:
    p = opened(None)
    assert p.record_finding(FULL, legacy=False, actor=ACTOR) == 1
    assert p.stage == "closed"
    with pytest.raises(NoReportBackOwed):
        report(p)
    with pytest.raises(NoSuchFinding):
        p.correct_finding(7, FULL, "更正", actor=ACTOR)
    again = {"origin": None, "report_back_due": None, "actor": ACTOR}
    assert p.add_trigger(trigger="supervised_track", reason="again", **again) is False
    assert p.add_trigger(trigger="dissatisfied_twice", reason="又不满意", **again) is True
    assert (p.stage, p.round, p.current()) == ("open", 2, [])
    assert p.correct_finding(1, {**FULL, "measures": ["demotion"]}, "更正", actor=ACTOR) == 2
    assert p.stage == "open"  # a correction of round 1 does not decide round 2
    p.record_finding(FULL, legacy=False, actor=ACTOR)
    assert p.stage == "closed"
