"""The relay: one service's outbox published to its stream, proven held batch by batch.

It publishes in order with ``Nats-Msg-Id = "<source>:<position>"`` (a refill adds its
generation), waits for every publish ack, and records its position only once the stream
has been seen to hold the batch: the stream info before and after the batch and every ack
are judged against the relay's record (:mod:`.streams`, ADR 17). A crash in between re-sends
at most one batch, which JetStream drops inside its duplicate window and consumers after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

import structlog
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from shared.platform.faults import RELAY_EXIT_AFTER_PUBLISH, crash_if
from shared.platform.messaging import wait_any
from shared.platform.messaging.health import Health
from shared.platform.messaging.leadership import Leadership
from shared.platform.messaging.nats import JetStream, stream_name, subject
from shared.platform.messaging.outbox import Outbox
from shared.platform.messaging.streams import (
    ADOPT,
    STRANGER,
    Seen,
    StreamRecord,
    StreamRecords,
    Verdict,
    judge,
    kept_through,
    position_in,
)

log = structlog.get_logger(__name__)

# What else wakes a relay: sets the event it is given on news, until cancelled.
Listen = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

PUBLISH_BATCH = 500
ACK_TIMEOUT_SECONDS = 30.0
# Acks owed longer than this are trouble worth reporting before the timeout: a broker whose
# disk is full takes the publishes and never acknowledges them, and an operator should see
# delivery degraded within the grace, not after the 30 s timeout and the grace.
ACK_OVERDUE_SECONDS = 2.0
IDLE_CHECK_SECONDS = 2.0  # an idle relay still looks at its stream this often
REFUSED_CHECK_SECONDS = 2.0  # a refusing relay looks for an operator's answer this often


class StreamMissing(Exception):
    """The recorded stream is not on this server."""


class NatsRelay:
    """Publishes one service's outbox to its stream; one active relay per service."""

    TRACKING_NAME = "relay:nats"  # where positions were kept before ADR 17 (read once)

    def __init__(
        self,
        outbox: Outbox,
        stream: JetStream,
        records: StreamRecords,
        leadership: Leadership | None = None,
        poll_seconds: float = 1.0,
        listen: Listen | None = None,
        gap_seconds: float = 0.0,
    ) -> None:
        """``poll_seconds``: how often to look at the outbox unwoken; ``listen``: what else
        wakes it (apart from its service no save of this process does: the store's
        ``NOTIFY``, ADR 48); ``gap_seconds``: how long to let events gather after a batch
        that was not full (apart: a batch costs the same fixed round trips whatever it
        holds, and woken by every commit it would publish each commit's few events alone)."""
        self.outbox = outbox
        self.poll_seconds = poll_seconds
        self.listen = listen
        self.gap_seconds = gap_seconds
        self._behind = False  # the last batch read was full: more is waiting
        self.stream = stream
        self.records = records
        self.leadership = leadership
        self.source = outbox.source
        self.name = stream_name(stream.namespace, outbox.source)
        self.health = Health(f"relay:{self.source}")
        self.record: StreamRecord | None = None
        self._stopping = asyncio.Event()
        self._idle_checked = 0.0

    async def run(self) -> None:
        news = self.outbox.wakeup(asyncio.get_running_loop())
        listening = asyncio.create_task(self.listen(news)) if self.listen else None
        try:
            await self._run(news)
        finally:
            if listening is not None:
                listening.cancel()

    async def _run(self, news: asyncio.Event) -> None:
        await self.stream.connected.wait()
        await self._lead()
        while not self._stopping.is_set():
            news.clear()
            if self.leadership is not None and not await self.leadership.held():
                await self._lead()
            try:
                moved = await self._step()
            except Exception as e:
                pause = self.health.failing(
                    type(e).__name__, source=self.source, url=self.stream.url, error=repr(e)
                )
                await wait_any(self._stopping, timeout=pause)
                # Another relay or an operator may have moved the record meanwhile.
                with contextlib.suppress(Exception):
                    self.record = await self.records.load(self.source) or self.record
                continue
            if not moved:
                await wait_any(news, self._stopping, timeout=self.poll_seconds)
            elif self.gap_seconds and not self._behind:
                await wait_any(self._stopping, timeout=self.gap_seconds)

    def stop(self) -> None:
        self._stopping.set()

    async def _lead(self) -> None:
        """Become the active relay (at once without replicas) and read the record."""
        if self.leadership is not None:
            await self.leadership()
        self.record = None
        while self.record is None and not self._stopping.is_set():
            try:
                self.record = await self.records.load(self.source)
                if self.record is None:
                    self.record = await self._first_record()
            except Exception as e:  # the database or NATS is away: leadership is re-checked
                pause = self.health.failing(type(e).__name__, source=self.source, error=repr(e))
                await wait_any(self._stopping, timeout=pause)

    async def _first_record(self) -> StreamRecord:
        """Trust on first use: the stream found (or made) now is this relay's, holding what
        the relay had recorded published before it kept a record (its tracking row)."""
        legacy = await asyncio.to_thread(self._legacy_position)
        seen = await self._made()
        if legacy:  # an upgrade: everything the stream holds is taken as the claim
            seen = Seen(seen.created, seen.server, 1, seen.last_seq, seen.deleted)
        blank = StreamRecord(self.source, self.name, None, "", 0, 1, 0)
        log.info("relay_stream_recorded", source=self.source, stream=self.name, position=legacy)
        return await self.records.create(blank.anchored(seen, legacy, 0))

    def _legacy_position(self) -> int:
        return self.outbox.app.process_recorder.max_tracking_id(self.TRACKING_NAME) or 0

    # --- one step ----------------------------------------------------------------------------

    async def _step(self) -> bool:
        """Publish one batch if there is one (True), or look at the stream while idle."""
        record = self.record
        assert record is not None
        if record.state == ADOPT:
            await self._adopt(record)
            return True
        if record.state == STRANGER:
            return await self._still_refused(record)
        envelopes, last = await asyncio.to_thread(self.outbox.read, record.position, PUBLISH_BATCH)
        self._behind = last - record.position >= PUBLISH_BATCH
        if last == record.position:
            await self._idle_check(record)
            return False
        if envelopes:
            before = await self._seen()
            if not await self._holds(record, before):
                return True
            # Our stream: bring its configuration (the duplicate window …) to this
            # process's settings, once per connection, as the consumers do.
            await self.stream.ensure_stream(self.source)
            acks = await self._publish(record, envelopes)
            crash_if(RELAY_EXIT_AFTER_PUBLISH, self.stream.faults)
            if not await self._holds(record, await self._seen(), acks):
                return True
            await self._save(record.advanced(last, acks), record.generation)
        else:  # nothing in this stretch is for others: only the position moves
            await self._save(record.advanced(last, ()), record.generation)
        self.health.fine()
        return True

    async def _holds(
        self, record: StreamRecord, seen: Seen | None, acks: list[PubAck] | None = None
    ) -> bool:
        """Judge the stream; act on anything but ``holds``."""
        if seen is None:
            await self._refuse(record, "the recorded stream is not on this server")
            return False
        verdict, why = judge(record, seen, acks or ())
        if verdict is Verdict.STRANGER:
            await self._refuse(record, why)
            return False
        if verdict is Verdict.BEHIND:
            await self._refill(record, seen, why, acks or ())
            return False
        return True

    async def _idle_check(self, record: StreamRecord) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._idle_checked < IDLE_CHECK_SECONDS:
            return
        self._idle_checked = now
        if await self._holds(record, await self._seen()):
            self.health.fine()

    async def _still_refused(self, record: StreamRecord) -> bool:
        """A refusing relay ends refusing when its own stream is back (the URL corrected)
        or an operator answered (the record's generation moved)."""
        await wait_any(self._stopping, timeout=REFUSED_CHECK_SECONDS)
        current = await self.records.load(self.source)
        if current is not None and current.generation != record.generation:
            self.record = current
            return True
        seen = await self._seen()
        if seen is not None and judge(record, seen)[0] is Verdict.HOLDS:
            log.info("relay_stream_recognised", source=self.source, stream=self.name)
            await self._save(_state(record, "ok", ""), record.generation)
            return True
        self.health.failing("stream_refused", source=self.source, url=self.stream.url)
        return False

    # --- the three answers -------------------------------------------------------------------

    async def _refuse(self, record: StreamRecord, why: str) -> None:
        log.error(
            "relay_stream_refused",
            source=self.source,
            stream=self.name,
            url=self.stream.url,
            why=why,
            remedy=f"taizhang relay adopt --service {self.source}",
        )
        self.health.failing("stream_refused", source=self.source, url=self.stream.url)
        await self._save(_state(record, STRANGER, why[:300]), record.generation)

    async def _refill(
        self, record: StreamRecord, seen: Seen, why: str, acks: Sequence[PubAck]
    ) -> None:
        """The same stream lost messages: publish the outbox again, under a new generation
        of message ids, into the range after what the stream holds now — from the position
        of the last message it still holds when it lost only its tail, else from the start
        (a province's outbox holds billions: a restored copy must not cost them all)."""
        kept = kept_through(record, seen, acks)
        start = 0 if kept is None else await self._position_at(kept) or 0
        log.warning(
            "relay_stream_behind", source=self.source, stream=self.name, why=why, refill_from=start
        )
        await self._save(record.anchored(seen, start, record.generation + 1), record.generation)

    async def _position_at(self, sequence: int) -> int | None:
        """The outbox position of the stream's message at ``sequence`` (None: not ours)."""
        try:
            message = await self.stream.js.get_msg(self.name, seq=sequence)
        except NotFoundError:
            return None
        message_id = (message.headers or {}).get("Nats-Msg-Id", "")
        return position_in(message_id, self.source)

    async def _adopt(self, record: StreamRecord) -> None:
        seen = await self._made()
        log.warning(
            "relay_stream_adopted",
            source=self.source,
            stream=self.name,
            from_position=record.position,
        )
        await self._save(
            record.anchored(seen, record.position, record.generation), record.generation
        )

    # --- NATS and the record -------------------------------------------------------------------

    async def _seen(self) -> Seen | None:
        """The stream as this server has it, or None when it has none of that name."""
        try:
            return Seen.of(await self.stream.js.stream_info(self.name), self._domain())
        except NotFoundError:
            return None

    async def _made(self) -> Seen:
        """The stream, made first if this server has none."""
        self.stream.forget(self.source)
        await self.stream.ensure_stream(self.source)
        return Seen.of(await self.stream.js.stream_info(self.name), self._domain())

    def _domain(self) -> str | None:
        info = self.stream.nc._server_info if self.stream.nc is not None else {}
        return info.get("domain")

    async def _publish(self, record: StreamRecord, envelopes: list[Any]) -> list[PubAck]:
        js = self.stream.js
        # No wait_stall: with a timeout nats-py yields to the loop on every publish, whose
        # flusher then writes each message alone; without it the batch is buffered and
        # written in a few writes. The acks are awaited with a timeout below.
        connection = self.stream.disconnects
        futures = [
            await js.publish_async(
                subject(self.stream.namespace, e),
                e.encode(),
                headers={"Nats-Msg-Id": record.message_id(e.message_id)},
            )
            for e in envelopes
        ]
        return await self._acknowledged(asyncio.gather(*futures), connection)

    async def _acknowledged(self, acks: asyncio.Future[Any], connection: int) -> list[PubAck]:
        """Every publish ack, or an error as soon as the connection they were owed on is
        lost (the batch is sent again at once, not after the full timeout)."""
        loop = asyncio.get_running_loop()
        overdue, deadline = loop.time() + ACK_OVERDUE_SECONDS, loop.time() + ACK_TIMEOUT_SECONDS
        while not acks.done():
            await asyncio.wait({acks}, timeout=0.25)
            if acks.done():
                break
            if loop.time() > overdue:  # noted once a wait; fine() after the next good batch
                self.health.failing("publish_acks_overdue", source=self.source, url=self.stream.url)
                overdue = deadline
            if self.stream.disconnects != connection or loop.time() > deadline:
                acks.cancel()
                raise ConnectionError("publish acks lost: NATS connection dropped or too slow")
        return list(acks.result())

    async def _save(self, record: StreamRecord, read_as: int) -> None:
        if not await self.records.save(record, read_as):
            # Another relay went further, or an operator asked for something: take theirs.
            record = await self.records.load(self.source) or record
        self.record = record


def _state(record: StreamRecord, state: str, detail: str) -> StreamRecord:
    return replace(record, state=state, detail=detail)
