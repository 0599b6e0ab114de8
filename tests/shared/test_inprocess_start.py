"""The embedded backbone reads where each follower resumes before the process reports itself
started: an envelope applied by another path right after start (the tracking harness feeds
consumers directly, with positions past the outbox's) can no longer make a follower skip the
producer's own events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from shared.contracts import Envelope
from shared.platform.messaging import Outcome
from shared.platform.messaging.backbone import Backbone
from shared.platform.settings import Settings


class Consumer:
    name = "ledger"
    sources: Sequence[str] = ("dispatch",)

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def handle(self, envelope: Envelope) -> Outcome:
        return Outcome.DONE

    async def last_position(self, source: str) -> int:
        self.asked.append(source)
        return 7


class EmptyOutbox:
    source = "dispatch"

    def __init__(self) -> None:
        self.reads: list[int] = []

    def wakeup(self, loop: asyncio.AbstractEventLoop) -> asyncio.Event:
        return asyncio.Event()

    def read(self, after: int) -> tuple[list[Envelope], int]:
        self.reads.append(after)
        return [], after


async def test_followers_know_their_resume_point_when_start_returns(tmp_path) -> None:
    consumer, outbox = Consumer(), EmptyOutbox()
    backbone = Backbone(Settings(data_dir=tmp_path), {"dispatch": outbox}, [consumer])  # type: ignore[dict-item]
    await backbone.start()
    assert consumer.asked == ["dispatch"]  # before any task of the backbone has run
    await asyncio.sleep(0.05)
    assert outbox.reads and outbox.reads[0] == 7  # it reads on from there, not from 0
    assert consumer.asked == ["dispatch"]  # and does not ask again
    await backbone.stop()


class SlowDatabase(Consumer):
    """Its database takes more than the connect timeout to answer, twice."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def last_position(self, source: str) -> int:
        self.asked.append(source)
        if len(self.asked) <= self.failures:
            raise TimeoutError
        return 7


async def test_a_database_slow_to_connect_at_start_is_asked_again(tmp_path) -> None:
    consumer, outbox = SlowDatabase(failures=2), EmptyOutbox()
    backbone = Backbone(Settings(data_dir=tmp_path), {"dispatch": outbox}, [consumer])  # type: ignore[dict-item]
    await backbone.start()
    assert consumer.asked == ["dispatch"] * 3
    await asyncio.sleep(0.05)
    assert outbox.reads and outbox.reads[0] == 7
    await backbone.stop()


async def test_a_database_that_never_answers_fails_the_start(tmp_path, monkeypatch) -> None:
    from shared.platform.messaging import inprocess

    monkeypatch.setattr(inprocess, "PREPARE_PATIENCE_SECONDS", 1.0)
    consumer, outbox = SlowDatabase(failures=1000), EmptyOutbox()
    backbone = Backbone(Settings(data_dir=tmp_path), {"dispatch": outbox}, [consumer])  # type: ignore[dict-item]
    with pytest.raises(TimeoutError):
        await backbone.start()
    assert 2 <= len(consumer.asked) <= 4
