"""Metrics for the operators, in the Prometheus text format (``prometheus-client``).

Served on a port of their own (``TAIZHANG_METRICS_PORT``, off by default) and never on the
public path: the proxy does not route to it. Each app has its own registry (a process may run
several apps: the tests do). What is measured:

- every HTTP request by method, **route template** (``/api/v1/cases/{case_id}``, never the
  path itself: it may hold a receipt code) and status, with a latency histogram;
- sampled every few seconds by :class:`Sampler`: each local service's outbox head (its last
  notification id), each consumer's recorded position per source and, where the source is in
  the same process, its lag in events; whether the broker is reachable; and what each service
  reports of itself (``gauges()``: tracking's overdue cases and deadlines due today).

Across processes the lag is ``taizhang_outbox_head - on(source) taizhang_consumer_position``
(``deploy/prometheus/alerts.yml`` says so).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

Sample = tuple[str, str, dict[str, str], float]  # name, help, labels, value
UNMATCHED = "<unmatched>"


class Measured(Protocol):
    """A service that reports figures of its own (optional)."""

    async def gauges(self) -> Sequence[Sample]: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "taizhang_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "taizhang_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        # the children of one method, route template and status (a bounded set: templates)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.sampled: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]] = {}
        self.registry.register(_Sampled(self))
        self._server: Any = None

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:  # labels() takes a lock and builds its key: once per series
            counter = self.requests.labels(method, route, str(status))
            series = (counter, self.latency.labels(method, route))
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def record(self, samples: Iterable[Sample]) -> None:
        for name, help_text, labels, value in samples:
            self.sampled[(name, tuple(sorted(labels.items())))] = (help_text, value)

    def serve(self, port: int, host: str) -> None:
        self._server, _ = start_http_server(port, host, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Sampled(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for (name, labels), (help_text, value) in sorted(self.metrics.sampled.items()):
            family = families.get(name)
            if family is None:
                family = GaugeMetricFamily(name, help_text, labels=[k for k, _ in labels])
                families[name] = family
            family.add_metric([v for _, v in labels], value)
        return list(families.values())


class HttpMetrics:
    """ASGI middleware: one observation per request, labelled by the matched route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def remembered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, remembered)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


class Sampler:
    """Refreshes the sampled figures every ``interval`` seconds, in the app's own loop (the
    figures are read from async engines), until stopped."""

    def __init__(
        self,
        metrics: Metrics,
        outboxes: Mapping[str, Any],
        consumers: Sequence[Any],
        services: Mapping[str, Any],
        connected: Callable[[], bool] | None,
        interval: float,
    ) -> None:
        self.metrics, self.outboxes, self.consumers = metrics, outboxes, consumers
        self.services, self.connected, self.interval = services, connected, interval

    async def run(self) -> None:
        while True:
            try:
                self.metrics.record(await self.sample())
            except Exception as e:  # a store away: keep the last figures, try again
                log.warning("metrics_sample_failed", error=type(e).__name__)
            await asyncio.sleep(self.interval)

    async def sample(self) -> list[Sample]:
        samples: list[Sample] = []
        heads: dict[str, int] = {}
        for source, outbox in self.outboxes.items():
            heads[source] = int(await asyncio.to_thread(outbox.head))
            samples.append(
                ("taizhang_outbox_head", "Last notification id", {"service": source}, heads[source])
            )
        for consumer in self.consumers:
            for source in consumer.sources:
                position = int(await consumer.last_position(source))
                labels = {"consumer": consumer.name, "source": source}
                samples.append(
                    ("taizhang_consumer_position", "Last position applied", labels, position)
                )
                if source in heads:
                    lag = max(0, heads[source] - position)
                    samples.append(("taizhang_consumer_lag_events", "Events behind", labels, lag))
        up = 1.0 if self.connected is None or self.connected() else 0.0  # embedded: in-process
        samples.append(("taizhang_broker_connected", "Delivery path up (1) or not", {}, up))
        for service in self.services.values():
            gauges = getattr(service, "gauges", None)
            if gauges is not None:
                samples.extend(await gauges())
        return samples
