"""The ledger's index of the people complained about (被反映人, issue 22; ADR 43).

The ledger's ``person`` filter finds the cases whose ``subject.person`` contains what the
office typed — a surname (``张``), a full name, part of one. The name sits in the ``subject``
JSON, which no index of either store can search for a part of a string, so every such query
read the whole ledger. ``case_persons`` holds, for each case naming a person, every distinct
part of the normalised name up to :data:`LONGEST` characters (``张某某``: 张, 某, 张某, 某某,
张某某), with the case's place in the ledger's order: a query looks its term up by equality
and reads the matching cases already in the ledger's order (``ix_case_persons_part``), so a
page stops after its rows and a capped count after its cap, at any size of the ledger. A
term longer than :data:`LONGEST` is looked up by its first :data:`LONGEST` characters and
checked against the whole normalised name kept beside each part.

Names and terms are compared normalised (:func:`normalised`: NFKC, case folded, trimmed), the
same on both stores. The ledger projection writes a case's parts in the transaction of its
row, whenever the name, the registration time or the number moved (:func:`key`); a rebuild's
bulk replay writes them with the rows; the migration that made the table fills it from the
ledger as it stands (:func:`refill`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from services.tracking.ledger.tables import case_persons, ledger

LONGEST = 4  # parts kept up to this length: 张, 张某, 欧阳某某 (Chinese names are 2–4)
COLUMNS = ("case_id", "part", "name", "registered_at", "number")
# a page of the cases matching a part, in the ledger's order (queries.ORDER)
ORDER = (
    case_persons.c.registered_at.desc().nulls_last(),
    case_persons.c.number.desc(),
    case_persons.c.case_id,
)

Key = tuple[str, Any, Any]


def normalised(text: str) -> str:
    """How names and terms are compared: compatibility forms folded (full-width letters and
    digits, CJK compatibility ideographs), case folded, outer spaces trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def parts(name: str) -> set[str]:
    """Every distinct part of ``name`` (normalised) up to :data:`LONGEST` characters."""
    return {name[i : i + n] for n in range(1, LONGEST + 1) for i in range(len(name) - n + 1)}


def key(row: Mapping[str, Any] | None) -> Key | None:
    """What a case's parts are made of (None: it names no person)."""
    if row is None:
        return None
    person = (row.get("subject") or {}).get("person")
    name = normalised(person) if isinstance(person, str) else ""
    if not name:
        return None
    return name, row.get("registered_at"), row.get("number")


def entries(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The case's rows in ``case_persons``, in part order."""
    found = key(row)
    if found is None:
        return []
    name, registered_at, number = found
    return [
        {
            "case_id": row["case_id"],
            "part": part,
            "name": name,
            "registered_at": registered_at,
            "number": number,
        }
        for part in sorted(parts(name))
    ]


def moved(
    changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
) -> tuple[list[Any], list[dict[str, Any]]]:
    """For rows moved from ``before`` (None: new) to ``after``: the cases whose parts are to be
    deleted, and the parts to insert (only where the name, time or number moved)."""
    deleted: list[Any] = []
    inserted: list[dict[str, Any]] = []
    for before, after in changes:
        old = key(before)
        if old == key(after):
            continue
        if old is not None:
            deleted.append(after["case_id"])
        inserted += entries(after)
    return deleted, inserted


def matching(term: str) -> ColumnElement[bool]:
    """The parts of the cases whose person contains ``term`` (to join with the ledger)."""
    wanted = normalised(term)
    if len(wanted) <= LONGEST:
        return case_persons.c.part == wanted
    return sa.and_(
        case_persons.c.part == wanted[:LONGEST],
        case_persons.c.name.contains(wanted, autoescape=True),
    )


def refill(conn: Connection, chunk: int = 20_000) -> int:
    """The table from scratch, from the ledger as it stands (a migration, a generated
    ledger): emptied and filled again, a chunk of cases at a time in key order (no cursor
    held open across the writes). Returns the rows written."""
    conn.execute(case_persons.delete())
    read = (
        sa.select(ledger.c.case_id, ledger.c.subject, ledger.c.registered_at, ledger.c.number)
        .where(ledger.c.subject.is_not(None))
        .order_by(ledger.c.case_id)
        .limit(chunk)
    )
    written, after = 0, None
    while True:
        page = read if after is None else read.where(ledger.c.case_id > after)
        found = conn.execute(page).mappings().all()
        if not found:
            return written
        made = [e for row in found for e in entries(dict(row))]
        if made:
            conn.execute(case_persons.insert(), made)
            written += len(made)
        after = found[-1]["case_id"]
