"""Copies of the template cases' events in the three stores, for a rebuild of any size.

Every event of a case aggregate (intake's ``Tip``, dispatch's ``Case`` and ``CaseNumber``,
tracking's ``FollowUp`` and ``AccountabilityProcedure``) is copied once per clone, in the
stores' own order, with every aggregate id of the templates replaced by the clone's own (in
the events' ids and inside their state: a merge names the case it folds into, a procedure its
case) and every case number by a new one. Singletons (the number sequence, units, the
directory) are not copied: a real store holds them once. Rows go in with ``COPY``.

Resumable: clones already in a store (counted by its ``Tip`` events) are not made again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

CASE_AGGREGATES = frozenset({"Tip", "Case", "CaseNumber", "FollowUp", "AccountabilityProcedure"})
STORES = ("intake", "dispatch", "tracking")
NUMBER = re.compile(rb'"(\d{4}-\d{6})"')


@dataclass(frozen=True)
class Template:
    store: str
    originator_id: uuid.UUID
    version: int
    topic: str
    state: bytes


def aggregate(topic: str) -> str:
    return topic.split(":", 1)[1].split(".", 1)[0]


def templates(conn: psycopg.Connection, schema: str) -> list[Template]:
    """The case aggregates' events of every store, each store in its order."""
    found = []
    for store in STORES:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state "
            f'FROM "{schema}".{store}_events ORDER BY notification_id'
        ).fetchall()
        found += [Template(store, *row) for row in rows if aggregate(row[2]) in CASE_AGGREGATES]
    return found


class Cloner:
    """The substitutions of one template set: ids (dashed and as the transcoder's hex) and
    case numbers, each mapped per clone."""

    def __init__(self, found: list[Template]) -> None:
        self.found = found
        ids = {t.originator_id for t in found}
        numbers = sorted({m for t in found for m in NUMBER.findall(t.state)})
        self.ids = sorted(ids)
        self.numbers = {n: i for i, n in enumerate(numbers)}
        hexes = b"|".join(i.hex.encode() for i in self.ids)
        dashed = b"|".join(str(i).encode() for i in self.ids)
        self.pattern = re.compile(rb"(" + hexes + rb"|" + dashed + rb")")

    def clone_id(self, old: uuid.UUID, g: int) -> uuid.UUID:
        return uuid.uuid5(old, str(g))

    def number(self, old: bytes, g: int) -> bytes:
        return f"B{g:08d}-{self.numbers[old]:02d}".encode()

    def state(self, state: bytes, g: int) -> bytes:
        def swap_id(m: re.Match[bytes]) -> bytes:
            text = m.group(1)
            new = self.clone_id(uuid.UUID(text.decode()), g)
            return (new.hex if len(text) == 32 else str(new)).encode()

        state = self.pattern.sub(swap_id, state)
        return NUMBER.sub(lambda m: b'"' + self.number(m.group(1), g) + b'"', state)

    def rows(self, store: str, g: int) -> list[tuple[uuid.UUID, int, str, bytes]]:
        return [
            (self.clone_id(t.originator_id, g), t.version, t.topic, self.state(t.state, g))
            for t in self.found
            if t.store == store
        ]

    @property
    def events_per_clone(self) -> int:
        return len(self.found)

    @property
    def cases_per_clone(self) -> int:
        return sum(1 for t in self.found if aggregate(t.topic) == "Tip")


def clone(
    pg_url: str, schema: str, clones: int, advance: Callable[[int], None] | None = None
) -> Cloner:
    """``clones`` copies of the template cases in the three stores (fewer if some are there);
    ``advance`` is told how many clones are in."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        cloner = Cloner(templates(conn, schema))
        tips = conn.execute(
            f"SELECT count(*) FROM \"{schema}\".intake_events WHERE topic LIKE '%%:Tip.Registered'"
        ).fetchone()
        done = int(tips[0]) // max(cloner.cases_per_clone, 1) - 1 if tips else 0
        step = 200
        for first in range(done + 1, clones + 1, step):
            last = min(clones, first + step - 1)
            with conn.transaction():  # a chunk of clones in all three stores, or none
                for store in STORES:
                    _copy(conn, schema, store, cloner, range(first, last + 1))
            if advance is not None:
                advance(last)
        for store in STORES:
            conn.execute(f'ANALYZE "{schema}".{store}_events')
    return cloner


def _copy(conn: psycopg.Connection, schema: str, store: str, cloner: Cloner, clones: range) -> None:
    columns = "originator_id, originator_version, topic, state"
    with conn.cursor().copy(f'COPY "{schema}".{store}_events ({columns}) FROM STDIN') as copy:
        for g in clones:
            for row in cloner.rows(store, g):
                copy.write_row(row)
