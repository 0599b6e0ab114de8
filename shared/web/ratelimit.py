"""Rate limits for the public endpoints (receipt look-ups must not be a guessing oracle).

A token bucket per client address, in memory: each replica limits on its own, so the
effective limit behind a load balancer is the per-replica limit times the replicas. Behind a
reverse proxy the client is the first address the proxy reports in ``X-Forwarded-For``,
trusted only when the direct peer is a configured proxy.

A citizen's address is personal data (ADR 18): a bucket is held under an HMAC of the address
with a key made per process and never stored, and a bucket idle long enough to be full again
(``burst`` / rate) is dropped at the next sweep, so none outlives twice that.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.web.problems import Problem


class TokenBuckets:
    def __init__(self, per_minute: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: dict[bytes, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)  # this process's only: keys are not comparable
        self.retention = burst / self.rate if self.rate > 0 else 3600.0
        self._pruned = float("-inf")

    def take(self, client: str, now: float | None = None) -> float:
        """0 if allowed; else the seconds until a token is available."""
        now = time.monotonic() if now is None else now
        key = hmac.new(self._key, client.encode(), hashlib.sha256).digest()[:16]  # not the address
        with self._lock:
            self._prune(now)
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                self._evict_if_full()
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def held(self) -> int:
        """How many clients have a bucket now."""
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        """Drop buckets idle past the retention (they would be full again anyway)."""
        if now - self._pruned < self.retention:
            return
        self._pruned = now
        for key in [k for k, (_, last) in self._buckets.items() if now - last >= self.retention]:
            del self._buckets[key]

    def _evict_if_full(self) -> None:
        if len(self._buckets) > self.max_clients:
            oldest = sorted(self._buckets.items(), key=lambda kv: kv[1][1])
            for key, _ in oldest[: len(oldest) // 10]:
                del self._buckets[key]


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted_proxies:
        return forwarded.split(",")[0].strip()
    return peer


def rate_limit(
    buckets: TokenBuckets, trusted_proxies: frozenset[str] = frozenset()
) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency answering 429 with Retry-After once a client's bucket is empty."""

    async def dependency(request: Request) -> None:
        wait = buckets.take(client_address(request, trusted_proxies))
        if wait > 0:
            raise Problem(
                429,
                "Too Many Requests",
                "请求过于频繁,请稍后再试 (too many requests; retry later)",
                headers={"Retry-After": str(math.ceil(wait))},
            )

    return dependency


async def public_rate_limit(request: Request) -> None:
    """The limit of the public portal's endpoints (buckets built with the app)."""
    await request.app.state.public_rate_limit(request)
