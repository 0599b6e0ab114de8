"""The office's use cases on the category catalogue, and the check every tip's category
passes (a code, or a Chinese name as an alias of its code) — mixed into intake's Application."""

from __future__ import annotations

import threading
import time
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from services.intake.catalogue import CATALOGUE_ID, CategoryCatalogue
from shared.contracts.catalogue import SEED_VERSION, Catalogue, CatalogueError, Change

# How long a process trusts its folded catalogue before reading the office's changes again
# (a value it does not know is always looked up afresh, so a new category works at once).
FRESH_SECONDS = 5.0


class UnknownCategory(Exception):
    """A category that is neither a code nor a Chinese name of an active category."""

    def __init__(self, value: str, matches: list[str], field: str = "category") -> None:
        hint = f";相近的类别:{'、'.join(matches)}" if matches else ""
        super().__init__(f"问题类别“{value}”不在分类目录中{hint}")
        self.value, self.matches = value, matches
        self.details = {"field": field, "matches": matches}


class CataloguingMixin:
    """Needs ``repository`` and ``save`` (an eventsourcing Application)."""

    repository: Any
    save: Any
    _catalogue_lock = threading.Lock()
    _catalogue_state: tuple[float, Catalogue] | None = None

    def catalogue(self, *, fresh: bool = False) -> Catalogue:
        """The seed with the office's changes folded over it."""
        state = self._catalogue_state
        if not fresh and state is not None and time.monotonic() - state[0] < FRESH_SECONDS:
            return state[1]
        changes = self._catalogue_changes()
        folded = Catalogue.seeded(Change(**c) for c in changes)
        self._catalogue_state = (time.monotonic(), folded)
        return folded

    def resolve_category(self, value: str | None) -> str | None:
        """The code a tip is filed under, or :class:`UnknownCategory` with close matches."""
        if value is None:
            return None
        code = self.catalogue().resolve(value)
        if code is None:
            code = self.catalogue(fresh=True).resolve(value)
        if code is None:
            catalogue = self.catalogue()
            matches = catalogue.close_matches(value) or [
                f"{c.name} ({c.code})" for c in catalogue.children(None) if c.active
            ]
            raise UnknownCategory(value, matches)
        return code

    def change_catalogue(self, change: Change, actor: dict[str, Any]) -> dict[str, object]:
        """One office change: checked against the catalogue as it stands, then one event."""
        with self._catalogue_lock:
            self.catalogue(fresh=True).check(change)
            fields: dict[str, Any] = {
                "change": change.change,
                "code": change.code,
                "name": change.name,
                "parent": change.parent,
                "seed_version": SEED_VERSION,
                "actor": actor,
            }
            try:
                aggregate: CategoryCatalogue = self.repository.get(CATALOGUE_ID)
                aggregate.change(**fields)
            except AggregateNotFoundError:
                # the library takes id= for any aggregate
                aggregate = CategoryCatalogue(id=CATALOGUE_ID, **fields)  # type: ignore[call-arg]
            self.save(aggregate)
            folded = self.catalogue(fresh=True)
        return next(e for e in folded.listing() if e["code"] == change.code)

    def _catalogue_changes(self) -> list[dict[str, Any]]:
        try:
            aggregate: CategoryCatalogue = self.repository.get(CATALOGUE_ID)
        except AggregateNotFoundError:
            return []
        return list(aggregate.changes)


__all__ = ["CatalogueError", "CataloguingMixin", "UnknownCategory"]
