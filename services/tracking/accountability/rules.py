"""The documents' rules for a finding of accountability, as pure checks.

- 武昌办法第三十五条: collective liability (集体责任) is a 领导班子's; a person bears direct,
  main-leadership or important-leadership liability.
- 第三十六条: a 领导班子 only 责令作出书面检查, 通报批评, 调整处理; a 领导干部 the full list
  (组织处理: 调整职务, 责令辞职, 免职, 降职; 党纪政纪处分; 移送司法机关).
- 第三十九、四十条: 从重, 从轻 or 减轻 with the circumstances that ground them.
- 杭州办法五: the decision is made by 上级主管部门, 任免机关 or 监察机关.
- 温州意见: 容错免责 — relieved of liability, on stated grounds, approved by someone.

A finding sent in the §6 form (``legacy``: no liability, no deciding body) is held to the
rules that form always had plus the measures of 第三十六条; the rest is defaulted (ADR 19).
"""

from __future__ import annotations

from typing import Any

from shared.contracts.vocabulary import (
    INDIVIDUAL_MEASURES,
    LEADERSHIP_MEASURES,
    MEASURE_LABELS,
    AccountabilityTarget,
    Circumstance,
    Liability,
    Measure,
)

LEADERSHIP = AccountabilityTarget.LEADERSHIP.value
PERSON = AccountabilityTarget.PERSON.value
GROUNDED = frozenset(
    {
        Circumstance.AGGRAVATING,
        Circumstance.MITIGATING,
        Circumstance.REDUCED,
        Circumstance.NO_SANCTION,
    }
)
Problems = list[tuple[str, str]]


def default_liability(target_kind: str) -> str:
    """What a §6 record without ``liability`` means: a leadership team's is collective."""
    return (Liability.COLLECTIVE if target_kind == LEADERSHIP else Liability.DIRECT).value


def _labels(measures: list[str]) -> str:
    return "、".join(MEASURE_LABELS[Measure(m)] for m in measures)


def measure_problems(target_kind: str, measures: list[str]) -> Problems:
    if target_kind == LEADERSHIP:
        wrong = [m for m in measures if m not in LEADERSHIP_MEASURES]
        if wrong:
            return [
                (
                    "measures",
                    "领导班子的问责方式只有责令作出书面检查、通报批评、调整处理(武昌办法第三十六条),"
                    f"不能给予{_labels(wrong)} (measures for individuals only given to a "
                    f"leadership team: {', '.join(wrong)})",
                )
            ]
        return []
    wrong = [m for m in measures if m not in INDIVIDUAL_MEASURES]
    if wrong:
        return [
            (
                "measures",
                "调整处理是对领导班子的问责方式,领导干部个人应为调整职务(武昌办法第三十六条) "
                "(leadership_adjustment is for a leadership team; a person gets reassignment)",
            )
        ]
    return []


def liability_problems(target_kind: str, liability: str) -> Problems:
    collective = liability == Liability.COLLECTIVE
    if (target_kind == LEADERSHIP) != collective:
        return [
            (
                "liability",
                "集体责任由领导班子承担,领导干部个人承担直接责任、主要领导责任或重要领导责任"
                "(武昌办法第三十五条) (collective liability is a leadership team's, and only "
                "theirs)",
            )
        ]
    return []


def consistency_problems(measures: list[str], circumstances: str, exempted: bool) -> Problems:
    """The rules the §6 form always had (their messages are a promise: ADR 16's bodies)."""
    if exempted and measures:
        return [("measures", "容错免责时不应再有问责措施 (an exempted record carries no measures)")]
    if circumstances == Circumstance.NO_SANCTION and measures:
        return [("measures", "免予处理时不应再有问责措施 (no_sanction carries no measures)")]
    if not exempted and not measures and circumstances != Circumstance.NO_SANCTION:
        return [
            (
                "measures",
                "请至少选择一项问责措施,或标记容错免责、免予处理 (give a measure, or "
                "exempted=true, or circumstances=no_sanction)",
            )
        ]
    if len(set(measures)) != len(measures):
        return [("measures", "问责措施重复 (a measure is listed twice)")]
    if exempted and circumstances == Circumstance.AGGRAVATING:
        return [
            (
                "circumstances",
                "容错免责不能同时从重 (exempted and aggravating contradict each other)",
            )
        ]
    return []


def full_form_problems(record: dict[str, Any]) -> Problems:
    """What a decision in the full form must state beyond the §6 fields."""
    problems: Problems = []
    if not record.get("unit"):
        problems.append(
            ("unit", "须写明所在单位:姓名不唯一,人员以姓名、单位、职务识别 (unit required)")
        )
    if record["target_kind"] == PERSON and not record.get("position"):
        problems.append(("position", "须写明职务 (position required for a person)"))
    if record["circumstances"] in GROUNDED and not record.get("grounds"):
        problems.append(
            (
                "grounds",
                "从重、从轻、减轻或免予处理须写明情节依据(武昌办法第三十九、四十条) "
                "(grounds required for these circumstances)",
            )
        )
    exemption = record.get("exemption") or {}
    if record["exempted"] and not (exemption.get("grounds") and exemption.get("approved_by")):
        problems.append(
            (
                "exemption",
                "容错免责须写明依据和批准人 (an exemption needs grounds and approved_by)",
            )
        )
    if not record.get("decided_by"):
        problems.append(
            (
                "decided_by",
                "须写明作出问责决定的机关:上级主管部门、任免机关或监察机关(杭州办法五) "
                "(decided_by required)",
            )
        )
    if not record.get("decided_on"):
        problems.append(("decided_on", "须写明问责决定日期 (decided_on required)"))
    return problems


def finding_problems(record: dict[str, Any], *, legacy: bool) -> Problems:
    """Every rule the finding breaks, the §6 form's own first (in their old order)."""
    problems = consistency_problems(record["measures"], record["circumstances"], record["exempted"])
    problems += measure_problems(record["target_kind"], record["measures"])
    problems += liability_problems(record["target_kind"], record["liability"])
    if not legacy:
        problems += full_form_problems(record)
    return problems
