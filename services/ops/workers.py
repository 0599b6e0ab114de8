"""A rebuild's bulk replay split over worker processes (issue 24, ADR 29, ADR 40).

Each worker reads its share of every store and applies it, into the same staging tables,
with its own interpreter and its own PostgreSQL connection: one pipeline's Python is the
bottleneck of a replay, and a machine's other cores were idle.

The share is the case an event's ledger row belongs to (``rows.case_of``), hashed: every
event of a case — on intake's, dispatch's and tracking's streams alike — goes to one worker,
so each row and each stream's marks have one writer and a stream's versions stay in order.
A merge spans two cases but not two rows: ``Merged`` folds into the merged case's row and
``RepeatReportLinked`` into the other's, from each one's own stream, and no fold of the
ledger reads another case's row — so partitioning by row is partitioning by the case a
merge folds into. Events about no case (units, calendar years, the catalogue) go to worker 0.

Each worker reads only its share (ADR 40): the streams of a tip, a case and a follow-up are
named by their case's id, so the database picks a worker's streams of those by the same hash
(:data:`SQL_SHARE`, equal to :func:`share_of`) and only those rows are sent, decoded and
translated; the streams of other aggregates (a case's accountability procedure is named
by a hash of its case's id, units by their own) are few, read by every worker and kept by
``share`` after decoding. A translated event of a hashed stream that is about another
worker's case would be lost by this split: it fails the rebuild instead.

Workers are forked when the rebuild starts, before it opens anything (:class:`Workers`), and
report their progress over a queue; the parent sums it. A worker that fails makes the
rebuild fail (and its staging be dropped). SQLite has one writer at a time: there a rebuild
keeps one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queues
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from services.tracking.ledger import rows
from shared.contracts import Envelope
from shared.platform.messaging.outbox import Outbox
from shared.platform.settings import Settings

Progress = Callable[[str, int, int], None]
POLL = 0.2  # seconds between looks at the workers' reports


def worker_count(settings: Settings, asked: int | None) -> int:
    if settings.database_url is None:
        return 1
    return max(1, asked if asked is not None else os.cpu_count() or 1)


def share(envelope: Envelope, workers: int) -> int:
    """Which worker applies this envelope."""
    case = rows.case_of(envelope.event)
    return 0 if case is None else share_of(case, workers)


LOW_BITS = (1 << 48) - 1  # the last twelve hex digits of the id's text: what SQL_SHARE reads


def share_of(case_id: UUID, workers: int) -> int:
    return (case_id.int & LOW_BITS) % workers


# share_of in SQL, of a stream named by its case's id (a uuid or its text)
SQL_SHARE = "mod(('x' || right(originator_id::text, 12))::bit(48)::bigint, %s)"


def case_streams() -> dict[str, tuple[str, ...]]:
    """Per store, the topic prefixes of the aggregates whose id is their case's id."""
    from services.dispatch.domain import Case
    from services.intake.domain import Tip
    from services.tracking.followup.domain import FollowUp

    return {
        "intake": (f"{get_topic(Tip)}.",),
        "dispatch": (f"{get_topic(Case)}.",),
        "tracking": (f"{get_topic(FollowUp)}.",),
    }


def share_reader(
    outbox: Outbox, k: int, workers: int, head: int, hashed: tuple[str, ...], limit: int = 500
) -> Callable[[int], tuple[list[Envelope], int]]:
    """Pages of worker ``k``'s share of a PostgreSQL store up to ``head`` (``outbox.read``'s
    answer: envelopes, the last position looked at). Events the service never publishes are
    left in the database (ADR 41): their rows are neither sent nor decoded."""
    recorder = outbox.app.recorder
    where = f"(NOT (topic ^@ ANY(%s::text[])) OR {SQL_SHARE} = %s)"
    published = None if outbox.published is None else sorted(outbox.published)
    if published is not None:
        where += " AND split_part(topic, ':', 2) = ANY(%s::text[])"
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s "
        "AND {where} ORDER BY notification_id LIMIT %s"
    ).format(
        schema=Identifier(recorder.datastore.schema),  # type: ignore[attr-defined]
        table=Identifier(recorder.events_table_name),  # type: ignore[attr-defined]
        where=SQL(where),
    )

    def read(after: int) -> tuple[list[Envelope], int]:
        datastore = recorder.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            kept = () if published is None else (published,)
            cur.execute(
                statement, (after, head, list(hashed), workers, k, *kept, limit), prepare=True
            )
            found = cur.fetchall()
        envelopes = []
        for id_, originator_id, version, topic, state in found:
            notification = Notification(
                id=id_,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            envelope = outbox.envelope(notification)
            if envelope is None:
                continue
            if share(envelope, workers) == k:
                envelopes.append(envelope)
            elif topic.startswith(hashed):
                raise RuntimeError(
                    f"{envelope.message_id} is about another case than its stream's: "
                    "the rebuild's split by stream would lose it"
                )
        return envelopes, found[-1][0] if len(found) == limit else head

    return read


class Workers:
    """The worker processes of one rebuild, forked when it starts (ADR 40): a spawned worker
    imported every service afresh before its first page (15–40 s on this loaded machine,
    as long as a 100,000-event replay), while a forked one has the parent's modules. They
    are forked before the rebuild opens any pool, engine or connection, so a child holds
    none of the parent's in use: each waits for its orders (the stores' heads, once the
    staging exists), then opens its own. A child ends with ``os._exit`` (multiprocessing's
    way for forked processes): nothing inherited is closed or flushed from it."""

    def __init__(self, live: Settings, staged: Settings, workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self.orders: Any = context.Queue()
        self.reports: Any = context.Queue()
        self.processes = [
            context.Process(
                target=_work,
                args=(live, staged, k, workers, self.orders, self.reports),
                daemon=True,
            )
            for k in range(workers)
        ]
        for process in self.processes:
            process.start()

    async def replay(self, heads: dict[str, int], progress: Progress) -> dict[str, int]:
        """The bulk replay up to ``heads``; events projected per source."""
        for _ in self.processes:
            self.orders.put(heads)
        return await _watch(self.processes, self.reports, len(self.processes), heads, progress)

    def stop(self) -> None:
        """Whatever became of the replay: orders that were never sent end the waiting."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(10)


async def _watch(
    processes: Sequence[BaseProcess],
    reports: Any,
    workers: int,
    heads: dict[str, int],
    progress: Progress,
) -> dict[str, int]:
    reached: dict[tuple[int, str], int] = {}
    counts: dict[str, int] = dict.fromkeys(heads, 0)
    done = 0
    while done < workers:
        try:
            kind, k, source, value = await asyncio.to_thread(reports.get, True, POLL)
        except queues.Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                raise RuntimeError("a rebuild worker failed (see its log)") from None
            continue
        if kind == "failed":
            raise RuntimeError(f"rebuild worker {k} failed: {value}")
        if kind == "done":
            done += 1
            continue
        if kind == "count":
            counts[source] += value
            continue
        reached[(k, source)] = value
        slowest = min(reached.get((w, source), 0) for w in range(workers))
        progress(source, slowest, heads[source])
    return counts


def _work(
    live: Settings, staged: Settings, k: int, workers: int, orders: Any, reports: Any
) -> None:
    try:
        heads = orders.get()
        asyncio.run(_replay_share(live, staged, k, workers, heads, reports))
    except BaseException as e:
        reports.put(("failed", k, "", repr(e)))
        raise
    reports.put(("done", k, "", 0))


async def _replay_share(
    live: Settings, staged: Settings, k: int, workers: int, heads: dict[str, int], reports: Any
) -> None:
    from services.ops.rebuild import (
        PAGE,
        Statistics,
        collector_paused,
        open_sources,
        replay_source,
    )
    from services.tracking.ledger.replay import BulkLedger
    from shared.platform.readmodel import create_engine, sessionmaker

    live, staged = (s.model_copy(update={"db_pool_size": 1}) for s in (live, staged))
    engine = create_engine(staged, writer=True)  # one connection each: workers add up
    try:
        sessions = sessionmaker(engine)
        statistics = Statistics(sessions, share=workers)
        bulk = BulkLedger(sessions, flushed=statistics.wrote)
        hashed = case_streams()
        async with open_sources(live) as outboxes:
            with collector_paused():
                for outbox in outboxes:

                    def report(source: str, position: int, head: int) -> None:
                        reports.put(("reached", k, source, position))

                    head = heads[outbox.source]
                    read = share_reader(outbox, k, workers, head, hashed[outbox.source], PAGE)
                    counted = await replay_source(
                        outbox, bulk, report, after=0, head=head, read=read
                    )
                    reports.put(("count", k, outbox.source, counted))
                await bulk.finish()
    finally:
        await engine.dispose()
