"""Long-lived aggregates load from a snapshot and the events after it (issue 24, ADR 29), on
SQLite and PostgreSQL: a unit changed for the twentieth time is snapshotted by the
application itself, and every other configured kind round-trips through a snapshot."""

from __future__ import annotations

import asyncio
from typing import Any

from services.dispatch.application import DispatchApplication
from services.dispatch.category_mirror import MIRROR_ID, CategoryMirror
from services.dispatch.directory import RoutingTable, Unit, UnitDirectory
from services.intake.catalogue import CATALOGUE_ID, CategoryCatalogue
from shared.platform.eventstore import application_env
from shared.platform.readmodel import ensure_schema
from shared.platform.settings import Settings

ADMIN = {"id": "admin:甲", "name": "甲", "role": "admin", "unit": None}


def unit_fields(name: str) -> dict[str, Any]:
    return {"name": name, "kind": "department", "parent": None, "liaisons": [], "active": True}


def dispatch_app(settings: Settings) -> DispatchApplication:
    asyncio.run(ensure_schema(settings))
    return DispatchApplication(application_env(settings, "dispatch"))


def test_a_unit_changed_often_is_loaded_from_its_snapshot(settings: Settings) -> None:
    app = dispatch_app(settings)
    try:
        registered = {"code": "S-1", **unit_fields("快照单位")}
        del registered["active"]
        app.register_unit(registered, ADMIN)
        for n in range(1, 20):  # versions 2..20: the twentieth takes a snapshot
            app.update_unit("S-1", unit_fields(f"快照单位{n}"), ADMIN)
        unit_id = Unit.create_id("S-1")
        assert [s.originator_version for s in app.snapshots.get(unit_id)] == [20]  # type: ignore[union-attr]
        app.update_unit("S-1", unit_fields("快照之后"), ADMIN)
        loaded = app.repository.get(unit_id)
        assert (loaded.version, loaded.name) == (21, "快照之后")
    finally:
        app.close()


def test_every_snapshotted_kind_round_trips(settings: Settings) -> None:
    app = dispatch_app(settings)
    change = {"change": "added", "code": "X1", "name": "新类别", "parent": None}
    rules = [{"id": "r1", "lead_unit": "S-1", "match": {"categories": ["乱收费"]}}]
    try:
        directory = UnitDirectory()
        directory.add("S-1")
        aggregates = [
            directory,
            RoutingTable(rules=rules, actor=ADMIN),
            CategoryMirror(id=MIRROR_ID, **change, actor=ADMIN),
            CategoryCatalogue(id=CATALOGUE_ID, **change, seed_version=1, actor=ADMIN),  # intake's
        ]
        for aggregate in aggregates:
            app.save(aggregate)
            app.take_snapshot(aggregate.id)
            snapshot = next(iter(app.snapshots.get(aggregate.id)))  # type: ignore[union-attr]
            restored = snapshot.mutate(None)  # the stored snapshot, decoded
            assert vars(restored) == vars(app.repository.get(aggregate.id))
            assert restored.version == aggregate.version
    finally:
        app.close()
