"""Insight's domain events → integration events (``shared.contracts.insight``)."""

from __future__ import annotations

from typing import Any

from shared.contracts import Contract
from shared.contracts.insight import EarlyWarningRaised


def to_contract(event: Any) -> Contract | None:
    if type(event).__qualname__ == "RaisedWarning.Raised":
        return EarlyWarningRaised(
            warning_id=event.originator_id,
            category=event.category,
            category_label=event.category_label,
            keys=event.keys,
            day=event.day,
            count=event.count,
            expected=event.expected,
            reason=event.reason,
            case_ids=event.case_ids,
            case_numbers=event.case_numbers,
        )
    return None
