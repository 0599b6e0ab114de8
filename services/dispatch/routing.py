"""Routing rules (see ``seed/README.md``): the first rule that matches a tip wins.

Within a rule's ``match``, every non-empty list must match (AND) and any element of a list
may match (OR); an empty list matches anything. Keywords are substrings of the tip's content
or summary. A rule names a lead unit, co-units and the track.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.dispatch.errors import Invalid
from shared.contracts.vocabulary import Channel

Rule = dict[str, Any]
LISTS = ("categories", "districts", "streets", "channels", "keywords")
_CHANNELS = {c.value for c in Channel}


@dataclass(frozen=True)
class TipFacts:
    """What routing looks at in a registered tip."""

    channel: str
    category: str | None
    district: str | None
    street: str | None
    text: str  # content and summary

    @classmethod
    def of(
        cls,
        channel: str,
        category: str | None,
        location: Mapping[str, Any] | None,
        content: str,
        summary: str | None,
    ) -> TipFacts:
        location = location or {}
        return cls(
            channel=channel,
            category=category,
            district=location.get("district"),
            street=location.get("street"),
            text=f"{content}\n{summary or ''}",
        )


def matches(rule: Rule, tip: TipFacts) -> bool:
    match = rule["match"]
    tests = {
        "categories": lambda values: tip.category in values,
        "districts": lambda values: tip.district in values,
        "streets": lambda values: tip.street in values,
        "channels": lambda values: tip.channel in values,
        "keywords": lambda values: any(word in tip.text for word in values),
    }
    return all(test(match[name]) for name, test in tests.items() if match.get(name))


def first_match(rules: Sequence[Rule], tip: TipFacts) -> Rule | None:
    return next((rule for rule in rules if matches(rule, tip)), None)


def suggestion(rules: Sequence[Rule], tip: TipFacts, active: Callable[[str], bool]) -> Rule | None:
    """The rule the triage desk offers beside a case (一键交办): the first that matches, if its
    lead unit is active; a key-rectification rule is offered too (its deadline comes by hand)."""
    rule = first_match(rules, tip)
    return rule if rule is not None and active(rule["lead_unit"]) else None


def check_rules(rules: Sequence[Rule], active_units: set[str], known_units: set[str]) -> None:
    """Raise :class:`Invalid` naming every rule and field that is wrong."""
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        where, rid = f"rules[{i}]", rule["id"]
        if rid in seen:
            problems.append((f"{where}.id", f"规则编号 {rid} 重复 (duplicate rule id)"))
        seen.add(rid)
        if not any(rule["match"].get(name) for name in LISTS):
            problems.append(
                (f"{where}.match", f"规则 {rid} 的匹配条件全为空 (rule {rid} matches nothing)")
            )
        for channel in rule["match"].get("channels", []):
            if channel not in _CHANNELS:
                problems.append(
                    (
                        f"{where}.match.channels",
                        f"规则 {rid}:未知来源渠道 {channel} (rule {rid}: unknown channel)",
                    )
                )
        problems += _unit_problems(rule, where, active_units, known_units)
    if problems:
        raise Invalid(*problems[0], *problems[1:])


def _unit_problems(
    rule: Rule, where: str, active_units: set[str], known_units: set[str]
) -> list[tuple[str, str]]:
    rid, lead = rule["id"], rule["lead_unit"]
    problems = []
    if lead not in active_units:
        state = "已停用" if lead in known_units else "不存在"
        problems.append(
            (
                f"{where}.lead_unit",
                f"规则 {rid}:牵头单位 {lead} {state} (rule {rid}: unknown or inactive unit)",
            )
        )
    for code in rule["co_units"]:
        if code not in known_units:
            problems.append(
                (
                    f"{where}.co_units",
                    f"规则 {rid}:协办单位 {code} 不存在 (rule {rid}: unknown unit)",
                )
            )
        if code == lead:
            problems.append(
                (
                    f"{where}.co_units",
                    f"规则 {rid}:牵头单位不能同时协办 (lead unit is not a co-unit)",
                )
            )
    return problems
