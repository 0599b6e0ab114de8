"""The category catalogue as dispatch uses it — triage and the routing rules take a code or a
Chinese name (kept as its code) — and the copying of the office's changes (a mixin of
:class:`DispatchApplication`)."""

from __future__ import annotations

import time
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from services.dispatch.category_mirror import MIRROR_ID, CategoryMirror
from services.dispatch.errors import Invalid
from shared.contracts.catalogue import Catalogue, Change
from shared.contracts.intake import CategoryCatalogueChanged
from shared.platform.eventstore import ServiceApplication

FRESH_SECONDS = 5.0  # a value not known is always looked up afresh


class CategoryCommands(ServiceApplication):
    _category_state: tuple[float, Catalogue] | None = None

    def category_catalogue(self, *, fresh: bool = False) -> Catalogue:
        state = self._category_state
        if not fresh and state is not None and time.monotonic() - state[0] < FRESH_SECONDS:
            return state[1]
        mirror = self._category_mirror()
        changes = mirror.changes if mirror is not None else []
        folded = Catalogue.seeded(Change(**c) for c in changes)
        self._category_state = (time.monotonic(), folded)
        return folded

    def category_code(self, value: str | None, field: str = "category") -> str | None:
        """The code for a code or Chinese name of an active category, else :class:`Invalid`."""
        if value is None:
            return None
        code = self.category_catalogue().resolve(value)
        if code is None:
            code = self.category_catalogue(fresh=True).resolve(value)
        if code is None:
            near = self.category_catalogue().close_matches(value)
            hint = f";相近的类别:{'、'.join(near)}" if near else ""
            raise Invalid(field, f"问题类别“{value}”不在分类目录中{hint}")
        return code

    def copy_category_change(self, event: CategoryCatalogueChanged, actor: Any) -> CategoryMirror:
        """The aggregate to save with the message's tracking record (one save per change)."""
        fields = {
            "change": event.change,
            "code": event.code,
            "name": event.name,
            "parent": event.parent,
            "actor": actor,
        }
        mirror = self._category_mirror()
        if mirror is None:
            mirror = CategoryMirror(id=MIRROR_ID, **fields)  # type: ignore[call-arg]
        else:
            mirror.copy(**fields)
        self._category_state = None  # read afresh after the save
        return mirror

    def _category_mirror(self) -> CategoryMirror | None:
        try:
            found: CategoryMirror = self.repository.get(MIRROR_ID)
        except AggregateNotFoundError:
            return None
        return found
