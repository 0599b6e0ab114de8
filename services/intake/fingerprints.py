"""The one-off exception to "stored events are never edited" (ADR 18).

Release 0.1 stored each request's *unkeyed* SHA-256 in ``Tip.Registered`` and
``IdempotencyKey.Claimed`` (``fingerprint``). The request holds the reporter's name and phone, so
that digest lets anyone with a copy of the store confirm or guess who reported what, and it
outlives crypto-shredding. On start, before it serves, intake replaces each such value, in
place, by its keyed form ``fp1:<kid>:HMAC(key, old digest)`` — exactly what the same request
makes now, so replays and reused-key refusals keep working. Nothing else in the event changes;
no event is added, removed or renumbered. Idempotent: keyed values are left alone.

An ``UPDATE`` leaves the old bytes behind (SQLite's free pages and WAL, PostgreSQL's dead tuple),
where a copy of the database files still shows them; so a start that rewrote anything then
purges them (:func:`purge_old_bytes`), once — a later start finds nothing to rewrite.
"""

from __future__ import annotations

from typing import Any

import structlog
from eventsourcing.persistence import Transcoder

from shared.platform.eventstore import ServiceApplication
from shared.platform.protection import FINGERPRINT_SCHEME, Fingerprinter

log = structlog.get_logger(__name__)

FIELD = b'"fingerprint":"'
KEYED = FIELD + FINGERPRINT_SCHEME.encode() + b":"


def rewrite_unkeyed_fingerprints(app: ServiceApplication, fingerprints: Fingerprinter) -> int:
    """Key every stored unkeyed fingerprint of ``app``'s events; returns how many changed."""
    recorder: Any = app.recorder
    transcoder = app.mapper.transcoder
    table = recorder.events_table_name
    if app.env.get("PERSISTENCE_MODULE", "").endswith("postgres"):
        from psycopg.sql import SQL, Identifier

        name = SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(table))
        select: Any = SQL(
            "SELECT originator_id, originator_version, state FROM {} "
            "WHERE position(%s::bytea in state) > 0 AND position(%s::bytea in state) = 0 "
            "FOR UPDATE"
        ).format(name)
        update: Any = SQL(
            "UPDATE {} SET state = %s WHERE originator_id = %s AND originator_version = %s"
        ).format(name)
    else:
        select = (
            f"SELECT originator_id, originator_version, state FROM {table} "  # noqa: S608
            "WHERE instr(state, ?) > 0 AND instr(state, ?) = 0"
        )
        update = (
            f"UPDATE {table} SET state = ? "  # noqa: S608
            "WHERE originator_id = ? AND originator_version = ?"
        )
    changed = 0
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(select, (FIELD, KEYED))
        rows = cursor.fetchall()
        for row in rows:
            originator_id, version, state = (
                (row["originator_id"], row["originator_version"], row["state"])
                if isinstance(row, dict)
                else tuple(row)
            )
            rewritten = _keyed(bytes(state), transcoder, fingerprints)
            if rewritten is not None:
                cursor.execute(update, (rewritten, originator_id, version))
                changed += 1
    if changed:
        log.info("unkeyed_fingerprints_rewritten", count=changed)
        purge_old_bytes(app)
    return changed


def purge_old_bytes(app: ServiceApplication) -> None:
    """Rewrite the store's files so the values an ``UPDATE`` replaced are gone from them.

    SQLite: ``VACUUM`` rebuilds the file without its free pages, ``wal_checkpoint(TRUNCATE)``
    copies the WAL back and empties it. PostgreSQL: ``VACUUM FULL`` writes the events table
    afresh (no dead tuples) under an ACCESS EXCLUSIVE lock: intake runs it before it serves,
    on the one start that rewrote fingerprints; it lasts as long as copying the table.
    """
    recorder: Any = app.recorder
    table = recorder.events_table_name
    if app.env.get("PERSISTENCE_MODULE", "").endswith("postgres"):
        from psycopg.sql import SQL, Identifier

        name = SQL("{}.{}").format(Identifier(recorder.datastore.schema), Identifier(table))
        with recorder.datastore.get_connection() as conn:  # autocommit: VACUUM needs it
            conn.execute(SQL("VACUUM FULL {}").format(name))
    else:
        with recorder.datastore.get_connection(commit=True) as conn:  # autocommit too
            cursor = conn.cursor()
            cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    log.info("rewritten_fingerprints_purged", table=table)


def _keyed(state: bytes, transcoder: Transcoder, fingerprints: Fingerprinter) -> bytes | None:
    decoded = transcoder.decode(state)
    old = decoded.get("fingerprint") if isinstance(decoded, dict) else None
    if not isinstance(old, str) or Fingerprinter.is_keyed(old):
        return None
    decoded["fingerprint"] = fingerprints.sign(old)
    return transcoder.encode(decoded)
