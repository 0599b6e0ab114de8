"""A rebuild's bulk replay of the ledger: events folded in memory, rows written once a chunk.

The live projection (:mod:`services.tracking.ledger.projection`) applies each batch in a
transaction of its own: it reads and locks the batch's marks and ledger rows, folds, and
writes the rows, units, counters and marks back — right for a consumer that shares its tables
with replicas, but a rebuild's replay is a bulk load into staging tables nobody else writes
(ADR 29; each worker its own share of the cases). Here (ADR 40) the marks and the folded
rows stay in memory from page to page and are written once per chunk of cases: the rows,
their ``case_units`` and marks with ``COPY``, the counters' change in one statement; the
audit rows with ``COPY`` every 10,000. The rows are folded by the live projection's own
folds (:func:`rows.fold_into`, in place, the derived columns once at the write) and written
with the same columns, so a rebuilt ledger equals the live one; events about no case (units,
calendar years, the catalogue, units' procedures) are few and go through the live
projection's own :func:`projection.project_batch` at each flush, in their order.

A chunk's rows are dropped from memory after its flush; an event for a case written by an
earlier chunk reads that row (and its stream's mark) back from staging first, as the live
projection would. Before the first flush nothing is in staging to read.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.tracking.ledger import persons, rows, tallies
from services.tracking.ledger.projection import (
    HISTORY_COLUMNS,
    LEDGER_COLUMNS,
    NAME,
    case_unit_entries,
    history_entry,
    history_record,
    project_batch,
)
from services.tracking.ledger.tables import case_history, case_persons, case_units, ledger
from shared.contracts import Envelope
from shared.platform.bulk import copy_records, insert_rows
from shared.platform.projection import StreamKey, advance_to, projection_streams

CHUNK_ROWS = 20_000  # cases held in memory before their rows are written (~10 kB each)
HISTORY_ROWS = 10_000  # audit rows held before they are written (they never change)
Flushed = Callable[[int], Awaitable[None]]  # events written (the planner's statistics)


class BulkLedger:
    """Feed it each source's envelopes in store order (:meth:`replay`, a page at a time),
    then :meth:`finish`. ``flushed`` is told how many events each write covered."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        chunk: int | None = None,
        flushed: Flushed | None = None,
    ) -> None:
        self.sessions = sessions
        self.chunk = CHUNK_ROWS if chunk is None else chunk
        self.flushed = flushed
        self.rows: dict[UUID, rows.Row] = {}  # folded this chunk
        self.before: dict[UUID, rows.Row] = {}  # as an earlier chunk wrote them
        self.marks: dict[StreamKey, int] = {}  # the version each stream reached
        self.marks_before: set[StreamKey] = set()  # streams an earlier chunk marked
        # audit rows: COPY records on PostgreSQL, history_entry's dicts on SQLite
        self.copying = sessions.kw["bind"].dialect.name == "postgresql"
        self.history: list[Any] = []
        self.others: list[Envelope] = []  # about no case, in order
        self.reached: dict[str, int] = {}  # position per source
        self.events = 0  # applied since the last flush
        self.wrote_any = False

    async def replay(self, envelopes: Sequence[Envelope]) -> None:
        """One page of one source, in order. Duplicates are skipped; an envelope ahead of its
        predecessor cannot come from a store read in order, so it is an error."""
        if not envelopes:
            return
        if self.wrote_any:
            await self._read_back(envelopes)
        marks, folded = self.marks, self.rows
        audit = history_record if self.copying else history_entry
        for envelope in envelopes:
            key = (envelope.source, envelope.stream_id)
            current = marks.get(key, 0)
            if envelope.stream_version <= current:
                continue
            if envelope.stream_version > current + 1:
                raise RuntimeError(f"{envelope.message_id} arrived before its predecessor")
            marks[key] = envelope.stream_version
            case_id = rows.case_of(envelope.event)
            if case_id is None:
                self.others.append(envelope)  # its audit row too, by project_batch
                continue
            self.history.append(audit(envelope))
            row = folded.get(case_id)
            if row is None:
                row = folded[case_id] = rows.new_row(case_id)
            rows.fold_into(row, envelope)  # derived columns once, at the flush
            self.events += 1
        last = envelopes[-1]
        self.reached[last.source] = max(self.reached.get(last.source, 0), last.position)
        if len(self.history) >= HISTORY_ROWS:
            await self._write_history()
        if len(self.rows) >= self.chunk:
            await self.flush()

    async def finish(self) -> None:
        """The last chunk; its statistics are the caller's (the staging's completion
        analyzes every table once the workers are done)."""
        await self.flush(last=True)

    async def flush(self, *, last: bool = False) -> None:
        """This chunk's rows, units, counters, marks and positions in one transaction."""
        async with self.sessions() as session, session.begin():
            await self._write_history(session)
            if self.others:
                await project_batch(session, self.others)
            await self._write_rows(session)
            await self._write_marks(session)
            for source, position in sorted(self.reached.items()):
                await advance_to(session, NAME, source, position)
        events = self.events + len(self.others)
        self.rows, self.before, self.others, self.events = {}, {}, [], 0
        self.marks, self.marks_before = {}, set()
        self.wrote_any = True
        if not gc.isenabled():  # a rebuild pauses the collector (ADR 41): a chunk's cycles
            gc.collect()
        if self.flushed is not None and events and not last:  # for the pages' read-backs
            await self.flushed(events)

    async def _write_history(self, session: AsyncSession | None = None) -> None:
        if not self.history:
            return
        entries, self.history = self.history, []
        if session is not None:
            await self._insert_history(session, entries)
            return
        async with self.sessions() as own, own.begin():
            await self._insert_history(own, entries)

    async def _insert_history(self, session: AsyncSession, entries: list[Any]) -> None:
        if self.copying:
            await copy_records(session, case_history, HISTORY_COLUMNS, entries)
        else:
            await insert_rows(session, case_history, entries)

    async def _write_rows(self, session: AsyncSession) -> None:
        if not self.rows:
            return
        rewritten = list(self.before)
        if rewritten:  # written by an earlier chunk: replaced whole, with their units
            await session.execute(ledger.delete().where(ledger.c.case_id.in_(rewritten)))
            await session.execute(case_units.delete().where(case_units.c.case_id.in_(rewritten)))
            await session.execute(
                case_persons.delete().where(case_persons.c.case_id.in_(rewritten))
            )
        ordered = [self.rows[c] for c in sorted(self.rows)]
        for row in ordered:
            rows.derive(row)
        await insert_rows(session, ledger, [{c: r.get(c) for c in LEDGER_COLUMNS} for r in ordered])
        await insert_rows(session, case_units, [u for r in ordered for u in case_unit_entries(r)])
        await insert_rows(session, case_persons, [p for r in ordered for p in persons.entries(r)])
        moved = [(self.before.get(r["case_id"]), r) for r in ordered]
        await tallies.add(session, tallies.delta(moved))

    async def _write_marks(self, session: AsyncSession) -> None:
        if self.marks_before:
            for source in sorted({s for s, _ in self.marks_before}):
                ids = sorted(i for s, i in self.marks_before if s == source)
                await session.execute(
                    projection_streams.delete().where(
                        projection_streams.c.consumer == NAME,
                        projection_streams.c.source == source,
                        projection_streams.c.stream_id.in_(ids),
                    )
                )
        marks = [
            {"consumer": NAME, "source": s, "stream_id": i, "version": v}
            for (s, i), v in sorted(self.marks.items())
        ]
        await insert_rows(session, projection_streams, marks)

    async def _read_back(self, envelopes: Sequence[Envelope]) -> None:
        """The rows and marks an earlier chunk wrote of this page's cases and streams."""
        cases = sorted(
            {c for e in envelopes if (c := rows.case_of(e.event)) is not None} - self.rows.keys()
        )
        streams = sorted({(e.source, e.stream_id) for e in envelopes} - self.marks.keys())
        async with self.sessions() as session:
            if cases:
                found = await session.execute(sa.select(ledger).where(ledger.c.case_id.in_(cases)))
                for r in found:
                    row = dict(r._mapping)
                    self.before[row["case_id"]] = row
                    self.rows[row["case_id"]] = dict(row)  # folded in place from here
            for source in sorted({s for s, _ in streams}):
                ids = [i for s, i in streams if s == source]
                found = await session.execute(
                    sa.select(projection_streams.c.stream_id, projection_streams.c.version).where(
                        projection_streams.c.consumer == NAME,
                        projection_streams.c.source == source,
                        projection_streams.c.stream_id.in_(ids),
                    )
                )
                for stream_id, version in found:
                    self.marks[(source, stream_id)] = version
                    self.marks_before.add((source, stream_id))
