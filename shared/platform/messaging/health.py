"""Delivery health of one relay or consumer: how long it has been unable to reach or verify
its stream, said once in the log (not once per retry) and reported beside readiness.

A service keeps answering while delivery is troubled (intake's tips wait in the outbox), so
this never flips ``/readyz``; it turns the ``delivery`` section ``degraded`` after a grace.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 5.0  # delivery resumes within seconds of the fault ending


class Health:
    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.problem: str | None = None
        self.since: float | None = None
        self.failures = 0

    def fine(self) -> None:
        if self.problem is not None:
            log.info("delivery_recovered", worker=self.worker, problem=self.problem)
        self.problem, self.since, self.failures = None, None, 0

    def failing(self, problem: str, **fields: Any) -> float:
        """Note a failure; log it only when it is a new kind of trouble. Returns how long to
        wait before trying again (doubling up to a few seconds)."""
        if problem != self.problem:
            log.warning("delivery_trouble", worker=self.worker, problem=problem, **fields)
            self.problem = problem
        if self.since is None:
            self.since = time.monotonic()
        self.failures += 1
        return min(0.5 * 2 ** min(self.failures - 1, 6), MAX_BACKOFF_SECONDS)

    def report(self, grace: float) -> dict[str, Any]:
        if self.since is None:
            return {"status": "ok"}
        troubled = time.monotonic() - self.since
        status = "degraded" if troubled >= grace else "ok"
        return {"status": status, "problem": self.problem, "seconds": round(troubled)}
