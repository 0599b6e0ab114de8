"""Dispatch's reference data, event-sourced and audited (the actor is on every event):
responsible units, the routing rules, the office's loaded calendar years; and the index from
case numbers to case ids. Ids are deterministic, so loading the seed twice changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/dispatch")
Actor = dict[str, Any]


def without_contacts(liaisons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Liaison officers by name only: their phone numbers and e-mail addresses are personal
    data and are kept in notify's directory of persons, never in an event (ADR 21)."""
    return [{"name": c["name"]} for c in liaisons if c.get("name")]


def responsible(person: dict[str, Any] | None) -> dict[str, Any] | None:
    """The unit's responsible person as kept: name and position (or none), or no one."""
    if not person or not person.get("name"):
        return None
    return {"name": person["name"], "position": person.get("position") or None}


class Unit(Aggregate):
    """责任单位 — a department, street office or company; liaisons are its contact persons,
    by name (events recorded before ADR 21 carry their phones too: never shown again).
    单位负责人 — the unit's responsible person (name and position, e.g. 张某, 局长), optional:
    events recorded before it was kept have no ``responsible_person`` and load as none."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE, f"unit:{code}")

    @event("Registered")
    def __init__(
        self,
        *,
        code: str,
        name: str,
        kind: str,
        parent: str | None,
        liaisons: list[dict[str, Any]],
        actor: Actor,
        # the library asks for every keyword-only argument of a new unit; the default is for
        # events recorded before the responsible person was kept
        responsible_person: dict[str, Any] | None = None,
    ) -> None:
        self.code, self.name, self.kind, self.parent = code, name, kind, parent
        self.liaisons = [dict(c) for c in liaisons]
        self.responsible_person = responsible(responsible_person)
        self.active = True

    def update(
        self,
        *,
        name: str,
        kind: str,
        parent: str | None,
        liaisons: list[dict[str, Any]],
        active: bool,
        actor: Actor,
        responsible_person: dict[str, Any] | None = None,
    ) -> None:
        self._updated(
            code=self.code,
            name=name,
            kind=kind,
            parent=parent,
            liaisons=liaisons,
            active=active,
            actor=actor,
            responsible_person=responsible(responsible_person),
        )

    @event("Updated")
    def _updated(
        self, code, name, kind, parent, liaisons, active, actor, responsible_person=None
    ) -> None:
        self.name, self.kind, self.parent, self.active = name, kind, parent, active
        self.liaisons = [dict(c) for c in liaisons]
        self.responsible_person = responsible(responsible_person)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent,
            "liaisons": without_contacts(self.liaisons),
            "responsible_person": getattr(self, "responsible_person", None),
            "active": self.active,
        }


class UnitDirectory(Aggregate):
    """The codes of every unit, in the order they joined (so the directory can be listed)."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE, "unit-directory")

    @event("Started")
    def __init__(self) -> None:
        self.codes: list[str] = []

    @event("UnitListed")
    def add(self, code: str) -> None:
        self.codes.append(code)


class RoutingTable(Aggregate):
    """The ordered routing rules; the first rule that matches a tip wins."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE, "routing-rules")

    @event("Created")
    def __init__(self, *, rules: list[dict[str, Any]], actor: Actor) -> None:
        self.rules = [dict(r) for r in rules]

    @event("Replaced")
    def replace(self, *, rules: list[dict[str, Any]], actor: Actor) -> None:
        self.rules = [dict(r) for r in rules]


class CalendarYear(Aggregate):
    """A year's official holidays and make-up working days (调休), as the office loaded it."""

    @staticmethod
    def create_id(year: int) -> UUID:
        return uuid5(NAMESPACE, f"calendar-year:{year}")

    @event("Loaded")
    def __init__(
        self, *, year: int, holidays: list[date], workdays: list[date], actor: Actor
    ) -> None:
        self.year = year
        self.holidays, self.workdays = sorted(holidays), sorted(workdays)

    def reload(self, *, holidays: list[date], workdays: list[date], actor: Actor) -> None:
        self._reloaded(year=self.year, holidays=holidays, workdays=workdays, actor=actor)

    @event("Reloaded")
    def _reloaded(self, year, holidays, workdays, actor) -> None:
        self.holidays, self.workdays = sorted(holidays), sorted(workdays)


class CaseNumber(Aggregate):
    """Which case a human case number (``2026-000123``) names, for ``merge {into}``."""

    @staticmethod
    def create_id(number: str) -> UUID:
        return uuid5(NAMESPACE, f"case-number:{number}")

    @event("Issued")
    def __init__(self, *, number: str, case_id: UUID) -> None:
        self.number, self.case_id = number, case_id
