"""The assessment's rules, pure: score, grade, veto, ranking in groups, last place two years
running, and the office's decisions as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.tracking.assessment.domain import (
    AlreadyReplied,
    AssessmentYear,
    Finding,
    Grade,
    Rules,
    VetoedGrade,
    honours,
    last_place,
    rank,
    score,
)

OFFICE = {"id": "u1", "name": "纠风办", "role": "office", "unit": None}
AT = datetime(2026, 12, 1, 9, tzinfo=UTC)
ALL = {
    "on_time_sign_rate": 1.0,
    "on_time_completion_rate": 1.0,
    "complainant_satisfaction_rate": 1.0,
    "third_party_satisfaction_rate": 1.0,
    "returns_upheld_complement": 1.0,
}


def leader(unit: str = "D1", exempted: bool = False) -> Finding:
    measures = () if exempted else ("admonishment_talk",)
    return Finding(unit, "JF-1", "person", "局长", measures, exempted)


def test_score_is_the_weighted_mean_of_the_measures_present() -> None:
    # sign 0.5 (w15), completion 0.8 (w30), nothing else: (7.5 + 24) / 45 = 70.0
    s = score(
        "D1", "区直部门", {"on_time_sign_rate": 0.5, "on_time_completion_rate": 0.8}, [], Rules()
    )
    assert s.score == 70.0
    assert s.computed == s.grade == Grade.BASIC
    assert s.parts["self_inspection_on_time"]["counted"] is False


def test_thresholds_and_weights_are_configurable() -> None:
    rules = Rules(
        weights={"on_time_sign_rate": 1},
        thresholds=((50.0, Grade.EXCELLENT), (10.0, Grade.COMPETENT)),
    )
    assert score("D1", "g", {"on_time_sign_rate": 0.5}, [], rules).grade == Grade.EXCELLENT
    assert score("D1", "g", {"on_time_sign_rate": 0.2}, [], rules).grade == Grade.COMPETENT
    assert score("D1", "g", {"on_time_sign_rate": 0.05}, [], rules).grade == Grade.INCOMPETENT


def test_a_unit_with_nothing_to_measure_has_no_score() -> None:
    s = score("D1", "g", {}, [], Rules())
    assert s.score is None and s.grade is None


def test_accountability_deducts_and_a_main_leader_vetoes() -> None:
    person = Finding("D1", "JF-2", "person", "科员", ("criticism_education",), False)
    s = score("D1", "g", ALL, [person], Rules())
    assert (s.score, s.grade, s.vetoes) == (95.0, Grade.EXCELLENT, ())
    vetoed = score("D1", "g", ALL, [leader()], Rules())
    assert vetoed.computed == Grade.EXCELLENT
    assert vetoed.grade == Grade.BASIC and vetoed.no_award
    assert vetoed.vetoes == ("main_leader_accountable",)
    exempted = score("D1", "g", ALL, [leader(exempted=True)], Rules())
    assert exempted.grade == Grade.EXCELLENT and exempted.score == 100.0
    capped = score("D1", "g", ALL, [person] * 9, Rules())
    assert capped.deduction == 20.0 and capped.score == 80.0


def test_ranking_is_within_groups_and_ties_share_a_place() -> None:
    units = [
        score("S1", "街道", {"on_time_sign_rate": 0.9}, [], Rules()),
        score("S2", "街道", {"on_time_sign_rate": 0.7}, [], Rules()),
        score("S3", "街道", {"on_time_sign_rate": 0.7}, [], Rules()),
        score("D1", "区直部门", {"on_time_sign_rate": 0.1}, [], Rules()),
        score("D2", "区直部门", {"on_time_sign_rate": 0.2}, [], Rules()),
        score("E1", "企业", {"on_time_sign_rate": 0.2}, [], Rules()),
        score("X", "企业", {}, [], Rules()),
    ]
    ranks = rank(units)
    assert ranks == {
        "S1": (1, 3),
        "S2": (2, 3),
        "S3": (2, 3),
        "D2": (1, 2),
        "D1": (2, 2),
        "E1": (1, 1),
    }
    assert last_place(units, ranks) == {"S2", "S3", "D1"}


def test_decision_with_reason_and_the_veto_holds() -> None:
    year = AssessmentYear(2026)
    vetoed = score("D1", "区直部门", ALL, [leader()], Rules())
    with pytest.raises(VetoedGrade):
        year.decide(vetoed, Grade.COMPETENT, "日常工作表现较好", OFFICE, AT, False)
    year.decide(vetoed, Grade.INCOMPETENT, "整改不力", OFFICE, AT, True)
    assert year.decisions["D1"]["grade"] == "incompetent"
    assert year.decisions["D1"]["computed"] == "basically_competent"
    assert year.triggers["D1"]["reason"] == "连续两年考核列小组末位"
    names = [type(e).__name__ for e in year.collect_events()]
    assert names == ["Opened", "GradeDecided", "AccountabilityProcedureTriggered"]


def test_rectification_notice_numbered_and_replied_late_or_on_time() -> None:
    year = AssessmentYear(2026)
    year.issue_notice("D1", ["按期办结率偏低"], AT + timedelta(days=20), OFFICE, AT)
    year.issue_notice("S1", ["满意率偏低"], AT + timedelta(days=20), OFFICE, AT)
    assert year.notices["D1"]["number"] == "纠风整改〔2026〕1号"
    assert year.notices["S1"]["number"] == "纠风整改〔2026〕2号"
    year.reply("D1", "已整改", OFFICE, AT + timedelta(days=21))
    assert year.notices["D1"]["reply"]["on_time"] is False
    with pytest.raises(AlreadyReplied):
        year.reply("D1", "再次回告", OFFICE, AT + timedelta(days=22))


def test_red_and_black_lists() -> None:
    def k(**figures: float | None) -> dict[str, float | None]:
        base = {"cases": 2, "signed": 2, "signed_on_time": 2, "completed": 2}
        return base | {"completed_on_time": 2, "due": 2, "satisfaction_rate": 1.0} | figures

    red, black = honours(
        [
            ("A", "甲", k()),
            ("B", "乙", k(unsigned_past_deadline=1)),
            ("C", "丙", k(satisfaction_rate=0.5)),
            ("D", "丁", k(satisfaction_rate=0.8)),  # neither list
            ("E", "戊", k(cases=0)),
            ("F", "己", k(completed_on_time=0)),  # two late results
        ]
    )
    assert [r["unit"] for r in red] == ["A"]
    assert [(b["unit"], b["missed"]) for b in black] == [("F", 2), ("B", 1), ("C", 0)]
