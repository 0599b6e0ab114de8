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
from services.intake import api as intake_api
from services.intake import open311 as intake_open311
from services.intake.keyvault import KeyVault
from services.intake.service import IntakeService, key_vault
from services.tracking.followup import api as followup_api
from services.tracking.ledger import api as ledger_api
from services.tracking.ledger import open311 as ledger_open311
from services.tracking.ledger.public import api as public_api
from services.tracking.ledger.reports import api as reports_api
from services.tracking.service import TrackingService
from shared.contracts import Contract
from shared.platform.eventstore import ServiceApplication
from shared.platform.messaging import Consumer
from shared.platform.settings import SERVICES, Secrets, Settings
from shared.web.refusals import Refusals


class Service(Protocol):
    """What the composition root and the tools need of a service."""

    @property
    def name(self) -> str: ...
    @property
    def app(self) -> ServiceApplication: ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def check_ready(self) -> None: ...
    def translate(self, event: Any) -> Contract | None: ...
    def consumers(self) -> Sequence[Consumer]: ...


@dataclass(frozen=True)
class Registered:
    service: type[IntakeService | DispatchService | TrackingService]
    routers: tuple[APIRouter, ...]  # in the order they are mounted
    refusals: Refusals  # the service's domain errors → problem+json


REGISTRY: dict[str, Registered] = {
    "intake": Registered(
        IntakeService, (intake_api.router, intake_open311.router), intake_api.REFUSALS
    ),
    "dispatch": Registered(DispatchService, (dispatch_api.router,), dispatch_api.REFUSALS),
    "tracking": Registered(
        TrackingService,
        (
            ledger_api.router,
            followup_api.router,
            reports_api.router,
            public_api.router,
            followup_api.public,
            ledger_open311.router,
        ),
        followup_api.REFUSALS,
    ),
}
AVAILABLE = tuple(name for name in SERVICES if name in REGISTRY)


def registered(name: str) -> Registered:
    if name not in REGISTRY:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(AVAILABLE)}")
    return REGISTRY[name]


def build_service(name: str, settings: Settings, secrets: Secrets) -> Service:
    """An unstarted service (``await service.start()`` builds its engines and Application)."""
    service: Service = registered(name).service(settings, secrets)
    return service


ReporterKeys = KeyVault


def reporter_keys(settings: Settings, secrets: Secrets) -> ReporterKeys:
    """Intake's vault of reporter identity keys, for the command line's retention and
    rotation commands (the vault is intake's; this is its one public door)."""
    return key_vault(settings, secrets)
