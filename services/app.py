"""The composition root: which services run in this process, and how they are wired.

``create_app(settings)`` builds nothing; the lifespan builds everything (engines, the
eventsourcing applications, writers) and closes it again on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from services.registry import AVAILABLE, Service, budgeted, build_service, registered
from shared.platform import logpolicy
from shared.platform.attachments import blob_store
from shared.platform.blobs import Blobs
from shared.platform.messaging.backbone import Backbone
from shared.platform.messaging.outbox import Outbox
from shared.platform.readmodel import (
    SHARED_MIGRATIONS,
    create_engine,
    ensure_schema,
    migrate,
    setup_lock,
)
from shared.platform.settings import ConfigurationError, Secrets, Settings, load_secrets
from shared.platform.sqlitewal import Checkpointer, embedded_checkpointer
from shared.web.accesslog import AccessLog
from shared.web.auth import Authenticator
from shared.web.http import BodySizeLimit, SecurityHeaders, install_infrastructure_handlers
from shared.web.metrics import HttpMetrics, Metrics, Sampler
from shared.web.openapi_links import install_links
from shared.web.problems import COMMON_RESPONSES, install_problem_handlers
from shared.web.ratelimit import TokenBuckets, rate_limit
from shared.web.refusals import install_refusals

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0
# Reported by /readyz beside readiness, never flipping it: without the broker events wait in
# the outbox (ADR 17); without the attachment store only files are refused (503), tips
# without files, the ledger and every other route go on (ADR 39).
BESIDE_READINESS = frozenset({"nats", "attachments"})
# The services that keep or serve files (tips' evidence, case attachments, public images).
KEEPING_FILES = frozenset({"intake", "dispatch", "tracking"})


@dataclass
class Runtime:
    """Everything one process runs, built in the lifespan."""

    settings: Settings
    secrets: Secrets
    engine: AsyncEngine
    services: dict[str, Service] = field(default_factory=dict)
    backbone: Backbone | None = None
    checkpointer: Checkpointer | None = None
    _blobs: Blobs | None = None

    @classmethod
    async def start(
        cls, settings: Settings, names: Sequence[str], *, relay_only: bool = False
    ) -> Runtime:
        """``relay_only``: the services' relays and nothing else of them — no consumers, no
        timers (``taizhang relay run``, ADR 48)."""
        apart = settings.relay == "apart" or relay_only
        if apart and not settings.nats_url:
            raise ConfigurationError("TAIZHANG_RELAY=apart needs TAIZHANG_NATS_URL")
        settings = budgeted(settings, names)  # pools sized to the connection budget
        secrets = load_secrets(settings)
        checkpointer = embedded_checkpointer(settings, names)  # before any connection opens
        try:
            async with setup_lock(settings):  # processes started together set up in turn
                await ensure_schema(settings)
                engine = create_engine(settings)
                await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
                runtime = cls(settings, secrets, engine, checkpointer=checkpointer)
                for name in names:
                    service = build_service(name, settings, secrets)
                    await service.start(background=not relay_only)
                    runtime.services[name] = service
        except BaseException:
            if checkpointer is not None:
                checkpointer.stop()
            raise
        outboxes = {n: live_outbox(n, s) for n, s in runtime.services.items()}
        consumers = (
            [] if relay_only else [c for s in runtime.services.values() for c in s.consumers()]
        )
        runtime.backbone = Backbone(
            settings,
            outboxes,
            consumers,
            engine,
            relays=relay_only or settings.relay == "inline",
            apart=relay_only,
        )
        await runtime.backbone.start()
        log.info(
            "started",
            services=list(names),
            embedded=settings.embedded_store,
            relay="only" if relay_only else settings.relay,
        )
        return runtime

    async def stop(self) -> None:
        if self.backbone is not None:
            await self.backbone.stop()
        for service in reversed(list(self.services.values())):
            await service.stop()
        await self.engine.dispose()
        if self.checkpointer is not None:
            await asyncio.to_thread(self.checkpointer.stop)

    async def readiness(self) -> dict[str, str]:
        """Which dependency is missing, if any — answered within seconds, checks in parallel.
        NATS being away degrades (events wait in the outbox) but does not stop a service
        from answering."""

        async def read_database() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        checks: dict[str, Any] = {"read_database": read_database()}
        for name, service in self.services.items():
            checks[name] = asyncio.to_thread(service.check_ready)
        if KEEPING_FILES & set(self.services):
            checks["attachments"] = asyncio.to_thread(self.blobs().probe)
        results = await asyncio.gather(
            *(asyncio.wait_for(check, READY_TIMEOUT_SECONDS) for check in checks.values()),
            return_exceptions=True,
        )
        report = {
            name: "ok" if result is None else f"unavailable: {type(result).__name__}"
            for name, result in zip(checks, results, strict=True)
        }
        if self.settings.nats_url and self.backbone is not None:
            report["nats"] = self.backbone.status()
        return report

    def blobs(self) -> Blobs:
        """The attachment store's blobs, for the readiness probe only (the services keep their
        own handles); built on the first probe."""
        if self._blobs is None:
            self._blobs = blob_store(self.settings)
        return self._blobs


def live_outbox(name: str, service: Service) -> Outbox:
    """A service's outbox as its relay and in-process followers read it: events no translator
    publishes skipped undecoded, the rest decoded by ``FastMapper`` (ADRs 41, 48)."""
    return Outbox(name, service.app, service.translate, published=service.published, fast=True)


@asynccontextmanager
async def _observed(metrics: Metrics, runtime: Runtime) -> AsyncIterator[None]:
    """Sampled while serving; on the way out the sampler, the metrics, then the runtime stop."""
    sampling = _observe(metrics, runtime)
    try:
        yield
    finally:
        if sampling is not None:
            sampling.cancel()
        metrics.close()
        await runtime.stop()


def _observe(metrics: Metrics, runtime: Runtime) -> asyncio.Task[None] | None:
    """Serve the metrics on their own port and keep the sampled figures fresh (when the
    operator asked for them with ``TAIZHANG_METRICS_PORT``)."""
    settings, backbone = runtime.settings, runtime.backbone
    if settings.metrics_port is None or backbone is None:
        return None
    metrics.serve(settings.metrics_port, settings.metrics_host)
    connected = (lambda: backbone.status() == "ok") if settings.nats_url else None
    sampler = Sampler(
        metrics,
        backbone.outboxes,
        backbone.consumers,
        runtime.services,
        connected,
        settings.metrics_interval_seconds,
    )
    return asyncio.create_task(sampler.run())


def create_app(
    settings: Settings | None = None,
    services: Sequence[str] = AVAILABLE,
    *,
    frozen_heap: bool = False,
) -> FastAPI:
    """``frozen_heap``: once started, leave everything there is (the modules, the stores, the
    caches of start-up) out of the garbage collector's full collections — a server process
    (``taizhang serve``), not a test's app. A full collection walked the whole heap with the
    GIL held: 200–330 ms each time a pass of insight's sweep made one, on the loop that
    serves intake (ADR 45)."""
    settings = settings or Settings()
    logpolicy.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, services)
        if frozen_heap:
            gc.freeze()
        app.state.runtime = runtime
        app.state.services = runtime.services
        app.state.authenticator = Authenticator(settings, runtime.secrets, runtime.engine)
        async with _observed(metrics, runtime):
            yield

    app = FastAPI(
        title="台账 — complaint & problem tracking",
        version="1",
        lifespan=lifespan,
        description="纠风 / 治庸问责 问题台账:intake, dispatch and tracking of tips.",
        responses=COMMON_RESPONSES,  # every route documents the refusals it may answer
    )
    app.state.public_rate_limit = rate_limit(
        TokenBuckets(settings.public_rate_per_minute, settings.public_rate_burst),
        settings.trusted_proxies,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    app.state.settings = settings
    install_problem_handlers(app)
    install_infrastructure_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.attachment_max_bytes,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HttpMetrics, metrics=metrics)
    app.add_middleware(AccessLog)  # route template and status only (ADR 18)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
        )
    for name in services:
        entry = registered(name)
        for router in entry.routers:
            app.include_router(router)
        install_refusals(app, entry.refusals)
    install_links(app)
    if "tracking" in services:  # the workbench's pages read the ledger (ADR 9)
        from services import ui as workbench  # imported where served, like the services

        workbench.install(app)
    if set(AVAILABLE) <= set(services):  # apart, the portal is a process of its own (ADR 27)
        from services import portal

        portal.install(app)  # its pages read the public API (ADR 20)

    _install_health(app)
    return app


def _install_health(app: FastAPI) -> None:
    """Liveness, readiness and delivery of the runtime in ``app.state.runtime``."""

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: databases and broker")
    async def readyz() -> JSONResponse:
        runtime = app.state.runtime
        checks = await runtime.readiness()
        ready = all(v == "ok" for k, v in checks.items() if k not in BESIDE_READINESS)
        body = {"status": ("ready" if ready else "unavailable"), "checks": checks}
        if runtime.backbone is not None:  # beside readiness, never flipping it (ADR 17)
            body["delivery"] = runtime.backbone.delivery()
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/healthz/delivery", tags=["health"], summary="Delivery: relays and consumers")
    async def delivery() -> dict[str, Any]:
        backbone = app.state.runtime.backbone
        return backbone.delivery() if backbone is not None else {"status": "ok"}


def create_relay(settings: Settings, name: str) -> FastAPI:
    """A service's relay in a process of its own (``taizhang relay run``, ADR 48): its outbox
    published to NATS, one active among all the service's processes (the advisory lock), and
    the health routes — no API, no consumers, no timers."""
    logpolicy.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, [name], relay_only=True)
        gc.freeze()  # a server process: its start-up's objects out of full collections
        app.state.runtime = runtime
        async with _observed(metrics, runtime):
            yield

    app = FastAPI(title=f"台账 — {name} relay", version="1", lifespan=lifespan)
    metrics = Metrics()
    app.state.settings = settings
    _install_health(app)
    return app


HEALTH_PATHS = ("/readyz", "/healthz/delivery")  # each process's own; the edge has its own


def merged_openapi(settings: Settings) -> dict[str, Any]:
    """One OpenAPI document of every service (ADR 27): the all-in-one app's, which is the sum
    of the services' routers, without the per-process health checks the edge does not pass."""
    document = create_app(settings, AVAILABLE).openapi()
    for path in HEALTH_PATHS:
        document["paths"].pop(path, None)
    return document


def create_front(settings: Settings | None = None) -> FastAPI:
    """The process that owns no store (ADR 27): the public portal, calling the public API
    through the proxy (``TAIZHANG_UI_API_URL``), and the merged API documentation."""
    settings = settings or Settings()
    if not settings.ui_api_url:
        raise ConfigurationError("the portal apart needs TAIZHANG_UI_API_URL: the proxy's base URL")
    logpolicy.install()
    document = merged_openapi(settings)
    app = FastAPI(title=document["info"]["title"], version="1")
    app.openapi = lambda: document  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.public_api_url = settings.ui_api_url
    install_problem_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    from services import portal

    portal.install(app)

    @app.get("/healthz", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
