"""Read models fed by integration events, applied once and in order per aggregate.

Replicas of a consumer receive a stream's messages in parallel and sometimes out of order.
Each read model therefore remembers, per producing aggregate, the last version it applied:
an older or equal version is a duplicate (ack, change nothing); the next version is applied
in the same transaction that advances the mark; a later one waits (negative ack) until its
predecessor has been applied. The row lock on the mark serializes replicas per aggregate.

A live consumer applies a fetched batch in one transaction (:meth:`SqlProjection.handle_batch`),
each envelope in its own savepoint: one commit per batch instead of one per event, which is
what kept the ledger behind a steady intake (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import Contract, Envelope
from shared.messaging import Outcome, handle_one

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


async def advance_position(session: AsyncSession, consumer: str, envelope: Envelope) -> None:
    key = (projection_positions.c.consumer == consumer) & (
        projection_positions.c.source == envelope.source
    )
    updated = await session.execute(
        projection_positions.update()
        .where(key, projection_positions.c.position < envelope.position)
        .values(position=envelope.position)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        exists = (
            await session.execute(sa.select(projection_positions.c.position).where(key))
        ).first()
        if exists is None:
            await session.execute(
                projection_positions.insert().values(
                    consumer=consumer, source=envelope.source, position=envelope.position
                )
            )


class SqlProjection:
    """A :class:`~shared.messaging.Consumer` that updates SQL tables.

    ``handlers`` maps contract classes to coroutines that write with the given session; the
    guard and the position are written in the same transaction.
    """

    def __init__(
        self,
        name: str,
        sources: Sequence[str],
        sessions: async_sessionmaker[AsyncSession],
        handlers: dict[type[Contract], Handler],
    ) -> None:
        self.name = name
        self.sources = tuple(sources)
        self.sessions = sessions
        self.handlers = handlers

    async def handle(self, envelope: Envelope) -> Outcome:
        try:
            async with self.sessions() as session, session.begin():
                return await self._apply(session, envelope, advance=True)
        except IntegrityError:
            return Outcome.RETRY_LATER  # a replica applied the same version concurrently

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        """Outcomes of envelopes applied in ONE transaction, each in its own savepoint, so
        one that a replica applied concurrently (an IntegrityError) is rolled back alone and
        answered ``RETRY_LATER`` while the others stay. The outcomes hold only once this
        returns, i.e. after the commit: the caller acks nothing before. If the transaction
        itself fails (a deadlock between replicas taking the same marks in another order,
        a lost connection) the envelopes are handled one at a time instead."""
        if not envelopes:
            return []
        try:
            async with self.sessions() as session, session.begin():
                return await self._apply_batch(session, envelopes)
        except DBAPIError as e:
            log.warning(
                "projection_batch_fell_back", consumer=self.name, size=len(envelopes), error=repr(e)
            )
        return [await handle_one(self, envelope) for envelope in envelopes]

    async def _apply_batch(
        self, session: AsyncSession, envelopes: Sequence[Envelope]
    ) -> list[Outcome]:
        outcomes = []
        # Per source, the last envelope applied before any that is still to be applied: an
        # in-order follower resumes after the recorded position, so it must never pass one.
        reached: dict[str, Envelope] = {}
        held_back: set[str] = set()
        for envelope in envelopes:
            try:
                async with session.begin_nested():
                    outcome = await self._apply(session, envelope, advance=False)
            except IntegrityError:
                outcome = Outcome.RETRY_LATER  # a replica applied it concurrently
            except DBAPIError:
                raise  # the transaction is lost (deadlock, connection): the caller falls back
            except Exception:  # this envelope's handler failed: the others are kept
                log.exception("projection_failed", consumer=self.name, message=envelope.message_id)
                outcome = Outcome.RETRY_LATER
            if outcome is Outcome.RETRY_LATER:
                held_back.add(envelope.source)
            elif outcome is Outcome.DONE and envelope.source not in held_back:
                before = reached.get(envelope.source)
                if before is None or before.position < envelope.position:
                    reached[envelope.source] = envelope
            outcomes.append(outcome)
        for envelope in reached.values():  # once per source, not per envelope
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

    async def replay(self, envelopes: Sequence[Envelope]) -> None:
        """Apply envelopes of one source known to be in order (a rebuild reading a store),
        all in one transaction: one commit per page instead of one per event, which is
        what a rebuild's time went to (bench/rebuild.py). Duplicates are skipped as in
        :meth:`handle`; an envelope ahead of its predecessor cannot happen in a store read
        in order, so it is an error, and the page is rolled back whole."""
        if not envelopes:
            return
        async with self.sessions() as session, session.begin():
            for envelope in envelopes:
                outcome = await claim(session, self.name, envelope)
                if outcome is Outcome.RETRY_LATER:
                    raise RuntimeError(f"{envelope.message_id} arrived before its predecessor")
                handler = self.handlers.get(type(envelope.event))
                if outcome is None and handler is not None:
                    await handler(session, envelope)
            await advance_position(session, self.name, envelopes[-1])

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
