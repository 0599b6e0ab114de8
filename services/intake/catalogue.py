"""问题分类 as intake keeps it: one aggregate holding the office's changes to the catalogue.

The seed is static data shipped with the code (``shared.contracts.catalogue``); this aggregate
exists only once the office changes something, and each change is one event in one save
(ADR 25). Pure domain: the application checks a change against the folded catalogue first.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

CATALOGUE_ID: UUID = uuid5(NAMESPACE_URL, "https://taizhang.example/intake/category-catalogue")


class CategoryCatalogue(Aggregate):
    """The office's changes to the category catalogue, in the order they were made."""

    id: UUID

    @event("Started")
    def __init__(
        self,
        *,
        change: str,
        code: str,
        name: str | None,
        parent: str | None,
        seed_version: int,
        actor: dict[str, Any],
    ) -> None:
        self.changes: list[dict[str, Any]] = []
        self._record(change, code, name, parent)

    @event("Changed")
    def change(
        self,
        *,
        change: str,
        code: str,
        name: str | None,
        parent: str | None,
        seed_version: int,
        actor: dict[str, Any],
    ) -> None:
        self._record(change, code, name, parent)

    def _record(self, change: str, code: str, name: str | None, parent: str | None) -> None:
        self.changes.append({"change": change, "code": code, "name": name, "parent": parent})
