"""A steady stream of tips, as a hotline call centre sends them: each with a unique
``external_ref`` and an ``Idempotency-Key``; an error or a timeout is retried with the same
key until intake answers, and every answer a client was given is kept, to be checked
against the ledger and asked for again."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx

# Answers that mean "try again later" (intake down, restarting, its database away).
RETRIABLE = frozenset({429, 502, 503, 504})
RETRY_PAUSE_SECONDS = 0.5


class SteadyLoad:
    """``tips`` tips at ``rate`` per second from ``clients`` concurrent callers."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        prefix: str,
        tips: int,
        rate: float,
        clients: int = 4,
        give_up_after: float = 180.0,
    ) -> None:
        self.url = url
        self.headers = headers
        self.prefix = prefix
        self.tips = tips
        self.rate = rate
        self.clients = clients
        self.give_up_after = give_up_after
        self.answers: dict[str, dict[str, Any]] = {}  # key → the answer the caller was given
        self.retried: set[str] = set()  # keys that saw an error or a timeout first
        self.outcomes: Counter[str] = Counter()  # "201", "503", "ConnectError", …
        self.refusals: list[str] = []  # answers no retry can fix (a bug): 4xx, 500
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def key(self, n: int) -> str:
        return f"{self.prefix}-{n}"

    def start(self) -> SteadyLoad:
        self._started = time.monotonic()
        for c in range(self.clients):
            thread = threading.Thread(target=self._client, args=(c,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def accepted(self) -> int:
        with self._lock:
            return len(self.answers)

    def wait_accepted(self, count: int, timeout: float = 120) -> None:
        """Until ``count`` tips have an answer (so that a fault lands mid-load)."""
        deadline = time.monotonic() + timeout
        while self.accepted() < min(count, self.tips) and not self.refusals:
            if time.monotonic() > deadline:
                raise AssertionError(f"load stalled at {self.accepted()} of {count} tips")
            time.sleep(0.05)

    def finish(self) -> None:
        """Wait for every caller to be answered (each retries on its own)."""
        for thread in self._threads:
            thread.join(self.give_up_after + 30)
        assert not self.refusals, f"answers no retry can fix: {self.refusals[:5]}"
        assert len(self.answers) == self.tips, (
            f"{self.tips - len(self.answers)} tips never answered; seen {dict(self.outcomes)}"
        )

    def _client(self, c: int) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as client:
            for n in range(c, self.tips, self.clients):
                # Steady: tip n goes out at its time, however long earlier ones took.
                delay = self._started + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self._register(client, n)

    def _register(self, client: httpx.Client, n: int) -> None:
        key = self.key(n)
        body = {"channel": "hotline_12388", "content": f"故障测试线索 {key}", "external_ref": key}
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            try:
                r = client.post("/api/v1/tips", json=body, headers={"Idempotency-Key": key})
                outcome = str(r.status_code)
            except httpx.HTTPError as e:  # refused, reset, timed out: the tip may be in
                r, outcome = None, type(e).__name__
            with self._lock:
                self.outcomes[outcome] += 1
                if r is not None and r.status_code in (200, 201):
                    self.answers[key] = r.json()
                    return
                if r is not None and r.status_code not in RETRIABLE:
                    self.refusals.append(f"{key}: {r.status_code} {r.text[:200]}")
                    return
                self.retried.add(key)
            time.sleep(RETRY_PAUSE_SECONDS)

    def ask_again(self, keys: list[str]) -> list[str]:
        """Send these tips once more with their keys: each must get its first answer back
        (200, same case, same number). Returns what differed."""
        wrong = []
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=30) as client:
            for key in keys:
                body = {
                    "channel": "hotline_12388",
                    "content": f"故障测试线索 {key}",
                    "external_ref": key,
                }
                r = client.post("/api/v1/tips", json=body, headers={"Idempotency-Key": key})
                if r.status_code != 200 or r.json() != self.answers[key]:
                    wrong.append(f"{key}: {r.status_code} {r.text[:200]}")
        return wrong
