"""Every service this code base can run: its class, its routers and how its API refuses.

The composition root (``app.py``), the command line (``cli.py``) and the whole-system tools
(``ops/``) find services here — by import, so that a reader and ``lint-imports`` both see
what they use. Nothing is built at import: :func:`build_service` makes an unstarted service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter

from shared.contracts import Contract
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging import Consumer
from shared.platform.settings import SERVICES, ConfigurationError, Secrets, Settings
from shared.web.refusals import Refusals

if TYPE_CHECKING:
    from services.dispatch.service import DispatchService
    from services.insight.service import InsightService
    from services.intake.keyvault import KeyVault
    from services.intake.service import IntakeService
    from services.notify.service import NotifyService
    from services.tracking.service import TrackingService

    ReporterKeys = KeyVault  # the command line names the vault by this


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
    @property
    def published(self) -> frozenset[str] | None: ...
    def consumers(self) -> Sequence[Consumer]: ...


@dataclass(frozen=True)
class Registered:
    service: type[
        IntakeService | DispatchService | TrackingService | NotifyService | InsightService
    ]
    routers: tuple[APIRouter, ...]  # in the order they are mounted
    refusals: Refusals  # the service's domain errors → problem+json


# Each entry imports its service when first asked for: a process serving one service loads
# that one (a tracking start imported all five: ~2 s of CPU more per start, on every replica
# and restart). The imports sit in the functions, where lint-imports still sees them.


def _intake() -> Registered:
    from services.intake import api, catalogue_api, open311
    from services.intake.reporter_sms import api as reporter_sms
    from services.intake.reporter_sms import gateway_api as sms_gateway
    from services.intake.service import IntakeService

    routers = (
        api.router,
        catalogue_api.router,
        open311.router,
        reporter_sms.router,
        sms_gateway.router,
    )
    return Registered(IntakeService, routers, api.REFUSALS)


def _dispatch() -> Registered:
    from services.dispatch import api
    from services.dispatch.service import DispatchService

    return Registered(DispatchService, (api.router,), api.REFUSALS)


def _tracking() -> Registered:
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

    routers = (
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
    )
    refusals = {**followup_api.REFUSALS, **accountability_api.REFUSALS, **assessment_api.REFUSALS}
    return Registered(TrackingService, routers, refusals)


def _notify() -> Registered:
    from services.notify import api
    from services.notify.service import NotifyService

    return Registered(NotifyService, (api.router,), api.REFUSALS)


def _insight() -> Registered:
    from services.insight import api
    from services.insight.service import InsightService

    return Registered(InsightService, (api.router,), api.REFUSALS)


REGISTRY: dict[str, Callable[[], Registered]] = {
    "intake": _intake,
    "dispatch": _dispatch,
    "tracking": _tracking,
    "notify": _notify,
    "insight": _insight,
}
AVAILABLE = tuple(name for name in SERVICES if name in REGISTRY)


@cache
def registered(name: str) -> Registered:
    if name not in REGISTRY:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(AVAILABLE)}")
    return REGISTRY[name]()


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


def reporter_keys(settings: Settings, secrets: Secrets) -> KeyVault:
    """Intake's vault of reporter identity keys, for the command line's retention and
    rotation commands (the vault is intake's; this is its one public door)."""
    from services.intake.service import key_vault

    return key_vault(settings, secrets)


def shred_reporter_phones(settings: Settings, cutoff: datetime) -> int:
    """Remove the keyed digests of texted phones (ADR 49) of tips registered before
    ``cutoff``, whose identity keys the command line shreds with the same cutoff."""
    from services.intake.reporter_sms.phones import shred_phones_registered_before
    from shared.platform.readmodel import run_sync

    return run_sync(shred_phones_registered_before(settings, cutoff))
