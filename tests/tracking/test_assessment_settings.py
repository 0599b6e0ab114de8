"""The assessment's tables as the deployment sets them (``TAIZHANG_ASSESSMENT``, issue 19
point 2: configurable weights and thresholds): laid over the defaults, refused at start when
they name an unknown measure or misorder the grades — and the API's grades follow them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.tracking.assessment.domain import Grade, honours, score
from services.tracking.assessment.rules import configured
from shared.platform.settings import AssessmentRules, ConfigurationError, Settings
from tests.support.tracking import Case, serving

HALF = {"on_time_sign_rate": 1.0, "on_time_completion_rate": 0.5}  # default: (15+15)/45 = 66.67


def test_weights_and_grade_lines_are_laid_over_the_defaults() -> None:
    default, _ = configured(AssessmentRules())
    assert (score("D1", "区直部门", HALF, [], default).score, default.grade(66.67)) == (
        66.67,
        Grade.BASIC,
    )
    rules, _ = configured(
        AssessmentRules(
            weights={"on_time_completion_rate": 0},  # completion no longer counts
            thresholds={"excellent": 95, "competent": 80, "basic": 50},
            groups={"company": "国有企业"},
        )
    )
    scored = score("D1", "区直部门", HALF, [], rules)
    assert (scored.score, scored.grade) == (100.0, Grade.EXCELLENT)
    assert rules.weights["on_time_sign_rate"] == 15  # left out: the default
    assert rules.grade(79.9) == Grade.BASIC and rules.grade(49.9) == Grade.INCOMPETENT
    assert (rules.group("company"), rules.group("street_office")) == ("国有企业", "街道")


def test_the_honours_lines_are_the_deployments() -> None:
    figures = [("D1", "区教育局", {"cases": 2, "satisfaction_rate": 0.7})]
    _, default = configured(AssessmentRules())
    assert honours(figures, default) == ([], [])  # between the default lines: neither list
    _, strict = configured(AssessmentRules(black_satisfaction=0.8))
    assert [e["unit"] for e in honours(figures, strict)[1]] == ["D1"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"thresholds": {"excellent": 70, "competent": 80, "basic": 60}}, "优秀 > 合格 > 基本合格"),
        ({"thresholds": {"excellent": 90, "competent": 80}}, "优秀 > 合格 > 基本合格"),
        ({"weights": {"on_time_sign_rate": -1}}, "不能为负"),
        ({"red_satisfaction": 1.5}, "less than or equal to 1"),
    ],
)
def test_a_misordered_or_negative_table_is_refused(value: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        AssessmentRules.model_validate(value)


def test_an_unknown_measure_or_all_weights_zero_stops_the_start() -> None:
    with pytest.raises(ConfigurationError, match="未知的考核指标 speed"):
        configured(AssessmentRules(weights={"speed": 10}))
    zero = dict.fromkeys(configured(AssessmentRules())[0].weights, 0.0)
    with pytest.raises(ConfigurationError, match="至少有一项须大于 0"):
        configured(AssessmentRules(weights=zero))


@pytest.mark.calendar
def test_the_years_grades_follow_the_configured_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = {"thresholds": {"excellent": 1, "competent": 0.5, "basic": 0}}
    monkeypatch.setenv("TAIZHANG_ASSESSMENT", json.dumps(lines))
    with serving(Settings(data_dir=tmp_path / "data")) as served:
        served.unit("D1", "区教育局")
        Case(served, channel="mayor_hotline", summary="逾期未签收").triage().dispatch(
            "D1", sign_in=timedelta(hours=-1)
        )
        year = served.tracking.now().year
        r = served.api.get(f"/api/v1/assessments/{year}", headers=served.api.auth("office"))
        assert r.status_code == 200, r.text
        [d1] = [i for i in r.json()["items"] if i["unit"]["code"] == "D1"]
        assert d1["score"] is not None and d1["score"] >= 1  # under the defaults: 不合格
        assert d1["computed_grade"]["label"] == "优秀"
