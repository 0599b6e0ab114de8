"""What insight tells the other services.

Insight's suggestions stay answers to the office's questions; only a 苗头预警 becomes a fact
others act on: the notify service tells the office, and tracking's ledger keeps it for the
monthly circular (ADR 32).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from shared.contracts.base import Contract, contract


@contract
class EarlyWarningRaised(Contract):
    """苗头预警: tips of one category about one street, unit or person grew beyond their own
    baseline on ``day`` (the rule of ADR 23). Raised once per category, place and day;
    ``cases`` are the cases in the window when it was raised."""

    type = "EarlyWarningRaised"
    warning_id: UUID
    category: str
    category_label: str
    keys: list[dict[str, str]]  # {level, level_label, value}
    day: date
    count: int
    expected: float
    reason: str
    case_ids: list[UUID]
    case_numbers: list[str]
