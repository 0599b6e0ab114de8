"""Group commit: many concurrent requests, one transaction.

The event store serializes its writers, so one save per request caps intake at the rate of
single-row commits. A dedicated writer thread takes whatever requests are waiting (up to
``max_batch``), hands them to a batch function as one list and answers each request's
future with its own result or error. Requests never wait for a batch to fill: an idle writer
takes the next request at once; under load it may wait up to ``linger`` for the requests it
expects back (see ``_gather``), so that concurrent clients share one commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
R = TypeVar("R")

log = structlog.get_logger(__name__)

_STOP = object()


class WriterUnavailable(Exception):
    """The writer is stopped, or its batch failed as a whole (e.g. the database is down)."""


class GroupCommitter(Generic[T, R]):
    def __init__(
        self,
        batch: Callable[[Sequence[T]], Sequence[R | Exception]],
        *,
        max_batch: int = 64,
        linger: float = 0.0,
        name: str = "group-commit",
    ) -> None:
        self._batch = batch
        self._max_batch = max_batch
        self._linger = linger
        self._expected = 1  # requests in play: answered by the last batch, plus those waiting
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        self._stopped.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def submit(self, item: T) -> Future[R]:
        if self._stopped.is_set():
            raise WriterUnavailable("writer is shutting down")
        future: Future[R] = Future()
        self._queue.put((item, future))
        return future

    async def submit_async(self, item: T, timeout: float) -> R:
        """The item's result, awaited on this loop. A batch wakes each loop it answers
        once, not once per request (cross-thread wake-ups are costly at full load)."""
        if self._stopped.is_set():
            raise WriterUnavailable("writer is shutting down")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put((item, future))
        async with asyncio.timeout(timeout):  # on expiry the future is cancelled: skipped
            return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            pending = self._gather([first])
            self._process(pending)  # type: ignore[arg-type]
            self._expected = min(self._max_batch, len(pending) + self._queue.qsize())

    def _gather(self, pending: list[object]) -> list[object]:
        """Everything waiting; and, when more requests are in play than that (clients just
        answered by the last batch are sending their next), up to ``linger`` seconds for
        them: one batch of all clients rather than two alternating halves, each paying a
        commit. An idle writer with one client in play never waits."""
        deadline = time.monotonic() + self._linger
        while len(pending) < self._max_batch:
            wait = deadline - time.monotonic() if len(pending) < self._expected else 0.0
            try:
                nxt = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is _STOP:
                self._queue.put(_STOP)
                break
            pending.append(nxt)
        return pending

    def _process(self, pending: list[tuple[T, Waiter[R]]]) -> None:
        live = [(item, fut) for item, fut in pending if _claim(fut)]
        if not live:
            return
        try:
            results: Sequence[R | Exception] = self._batch([item for item, _ in live])
        except Exception as e:  # the whole batch failed: every request hears why
            log.warning("group_commit_failed", error=repr(e), size=len(live))
            results = [e] * len(live)
        _settle([fut for _, fut in live], results)


Waiter = Future[R] | asyncio.Future[R]


def _claim(future: Waiter[R]) -> bool:
    """Whether the request still waits (not cancelled, e.g. by its timeout)."""
    if isinstance(future, Future):
        return future.set_running_or_notify_cancel()
    return not future.cancelled()


def _settle(futures: Sequence[Waiter[R]], results: Sequence[R | Exception]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[R], R | Exception]]] = {}
    for future, result in zip(futures, results, strict=True):
        if isinstance(future, Future):
            _resolve(future, result)
        else:
            by_loop.setdefault(future.get_loop(), []).append((future, result))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop has closed: nobody to answer
            loop.call_soon_threadsafe(_resolve_all, answers)


def _resolve_all(answers: list[tuple[asyncio.Future[R], R | Exception]]) -> None:
    for future, result in answers:
        if not future.done():  # cancelled meanwhile by its timeout
            _resolve(future, result)


def _resolve(future: Waiter[R], result: R | Exception) -> None:
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
