"""The office's tables (issue 18): which measures bar that year's awards (当年不得评优评先)
and the floors below which a decision is 问责畸轻 — editable, each change an event. Until the
office sets them, ``TAIZHANG_ACCOUNTABILITY`` gives them."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

TABLES_ID = uuid5(NAMESPACE_URL, "https://taizhang.example/tracking/accountability-tables")


class AccountabilityTables(Aggregate):
    """问责表 — the award-bar measures and the 畸轻 floors, as the office last set them."""

    id: UUID

    @classmethod
    def create(cls) -> AccountabilityTables:
        return cls(id=TABLES_ID)  # type: ignore[call-arg]

    @event("Created")
    def __init__(self) -> None:
        self.award_bar_measures: list[str] | None = None
        self.floors: dict[str, str] | None = None

    def set(
        self, award_bar_measures: list[str], floors: dict[str, str], actor: dict[str, Any]
    ) -> None:
        self._set(award_bar_measures=award_bar_measures, floors=floors, actor=actor)

    @event("Set")
    def _set(
        self, award_bar_measures: list[str], floors: dict[str, str], actor: dict[str, Any]
    ) -> None:
        self.award_bar_measures = award_bar_measures
        self.floors = floors
