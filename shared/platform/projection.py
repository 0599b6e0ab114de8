"""Read models fed by integration events, applied once and in order per aggregate.

Replicas of a consumer receive a stream's messages in parallel and sometimes out of order.
Each read model therefore remembers, per producing aggregate, the last version it applied:
an older or equal version is a duplicate (ack, change nothing); the next version is applied
in the same transaction that advances the mark; a later one waits (negative ack) until its
predecessor has been applied. The row lock on the mark serializes replicas per aggregate.

A live consumer applies a fetched batch in one transaction (:meth:`SqlProjection.handle_batch`):
the marks of all its aggregates are read (and locked) with one query, the guard is decided in
memory, and a projection that can write a set of envelopes at once (``write_batch``) does so
with a few bulk statements — a handful of round trips per batch instead of several per event,
which is what kept the ledger behind a steady intake and its rebuild slow (ADR 12, 14).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import Contract, Envelope
from shared.platform.messaging import Outcome, handle_one
from shared.platform.messaging.policy import NotYet

log = structlog.get_logger(__name__)
metadata = sa.MetaData()

projection_streams = sa.Table(
    "projection_streams",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("stream_id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

projection_positions = sa.Table(
    "projection_positions",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Writes the effects of envelopes already claimed, in their order, in the caller's transaction.
BatchWriter = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]
StreamKey = tuple[str, UUID]

_MARK_KEY = (
    (projection_streams.c.consumer == sa.bindparam("b_consumer"))
    & (projection_streams.c.source == sa.bindparam("b_source"))
    & (projection_streams.c.stream_id == sa.bindparam("b_stream_id"))
)
UPDATE_MARK = projection_streams.update().where(_MARK_KEY).values(version=sa.bindparam("b_version"))
INSERT_MARK = projection_streams.insert()


async def claim(session: AsyncSession, consumer: str, envelope: Envelope) -> Outcome | None:
    """None: apply it now (the mark has been advanced in this transaction)."""
    key = (
        (projection_streams.c.consumer == consumer)
        & (projection_streams.c.source == envelope.source)
        & (projection_streams.c.stream_id == envelope.stream_id)
    )
    current = (
        await session.execute(sa.select(projection_streams.c.version).where(key).with_for_update())
    ).scalar_one_or_none() or 0
    if envelope.stream_version <= current:
        return Outcome.DUPLICATE
    if envelope.stream_version > current + 1:
        return Outcome.RETRY_LATER
    if current == 0:
        await session.execute(
            projection_streams.insert().values(
                consumer=consumer,
                source=envelope.source,
                stream_id=envelope.stream_id,
                version=envelope.stream_version,
            )
        )
    else:
        await session.execute(
            projection_streams.update().where(key).values(version=envelope.stream_version)
        )
    return None


async def insert_if_new(session: AsyncSession, table: sa.Table, row: Mapping[str, Any]) -> None:
    """Insert ``row`` unless its key is there already (a retry, a replay): one statement, on
    either store."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(table).values(row).on_conflict_do_nothing())


async def advance_position(session: AsyncSession, consumer: str, envelope: Envelope) -> None:
    """Move the consumer's position up to the envelope's (never back)."""
    await advance_to(session, consumer, envelope.source, envelope.position)


async def advance_to(session: AsyncSession, consumer: str, source: str, position: int) -> None:
    """Move the consumer's position in ``source`` up to ``position`` (never back). One
    statement, an upsert: two writers applying the same source at once (a replica, a
    rebuild's workers) must not both find the row missing and both insert it."""
    dialect = session.bind.dialect.name if session.bind is not None else "postgresql"
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    higher = sa.func.greatest if dialect == "postgresql" else sa.func.max
    statement = insert(projection_positions).values(
        consumer=consumer, source=source, position=position
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[projection_positions.c.consumer, projection_positions.c.source],
            set_={"position": higher(projection_positions.c.position, statement.excluded.position)},
        )
    )


class SqlProjection:
    """A :class:`~shared.platform.messaging.Consumer` that updates SQL tables.

    ``handlers`` maps contract classes to coroutines that write with the given session; the
    guard and the position are written in the same transaction. ``write_batch``, when given,
    writes the effects of several envelopes at once (a batch or a rebuild's page); the
    handlers are then what a single envelope falls back to.
    """

    def __init__(
        self,
        name: str,
        sources: Sequence[str],
        sessions: async_sessionmaker[AsyncSession],
        handlers: dict[type[Contract], Handler],
        write_batch: BatchWriter | None = None,
    ) -> None:
        self.name = name
        self.sources = tuple(sources)
        self.sessions = sessions
        self.handlers = handlers
        self.write_batch = write_batch

    async def handle(self, envelope: Envelope) -> Outcome:
        try:
            async with self.sessions() as session, session.begin():
                return await self._apply(session, envelope, advance=True)
        except IntegrityError:
            return Outcome.RETRY_LATER  # a replica applied the same version concurrently
        except NotYet:
            return Outcome.RETRY_LATER  # it needs another source's event first

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        """Outcomes of envelopes applied in ONE transaction, answered only after its commit
        (the caller acks nothing before).

        First set-based (:meth:`_apply_set`). If that transaction fails — an envelope's
        handler fails, a replica inserted the same new mark concurrently (an
        ``IntegrityError``), a deadlock, a lost connection — the batch is applied again with
        a savepoint per envelope, so the failing one is rolled back alone and answered
        ``RETRY_LATER``; and if that transaction fails too, one envelope at a time."""
        if not envelopes:
            return []
        try:
            async with self.sessions() as session, session.begin():
                return await self._apply_set(session, envelopes)
        except Exception as e:
            log.info(
                "projection_batch_per_envelope",
                consumer=self.name,
                size=len(envelopes),
                error=repr(e),
            )
        try:
            async with self.sessions() as session, session.begin():
                return await self._apply_batch(session, envelopes)
        except DBAPIError as e:
            log.warning(
                "projection_batch_fell_back", consumer=self.name, size=len(envelopes), error=repr(e)
            )
        return [await handle_one(self, envelope) for envelope in envelopes]

    async def replay(self, envelopes: Sequence[Envelope]) -> None:
        """Apply envelopes of one source known to be in order (a rebuild reading a store) in
        one transaction, set-based. Duplicates are skipped as in :meth:`handle`; an envelope
        ahead of its predecessor cannot happen in a store read in order, so it is an error,
        and the page is rolled back whole."""
        if envelopes:
            async with self.sessions() as session, session.begin():
                await self._apply_set(session, envelopes, strict=True)

    async def _apply_set(
        self, session: AsyncSession, envelopes: Sequence[Envelope], *, strict: bool = False
    ) -> list[Outcome]:
        """The guard of :func:`claim` for a whole batch: one query reads (and locks, in a
        fixed order, so replicas cannot deadlock on them) the marks of every aggregate in
        it; outcomes are decided in memory, marks written back with two bulk statements,
        and the envelopes to apply handed to ``write_batch`` together."""
        stored = await self._lock_marks(session, envelopes)
        marks = dict(stored)
        outcomes, to_apply = [], []
        for envelope in envelopes:
            key = (envelope.source, envelope.stream_id)
            current = marks.get(key, 0)
            if envelope.stream_version <= current:
                outcomes.append(Outcome.DUPLICATE)
            elif envelope.stream_version > current + 1:
                if strict:
                    raise RuntimeError(f"{envelope.message_id} arrived before its predecessor")
                outcomes.append(Outcome.RETRY_LATER)
            else:
                marks[key] = envelope.stream_version
                to_apply.append(envelope)
                outcomes.append(Outcome.DONE)
        await self._write_marks(session, stored, marks)
        if self.write_batch is not None:
            await self.write_batch(session, to_apply)
        else:
            for envelope in to_apply:
                handler = self.handlers.get(type(envelope.event))
                if handler is not None:
                    await handler(session, envelope)
        for envelope in _reached(envelopes, outcomes):
            await advance_position(session, self.name, envelope)
        return outcomes

    async def _lock_marks(
        self, session: AsyncSession, envelopes: Sequence[Envelope]
    ) -> dict[StreamKey, int]:
        streams = sorted({e.stream_id for e in envelopes})
        found = await session.execute(
            sa.select(
                projection_streams.c.source,
                projection_streams.c.stream_id,
                projection_streams.c.version,
            )
            .where(
                projection_streams.c.consumer == self.name,
                projection_streams.c.source.in_(sorted({e.source for e in envelopes})),
                projection_streams.c.stream_id.in_(streams),
            )
            .order_by(projection_streams.c.source, projection_streams.c.stream_id)
            .with_for_update()
        )
        return {(source, stream_id): version for source, stream_id, version in found}

    async def _write_marks(
        self, session: AsyncSession, stored: dict[StreamKey, int], marks: dict[StreamKey, int]
    ) -> None:
        new = [
            {"consumer": self.name, "source": s, "stream_id": i, "version": v}
            for (s, i), v in marks.items()
            if (s, i) not in stored
        ]
        moved = [
            {"b_consumer": self.name, "b_source": s, "b_stream_id": i, "b_version": v}
            for (s, i), v in marks.items()
            if (s, i) in stored and stored[(s, i)] != v
        ]
        if new:  # a replica inserting the same mark meanwhile makes this an IntegrityError
            await session.execute(INSERT_MARK, new)
        if moved:
            await session.execute(UPDATE_MARK, moved)

    async def _apply_batch(
        self, session: AsyncSession, envelopes: Sequence[Envelope]
    ) -> list[Outcome]:
        outcomes = []
        for envelope in envelopes:
            try:
                async with session.begin_nested():
                    outcome = await self._apply(session, envelope, advance=False)
            except (IntegrityError, NotYet):
                outcome = Outcome.RETRY_LATER  # a replica applied it, or it must wait
            except DBAPIError:
                raise  # the transaction is lost (deadlock, connection): the caller falls back
            except Exception:  # this envelope's handler failed: the others are kept
                log.exception("projection_failed", consumer=self.name, message=envelope.message_id)
                outcome = Outcome.RETRY_LATER
            outcomes.append(outcome)
        for envelope in _reached(envelopes, outcomes):
            await advance_position(session, self.name, envelope)
        return outcomes

    async def _apply(self, session: AsyncSession, envelope: Envelope, *, advance: bool) -> Outcome:
        """Claim, write and advance the position in the caller's transaction."""
        outcome = await claim(session, self.name, envelope)
        if outcome is not None:
            return outcome
        handler = self.handlers.get(type(envelope.event))
        if handler is not None:
            await handler(session, envelope)
        if advance:
            await advance_position(session, self.name, envelope)
        return Outcome.DONE

    async def last_position(self, source: str) -> int:
        async with self.sessions() as session:
            position = (
                await session.execute(
                    sa.select(projection_positions.c.position).where(
                        projection_positions.c.consumer == self.name,
                        projection_positions.c.source == source,
                    )
                )
            ).scalar_one_or_none()
        return int(position or 0)


def _reached(envelopes: Sequence[Envelope], outcomes: Sequence[Outcome]) -> list[Envelope]:
    """Per source, the last envelope applied (or applied before) ahead of any that is still
    to be applied: an in-order follower resumes after the recorded position, so it must
    never pass one."""
    reached: dict[str, Envelope] = {}
    held_back: set[str] = set()
    for envelope, outcome in zip(envelopes, outcomes, strict=True):
        if outcome is Outcome.RETRY_LATER:
            held_back.add(envelope.source)
        elif envelope.source not in held_back:
            before = reached.get(envelope.source)
            if before is None or before.position < envelope.position:
                reached[envelope.source] = envelope
    return list(reached.values())
