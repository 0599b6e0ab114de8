"""A 苗头预警 once raised (ADR 32): the rule (``warning.py``) answers "what is warning now" on
every read; a raised warning is the fact that it fired, recorded once, so that the office is
told once and the monthly circular can list it. Pure: stdlib and ``eventsourcing.domain``."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/insight/warnings")


class RaisedWarning(Aggregate):
    """已发出的苗头预警 — one per category, first key (the one that fired) and day."""

    @staticmethod
    def create_id(category: str, day: date, keys: list[dict[str, str]]) -> UUID:
        """The warning's identity: its category, day and first key (the one that fired)."""
        first = keys[0]
        return uuid5(NAMESPACE, f"{category}|{day.isoformat()}|{first['level']}|{first['value']}")

    @event("Raised")
    def __init__(
        self,
        *,
        category: str,
        category_label: str,
        keys: list[dict[str, str]],
        day: date,
        count: int,
        expected: float,
        reason: str,
        case_ids: list[str],
        case_numbers: list[str],
        actor: dict[str, Any],
    ) -> None:
        self.category = category
        self.category_label = category_label
        self.keys = keys
        self.day = day
        self.count = count
        self.expected = expected
        self.reason = reason
        self.case_ids = case_ids
        self.case_numbers = case_numbers
        self.actor = actor
