"""The composition root: which services run in this process, and how they are wired.

``create_app(settings)`` builds nothing; the lifespan builds everything (engines, the
eventsourcing applications, writers) and closes it again on shutdown.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts import Contract
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging import Consumer
from shared.platform.messaging.backbone import Backbone
from shared.platform.messaging.outbox import Outbox
from shared.platform.readmodel import SHARED_MIGRATIONS, create_engine, ensure_schema, migrate
from shared.platform.settings import SERVICES, Secrets, Settings, load_secrets
from shared.web.auth import Authenticator
from shared.web.http import BodySizeLimit, SecurityHeaders, install_infrastructure_handlers
from shared.web.openapi_links import install_links
from shared.web.problems import COMMON_RESPONSES, install_problem_handlers
from shared.web.ratelimit import TokenBuckets, rate_limit

log = structlog.get_logger(__name__)

READY_TIMEOUT_SECONDS = 3.0


class Service(Protocol):
    """What the composition root needs of a service."""

    name: str

    @property
    def app(self) -> ServiceApplication: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def check_ready(self) -> None: ...
    def translate(self, event: Any) -> Contract | None: ...
    def consumers(self) -> Sequence[Consumer]: ...


@dataclass
class Runtime:
    """Everything one process runs, built in the lifespan."""

    settings: Settings
    secrets: Secrets
    engine: AsyncEngine
    services: dict[str, Service] = field(default_factory=dict)
    backbone: Backbone | None = None

    @classmethod
    async def start(cls, settings: Settings, names: Sequence[str]) -> Runtime:
        secrets = load_secrets(settings)
        await ensure_schema(settings)
        engine = create_engine(settings)
        await migrate(engine, SHARED_MIGRATIONS, "alembic_version_shared")
        runtime = cls(settings, secrets, engine)
        for name in names:
            service = _build(name, settings, secrets)
            await service.start()
            runtime.services[name] = service
        outboxes = {n: Outbox(n, s.app, s.translate) for n, s in runtime.services.items()}
        consumers = [c for s in runtime.services.values() for c in s.consumers()]
        runtime.backbone = Backbone(settings, outboxes, consumers)
        await runtime.backbone.start()
        log.info("started", services=list(names), embedded=settings.embedded_store)
        return runtime

    async def stop(self) -> None:
        if self.backbone is not None:
            await self.backbone.stop()
        for service in reversed(list(self.services.values())):
            await service.stop()
        await self.engine.dispose()

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


# service name → (module with the service class, its class name); routers live in <module>.api
SERVICE_CLASSES = {
    "intake": ("services.intake.main", "IntakeService"),
    "dispatch": ("services.dispatch.main", "DispatchService"),
    "tracking": ("services.tracking.main", "TrackingService"),
}
AVAILABLE = tuple(name for name in SERVICES if name in SERVICE_CLASSES)


def _build(name: str, settings: Settings, secrets: Secrets) -> Service:
    if name not in SERVICE_CLASSES:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(AVAILABLE)}")
    module_name, class_name = SERVICE_CLASSES[name]
    service: Service = getattr(importlib.import_module(module_name), class_name)(settings, secrets)
    return service


# Open311 GeoReport v2 (/open311/v2/): filing is intake's, following requests tracking's.
OPEN311_SERVICES = ("intake", "tracking")


def _routers(names: Sequence[str]) -> list[Any]:
    modules = [f"services.{name}.api" for name in names if name in SERVICE_CLASSES]
    modules += [f"services.{name}.open311" for name in names if name in OPEN311_SERVICES]
    return [importlib.import_module(module).router for module in modules]


def create_app(settings: Settings | None = None, services: Sequence[str] = AVAILABLE) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, services)
        app.state.runtime = runtime
        app.state.services = runtime.services
        app.state.authenticator = Authenticator(settings, runtime.secrets, runtime.engine)
        try:
            yield
        finally:
            await runtime.stop()

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
    install_problem_handlers(app)
    install_infrastructure_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key"],
        )
    for router in _routers(services):
        app.include_router(router)
    install_links(app)
    if "tracking" in services:  # the workbench's pages read the ledger (ADR 9)
        importlib.import_module("services.ui").install(app)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: databases and broker")
    async def readyz() -> JSONResponse:
        checks = await app.state.runtime.readiness()
        ready = all(v == "ok" for k, v in checks.items() if k != "nats")
        return JSONResponse(
            {"status": ("ready" if ready else "unavailable"), "checks": checks},
            status_code=200 if ready else 503,
        )

    return app
