"""多次督办 — how many supervision notices (督办) each unit's handling of a case has had, so
that the Nth opens the accountability procedure (``TAIZHANG_ACCOUNTABILITY``)."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/tracking/supervision-tally")


def tally_id(case_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"tally:{case_id}")


class SupervisionTally(Aggregate):
    """督办计数 — per case, the supervision notices each unit has had."""

    id: UUID

    @classmethod
    def start(cls, case_id: UUID) -> SupervisionTally:
        return cls(id=tally_id(case_id), case_id=case_id)  # type: ignore[call-arg]

    @event("Started")
    def __init__(self, *, case_id: UUID) -> None:
        self.case_id = case_id
        self.by_unit: dict[str, int] = {}

    def count(self, unit: str, actor: dict[str, Any]) -> int:
        self._counted(unit=unit, count=self.by_unit.get(unit, 0) + 1, actor=actor)
        return self.by_unit[unit]

    def catch_up(self, unit: str, count: int, actor: dict[str, Any]) -> None:
        """Bring the unit's count up to the notices the log holds (an upgrade's backfill:
        notices issued before the tally existed); never down."""
        if count > self.by_unit.get(unit, 0):
            self._counted(unit=unit, count=count, actor=actor)

    @event("Counted")
    def _counted(self, unit: str, count: int, actor: dict[str, Any]) -> None:
        self.by_unit[unit] = count
