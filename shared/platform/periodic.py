"""A service's own timer: a pass run every interval until stopped (dispatch's 催办/督办,
tracking's reminders and read-audit retention, insight's warning sweep). A pass that fails
is logged and the next one runs; a stop ends the wait at once."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

log = structlog.get_logger(__name__)


class Periodic:
    failure = "periodic_pass_failed"  # the log event of a failed pass

    def __init__(self, interval_seconds: float) -> None:
        self.interval = interval_seconds
        self.passes = 0  # passes run, failed ones included (a test waits for the next)
        self._stopping = asyncio.Event()

    async def one_pass(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.one_pass()
            except Exception:
                log.exception(self.failure)
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def stop(self) -> None:
        self._stopping.set()
