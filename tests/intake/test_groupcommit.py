"""The group-commit writer: who shares a batch, and who never waits for one to fill."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from services.intake.groupcommit import GroupCommitter


class Recorder:
    """A batch function that records its batches; the first one waits to be released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        self.started.set()
        self.release.wait(30)
        return [ValueError(i) if i < 0 else i * 10 for i in items]


def test_requests_that_wait_during_a_commit_share_the_next_one() -> None:
    batch = Recorder()
    writer: GroupCommitter[int, int] = GroupCommitter(batch, linger=0.0)
    writer.start()
    try:
        first = writer.submit(1)
        assert batch.started.wait(10)
        waiting = [writer.submit(n) for n in (2, -3, 4)]  # arrive while 1 is being saved
        batch.release.set()
        assert first.result(10) == 10
        assert [w.exception(10) is None for w in waiting] == [True, False, True]
        assert [waiting[0].result(), waiting[2].result()] == [20, 40]
        assert batch.batches == [[1], [2, -3, 4]]  # one batch for the three, own answers each
    finally:
        writer.stop()


def test_a_lone_client_is_answered_without_lingering() -> None:
    batch = Recorder()
    batch.release.set()
    # A linger far longer than the waits below: were it applied, these would time out.
    writer: GroupCommitter[int, int] = GroupCommitter(batch, linger=60.0)
    writer.start()
    try:
        for n in range(3):  # one client: each request after the previous answer
            assert writer.submit(n).result(10) == n * 10
        assert batch.batches == [[0], [1], [2]]
    finally:
        writer.stop()
