"""What a relay knows of the stream it publishes to, and how it judges the stream (ADR 17).

A relay records, per source, the stream's identity (when it was created, the cluster and
JetStream domain serving it) and a claim: *every outbox position up to ``position`` is in
the stream between sequences ``first_seq`` and ``last_seq``*. Before and after every batch
it compares the claim with what the server says (stream info and the batch's publish acks):

- **holds** — same stream, nothing removed from the claimed range, the sequence only grew;
- **behind** — the same stream lost messages (purged, deleted, a shorter tail after a
  restore): the relay re-publishes its outbox under a new generation of message ids
  (JetStream keeps de-duplication entries of purged messages, so the old ids would be
  dropped) — consumers are idempotent, so re-sending what the stream still holds is harmless.
  When only the tail was lost (:func:`kept_through`), it re-publishes from the position of
  the last message the stream still holds; else from the start;
- **stranger** — another stream (created at another moment, another cluster or domain, or
  no stream at all): the relay publishes nothing there and waits for an operator
  (``taizhang relay adopt``), or for its own stream to come back (a corrected URL).

The judgement is pure (:func:`judge`); the record lives in the ``relay_streams`` table
(:class:`StreamRecords`), updated only under the generation it was read with, so an
operator's command is never overwritten by a relay that had not seen it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

import sqlalchemy as sa
from nats.js.api import PubAck, StreamInfo
from sqlalchemy.ext.asyncio import AsyncEngine

OK = "ok"
STRANGER = "stranger"
ADOPT = "adopt"  # an operator asked the relay to take the stream it finds as its own

metadata = sa.MetaData()
relay_streams = sa.Table(
    "relay_streams",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("stream", sa.String(64), nullable=False),
    sa.Column("created", sa.String(40)),
    sa.Column("server", sa.String(200), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("first_seq", sa.BigInteger, nullable=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(300), nullable=False),
)


@dataclass(frozen=True)
class Seen:
    """The stream as the server describes it now."""

    created: str
    server: str
    first_seq: int
    last_seq: int
    deleted: int

    @classmethod
    def of(cls, info: StreamInfo, domain: str | None) -> Seen:
        cluster = info.cluster.name if info.cluster is not None else None
        return cls(
            created=info.created.isoformat() if info.created else "",
            server=f"cluster={cluster or '-'} domain={domain or '-'}",
            first_seq=info.state.first_seq,
            last_seq=info.state.last_seq,
            deleted=info.state.num_deleted or 0,
        )


@dataclass(frozen=True)
class StreamRecord:
    source: str
    stream: str
    created: str | None
    server: str
    position: int
    first_seq: int
    last_seq: int
    deleted: int = 0
    generation: int = 0
    state: str = OK
    detail: str = ""

    def anchored(self, seen: Seen, position: int, generation: int) -> StreamRecord:
        """This stream taken as the relay's own from ``position`` on: whatever it holds now
        lies before the range the claim is about (a refill lands after it)."""
        return replace(
            self,
            created=seen.created,
            server=seen.server,
            position=position,
            first_seq=max(seen.first_seq, 1),
            last_seq=seen.last_seq,
            deleted=seen.deleted,
            generation=generation,
            state=OK,
            detail="",
        )

    def advanced(self, position: int, acks: Sequence[PubAck]) -> StreamRecord:
        last = max([self.last_seq, *(ack.seq for ack in acks)])
        return replace(self, position=position, last_seq=last)

    def message_id(self, message_id: str) -> str:
        """Generation 0 keeps the plain ``<source>:<position>``; a refill needs ids the
        stream has not seen, or JetStream drops them as duplicates of purged messages."""
        return message_id if self.generation == 0 else f"{message_id}#g{self.generation}"


class Verdict(Enum):
    HOLDS = "holds"
    BEHIND = "behind"
    STRANGER = "stranger"


def judge(record: StreamRecord, seen: Seen, acks: Sequence[PubAck] = ()) -> tuple[Verdict, str]:
    """Whether the stream still holds what the record claims (and what ``acks`` added)."""
    if record.created is not None and (
        seen.created != record.created or seen.server != record.server
    ):
        return Verdict.STRANGER, (
            f"stream created {seen.created} on {seen.server}; "
            f"recorded {record.created} on {record.server}"
        )
    holding = record.last_seq >= record.first_seq  # the claimed range is not empty
    if holding and seen.first_seq > record.first_seq:
        return Verdict.BEHIND, f"messages before sequence {seen.first_seq} removed (purged)"
    if seen.last_seq < record.last_seq:
        return Verdict.BEHIND, f"the stream ends at {seen.last_seq}, recorded {record.last_seq}"
    if seen.deleted > record.deleted:
        return Verdict.BEHIND, f"{seen.deleted - record.deleted} message(s) deleted"
    for ack in acks:
        if ack.stream != record.stream:
            return Verdict.STRANGER, f"acknowledged by stream {ack.stream}"
        if ack.duplicate and ack.seq < max(record.first_seq, seen.first_seq):
            return Verdict.BEHIND, f"a duplicate of sequence {ack.seq}, which is gone"
        if not ack.duplicate and ack.seq <= record.last_seq:
            return Verdict.BEHIND, f"sequence went back to {ack.seq} (a lost tail)"
    return Verdict.HOLDS, ""


def kept_through(record: StreamRecord, seen: Seen, acks: Sequence[PubAck] = ()) -> int | None:
    """The sequence up to which a stream judged behind still holds everything it held when
    the claim was made, when it lost only its tail (restored from an older copy, a server
    that lost writes it had not synced); None when messages went elsewhere (purged at the
    front, deleted in between) or nothing is left — then only a refill from the start is
    sure."""
    if seen.first_seq > max(record.first_seq, 1) or seen.deleted > record.deleted:
        return None
    kept = seen.last_seq
    fresh = [ack.seq for ack in acks if not ack.duplicate]
    if fresh and min(fresh) <= record.last_seq:  # a batch landed where the lost tail was
        kept = min(kept, min(fresh) - 1)
    if kept >= record.last_seq or kept < max(seen.first_seq, 1):
        return None
    return kept


def position_in(message_id: str, source: str) -> int | None:
    """The outbox position a relay's message id names (``<source>:<position>``, a refill's
    with ``#g<generation>``), or None for an id that is not this source's."""
    named, _, position = message_id.partition("#")[0].rpartition(":")
    if named != source or not position.isdigit():
        return None
    return int(position)


class StreamRecords:
    """The ``relay_streams`` table (shared's migrations)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, source: str) -> StreamRecord | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(relay_streams).where(relay_streams.c.source == source))
            ).first()
        return StreamRecord(**row._mapping) if row is not None else None

    async def all(self) -> list[StreamRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(relay_streams).order_by(relay_streams.c.source))
            return [StreamRecord(**row._mapping) for row in rows]

    async def create(self, record: StreamRecord) -> StreamRecord:
        """The first record of a source (a relay that raced us may have written it first)."""
        async with self.engine.begin() as conn:
            exists = await conn.scalar(
                sa.select(relay_streams.c.source).where(relay_streams.c.source == record.source)
            )
            if exists is None:
                await conn.execute(relay_streams.insert().values(**_values(record)))
        found = await self.load(record.source)
        assert found is not None
        return found

    async def save(self, record: StreamRecord, read_as: int) -> bool:
        """Write the record if nobody changed its generation since it was read at
        ``read_as``; never moves the position back unless the generation changes."""
        condition = sa.and_(
            relay_streams.c.source == record.source, relay_streams.c.generation == read_as
        )
        if record.generation == read_as:
            condition = sa.and_(condition, relay_streams.c.position <= record.position)
        async with self.engine.begin() as conn:
            done = await conn.execute(
                relay_streams.update().where(condition).values(**_values(record))
            )
        return bool(done.rowcount)

    async def ask(self, source: str, position: int, state: str | None = None) -> bool:
        """An operator's command: publish again after ``position`` (and adopt the stream
        the relay finds, with ``state=ADOPT``); a new generation, so relays re-read it."""
        values: dict[str, object] = {
            "position": position,
            "generation": relay_streams.c.generation + 1,
        }
        if state is not None:
            values |= {"state": state, "detail": "asked by an operator"}
        async with self.engine.begin() as conn:
            done = await conn.execute(
                relay_streams.update().where(relay_streams.c.source == source).values(**values)
            )
        return bool(done.rowcount)


def _values(record: StreamRecord) -> dict[str, object]:
    return {
        name: getattr(record, name) for name in (column.name for column in relay_streams.columns)
    }
