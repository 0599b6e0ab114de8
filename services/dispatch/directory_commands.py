"""The units directory and the routing rules: commands and queries of
:class:`DispatchApplication` (a mixin), and the seed a fresh embedded install starts with."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.dispatch.categories import CategoryCommands
from services.dispatch.directory import (
    RoutingTable,
    Unit,
    UnitDirectory,
    responsible,
    without_contacts,
)
from services.dispatch.errors import AlreadyExists, Busy, Invalid, NoSuchUnit
from services.dispatch.routing import Rule, check_rules


def _named_only(fields: dict[str, Any]) -> dict[str, Any]:
    return fields | {
        "liaisons": without_contacts(fields.get("liaisons") or []),
        "responsible_person": responsible(fields.get("responsible_person")),
    }


SEED = Path(__file__).resolve().parent / "seed"
MAX_ATTEMPTS = 5
T = TypeVar("T")


class DirectoryCommands(CategoryCommands):
    # --- units -------------------------------------------------------------------------------

    def units(self) -> list[Unit]:
        directory = self._find(UnitDirectory.create_id())
        codes = directory.codes if directory else []
        return [self.unit(code) for code in codes]

    def unit(self, code: str) -> Unit:
        unit = self._find(Unit.create_id(code))
        if not isinstance(unit, Unit):
            raise NoSuchUnit(code)
        return unit

    def register_unit(self, fields: dict[str, Any], actor: dict[str, Any]) -> Unit:
        """``fields``: code, name, kind, parent, liaisons, responsible_person (optional)."""

        def attempt() -> Unit:
            if self._find(Unit.create_id(fields["code"])) is not None:
                raise AlreadyExists(f"单位代码 {fields['code']} 已存在 (unit code already exists)")
            self._check_parent(fields["code"], fields["parent"])
            directory = self._find(UnitDirectory.create_id()) or UnitDirectory()
            directory.add(fields["code"])
            unit = Unit(**_named_only(fields), actor=actor)
            self.save(unit, directory)
            return unit

        return self._retrying(attempt)

    def update_unit(self, code: str, fields: dict[str, Any], actor: dict[str, Any]) -> Unit:
        """``fields``: name, kind, parent, liaisons, active, responsible_person (optional)."""

        def attempt() -> Unit:
            unit = self.unit(code)
            self._check_parent(code, fields["parent"])
            if not fields["active"]:
                self._check_unused(code)
            unit.update(**_named_only(fields), actor=actor)
            self.save(unit)
            return unit

        return self._retrying(attempt)

    def _check_parent(self, code: str, parent: str | None) -> None:
        seen = {code}
        while parent is not None:
            if parent in seen:
                raise Invalid("parent", f"上级单位 {parent} 构成循环 (parent makes a cycle)")
            found = self._find(Unit.create_id(parent))
            if not isinstance(found, Unit):
                raise Invalid("parent", f"上级单位 {parent} 不存在 (unknown parent unit)")
            seen.add(parent)
            parent = found.parent

    def _check_unused(self, code: str) -> None:
        for rule in self.routing_rules():
            if rule["lead_unit"] == code:
                raise Invalid(
                    "active",
                    f"单位 {code} 是路由规则 {rule['id']} 的牵头单位,请先修改规则再停用 "
                    f"(the unit leads rule {rule['id']}; change the rules first)",
                )

    # --- routing rules -------------------------------------------------------------------------

    def routing_rules(self) -> list[Rule]:
        table = self._find(RoutingTable.create_id())
        return [dict(r) for r in table.rules] if isinstance(table, RoutingTable) else []

    def replace_rules(self, rules: list[Rule], actor: dict[str, Any]) -> list[Rule]:
        def attempt() -> list[Rule]:
            units = self.units()
            for i, rule in enumerate(rules):  # Chinese names are kept as their codes
                match = rule.get("match")
                if isinstance(match, dict) and match.get("categories"):
                    match["categories"] = [
                        self.category_code(v, f"rules[{i}].match.categories")
                        for v in match["categories"]
                    ]
            check_rules(rules, {u.code for u in units if u.active}, {u.code for u in units})
            table = self._find(RoutingTable.create_id())
            if isinstance(table, RoutingTable):
                table.replace(rules=rules, actor=actor)
            else:
                table = RoutingTable(rules=rules, actor=actor)
            self.save(table)
            return self.routing_rules()

        return self._retrying(attempt)

    # --- seed ----------------------------------------------------------------------------------

    def seed(self, actor: dict[str, Any]) -> None:
        """The demo district's units and rules, unless the directory has been started."""
        if self._find(UnitDirectory.create_id()) is None:
            units = json.loads((SEED / "units.json").read_text(encoding="utf-8"))
            directory = UnitDirectory()
            for unit in units:
                directory.add(unit["code"])
            # (IntegrityError: seeded by a process starting at the same moment)
            with contextlib.suppress(IntegrityError):
                self.save(directory, *(Unit(**_named_only(u), actor=actor) for u in units))
        if self._find(RoutingTable.create_id()) is None:
            rules = json.loads((SEED / "routing_rules.json").read_text(encoding="utf-8"))
            with contextlib.suppress(IntegrityError):
                self.save(RoutingTable(rules=rules, actor=actor))

    # --- helpers -------------------------------------------------------------------------------

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _retrying(self, attempt: Callable[[], T]) -> T:
        for _ in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except IntegrityError:
                continue  # changed by someone else meanwhile: check again on the new state
        raise Busy("目录正被同时修改,请重试 (the directory is being changed; retry)")
