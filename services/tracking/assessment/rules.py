"""The deployment's assessment tables (``TAIZHANG_ASSESSMENT``) laid over the defaults of
:mod:`services.tracking.assessment.domain`: a key left out keeps its default; a weight set to
0 drops its measure. Unknown measures stop the start with a message saying which."""

from __future__ import annotations

from dataclasses import replace

from services.tracking.assessment.domain import MEASURE_LABELS, Grade, HonourRules, Rules
from shared.platform.settings import AssessmentRules, ConfigurationError


def configured(c: AssessmentRules) -> tuple[Rules, HonourRules]:
    unknown = sorted(set(c.weights or {}) - set(MEASURE_LABELS))
    if unknown:
        known = "、".join(f"{k}({v})" for k, v in MEASURE_LABELS.items())
        raise ConfigurationError(
            f"TAIZHANG_ASSESSMENT: 未知的考核指标 {', '.join(unknown)};可用:{known}"
        )
    rules = Rules()
    if c.weights is not None:
        rules = replace(rules, weights={**rules.weights, **c.weights})
        if not sum(rules.weights.values()):
            raise ConfigurationError("TAIZHANG_ASSESSMENT: 考核权重至少有一项须大于 0")
    if c.thresholds is not None:
        floors = (c.thresholds["excellent"], c.thresholds["competent"], c.thresholds["basic"])
        rules = replace(rules, thresholds=tuple(zip(floors, GRADES, strict=True)))
    if c.deduction_per_accountability is not None:
        rules = replace(rules, deduction_per_accountability=c.deduction_per_accountability)
    if c.max_deduction is not None:
        rules = replace(rules, max_deduction=c.max_deduction)
    if c.groups is not None:
        rules = replace(rules, groups={**rules.groups, **c.groups})
    return rules, _honours(c)


GRADES = (Grade.EXCELLENT, Grade.COMPETENT, Grade.BASIC)


def _honours(c: AssessmentRules) -> HonourRules:
    honours = HonourRules()
    if c.red_satisfaction is not None:
        honours = replace(honours, red_satisfaction=c.red_satisfaction)
    if c.black_satisfaction is not None:
        honours = replace(honours, black_satisfaction=c.black_satisfaction)
    if c.honours_minimum_cases is not None:
        honours = replace(honours, minimum_cases=c.honours_minimum_cases)
    return honours
