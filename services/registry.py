"""Every service this code base can run: its class, its routers and how its API refuses.

The composition root (``app.py``), the command line (``cli.py``) and the whole-system tools
(``ops/``) find services here — by import, so that a reader and ``lint-imports`` both see
what they use. Nothing is built at import: :func:`build_service` makes an unstarted service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter

from services.dispatch import api as dispatch_api
from services.dispatch.service import DispatchService
from services.insight import api as insight_api
from services.insight.service import InsightService
from services.intake import api as intake_api
from services.intake import catalogue_api as intake_catalogue_api
from services.intake import open311 as intake_open311
from services.intake.keyvault import KeyVault
from services.intake.reporter_sms import api as intake_reporter_sms
from services.intake.service import IntakeService, key_vault
from services.notify import api as notify_api
from services.notify.service import NotifyService
from services.tracking.accountability import api as accountability_api
from services.tracking.assessment import api as assessment_api
from services.tracking.followup import api as followup_api
from services.tracking.ledger import accountability_list
from services.tracking.ledger import api as ledger_api
from services.tracking.ledger import open311 as ledger_open311
from services.tracking.ledger import worklist as ledger_worklist
from services.tracking.ledger.public import api as public_api
from services.tracking.ledger.reports import answers as reports_answers
from services.tracking.ledger.reports import api as reports_api
from services.tracking.service import TrackingService
from shared.contracts import Contract
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging import Consumer
from shared.platform.settings import SERVICES, ConfigurationError, Secrets, Settings
from shared.web.refusals import Refusals


class Service(Protocol):
    """What the composition root and the tools need of a service."""

    @property
    def name(self) -> str: ...
    @property
    def app(self) -> ServiceApplication: ...

    async def start(self, background: bool = True) -> None: ...
    async def stop(self) -> None: ...
    def check_ready(self) -> None: ...
    def translate(self, event: Any) -> Contract | None: ...
    def consumers(self) -> Sequence[Consumer]: ...


@dataclass(frozen=True)
class Registered:
    service: type[
        IntakeService | DispatchService | TrackingService | NotifyService | InsightService
    ]
    routers: tuple[APIRouter, ...]  # in the order they are mounted
    refusals: Refusals  # the service's domain errors → problem+json


REGISTRY: dict[str, Registered] = {
    "intake": Registered(
        IntakeService,
        (
            intake_api.router,
            intake_catalogue_api.router,
            intake_open311.router,
            intake_reporter_sms.router,
        ),
        intake_api.REFUSALS,
    ),
    "dispatch": Registered(DispatchService, (dispatch_api.router,), dispatch_api.REFUSALS),
    "tracking": Registered(
        TrackingService,
        (
            ledger_api.router,
            ledger_worklist.router,
            followup_api.router,
            accountability_api.router,
            accountability_api.tables_router,
            accountability_api.units_router,
            accountability_list.router,
            reports_api.router,
            reports_answers.router,
            public_api.router,
            public_api.images,
            followup_api.public,
            ledger_open311.router,
            assessment_api.router,
            assessment_api.circulars,
            assessment_api.rounds,
            assessment_api.public,
        ),
        {**followup_api.REFUSALS, **accountability_api.REFUSALS, **assessment_api.REFUSALS},
    ),
    "notify": Registered(NotifyService, (notify_api.router,), notify_api.REFUSALS),
    "insight": Registered(InsightService, (insight_api.router,), insight_api.REFUSALS),
}
AVAILABLE = tuple(name for name in SERVICES if name in REGISTRY)


def registered(name: str) -> Registered:
    if name not in REGISTRY:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(AVAILABLE)}")
    return REGISTRY[name]


def connection_demand(names: Sequence[str], pool_size: int) -> int:
    """The most PostgreSQL connections one process running ``names`` holds: the shared read
    engine (credentials, relay records) and each service's pools and sessions."""
    return 2 * pool_size + sum(registered(n).service.connections(pool_size) for n in names)


def budgeted(settings: Settings, names: Sequence[str]) -> Settings:
    """The settings with the largest pool size whose demand fits the process's connection
    budget (``TAIZHANG_DB_CONNECTION_BUDGET``), or unchanged without a budget."""
    budget = settings.db_connection_budget
    if settings.database_url is None or budget is None:
        return settings
    if connection_demand(names, 1) > budget:
        raise ConfigurationError(
            f"TAIZHANG_DB_CONNECTION_BUDGET={budget} is below the "
            f"{connection_demand(names, 1)} connections {', '.join(names)} need with pools of one"
        )
    size = max(s for s in range(1, 51) if connection_demand(names, s) <= budget)
    return settings.model_copy(update={"db_pool_size": size})


def build_service(name: str, settings: Settings, secrets: Secrets) -> Service:
    """An unstarted service (``await service.start()`` builds its engines and Application)."""
    service: Service = registered(name).service(settings, secrets)
    return service


ReporterKeys = KeyVault


def reporter_keys(settings: Settings, secrets: Secrets) -> ReporterKeys:
    """Intake's vault of reporter identity keys, for the command line's retention and
    rotation commands (the vault is intake's; this is its one public door)."""
    return key_vault(settings, secrets)
