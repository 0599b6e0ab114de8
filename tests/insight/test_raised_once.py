"""A 苗头预警 is recorded once (ADR 32), also when a later sweep finds its cluster with its
keys in another order — a second key (the unit beside the street) fired since and now comes
first. Until this, that was a second warning to the office for the same problem."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.insight.application import InsightApplication

STREET = {"level": "street", "level_label": "街道", "value": "积玉桥街道"}
UNIT = {"level": "unit", "level_label": "单位", "value": "WC-JYQ"}
OTHER = {"level": "street", "level_label": "街道", "value": "杨园街道"}


def fields(*keys: dict[str, str], day: date = date(2026, 11, 17)) -> dict[str, Any]:
    return {
        "category": "arbitrary_charges",
        "category_label": "乱收费",
        "keys": list(keys),
        "day": day,
        "count": 9,
        "expected": 1.5,
        "reason": "近7日9件,高于基线",
        "case_ids": [],
        "case_numbers": [],
    }


def test_a_cluster_found_again_with_its_keys_reordered_is_the_same_warning() -> None:
    app = InsightApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert app.raise_warning(fields(STREET)) is True
    assert app.raise_warning(fields(STREET)) is False  # the next sweep: nothing new
    assert app.raise_warning(fields(UNIT, STREET)) is False  # reordered: still the same
    # another street's cluster, or the same street on another day, is a warning of its own
    assert app.raise_warning(fields(OTHER, UNIT)) is True
    assert app.raise_warning(fields(STREET, day=date(2026, 11, 18))) is True
