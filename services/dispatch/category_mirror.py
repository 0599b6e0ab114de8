"""Dispatch's copy of the office's changes to the category catalogue (问题分类).

The catalogue's seed is static data shipped with the code; only the office's changes, as
intake publishes them, are copied here — one event per change, saved with the message's
tracking record (ADR 25). Nothing is copied at start, so case opening never waits on it.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

MIRROR_ID: UUID = uuid5(NAMESPACE_URL, "https://taizhang.example/dispatch/category-catalogue")


class CategoryMirror(Aggregate):
    """The office's catalogue changes as dispatch received them, in order."""

    id: UUID

    @event("Started")
    def __init__(
        self, *, change: str, code: str, name: str | None, parent: str | None, actor: Any
    ) -> None:
        self.changes: list[dict[str, Any]] = []
        self._copy(change, code, name, parent)

    @event("Copied")
    def copy(
        self, *, change: str, code: str, name: str | None, parent: str | None, actor: Any
    ) -> None:
        self._copy(change, code, name, parent)

    def _copy(self, change: str, code: str, name: str | None, parent: str | None) -> None:
        self.changes.append({"change": change, "code": code, "name": name, "parent": parent})
