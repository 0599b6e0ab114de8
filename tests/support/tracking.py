"""Driving the tracking service in tests: the all-in-one app served on a loopback port, plus
a way to deliver contract events (as dispatch would publish them) to tracking's real
consumers — the ledger projection and the follow-up policy — in the server's own loop.

Tips are registered for real through intake; dispatch on this branch only opens cases, so
its later events are built here from ``shared.contracts.dispatch`` and fed to the consumers.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from services.tracking.service import TrackingService
from shared.contracts import Contract, Envelope
from shared.contracts import dispatch as d
from shared.platform.messaging import Outcome
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.infra import ServerThread, wait_for

OFFICE = {"id": "office:王主任", "name": "王主任", "role": "office", "unit": None}
FEED_TIMEOUT = 30.0


def liaison(unit: str) -> dict[str, Any]:
    return {
        "id": f"unit_liaison:{unit}",
        "name": f"{unit}联络员",
        "role": "unit_liaison",
        "unit": unit,
    }


class Served:
    """The app with its server loop at hand."""

    def __init__(self, settings: Settings) -> None:
        from services.app import create_app

        # Dispatch's later events come from this harness, so no seeded rule may route a case.
        settings = settings.model_copy(update={"seed_directory": False})
        self.settings = settings
        self.app: FastAPI = create_app(settings)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.api: Api
        self._positions = itertools.count(1_000_000)
        self._versions: dict[uuid.UUID, int] = {}
        original = self.app.router.lifespan_context

        @asynccontextmanager
        async def capturing(app: FastAPI) -> AsyncIterator[Any]:
            self.loop = asyncio.get_running_loop()
            async with original(app) as state:
                yield state

        self.app.router.lifespan_context = capturing

    @property
    def tracking(self) -> TrackingService:
        service: TrackingService = self.app.state.services["tracking"]
        return service

    # --- dispatch's side of a case, as events ----------------------------------------------

    def dispatch_event(
        self,
        event: Contract,
        *,
        stream_id: uuid.UUID | None = None,
        actor: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Envelope:
        """Deliver one dispatch event, continuing its stream (a case's stream starts with the
        real ``CaseOpened`` at version 1), and wait until every consumer has it."""
        stream = stream_id or event.case_id  # type: ignore[attr-defined]
        if stream not in self._versions:  # continue after what the real dispatch recorded
            self._versions[stream] = self._recorded_version(stream)
        version = self._versions[stream] + 1
        self._versions[stream] = version
        envelope = Envelope(
            source="dispatch",
            position=next(self._positions),
            stream_id=stream,
            stream_version=version,
            occurred_at=at or self.tracking.now(),
            actor=actor or OFFICE,
            event=event,
        )
        self.deliver(envelope)
        return envelope

    def _recorded_version(self, stream: uuid.UUID) -> int:
        """A case's stream: after the real dispatch opened it (and maybe flagged it)."""
        dispatch = self.app.state.services["dispatch"].app
        if dispatch.find_case(stream) is None and self._is_case(stream):
            wait_for(lambda: dispatch.find_case(stream) is not None, 30, "dispatch to open it")
        case = dispatch.find_case(stream)
        return int(case.version) if case is not None else 0

    def _is_case(self, stream: uuid.UUID) -> bool:
        intake = self.app.state.services["intake"].app
        try:
            intake.get_tip(stream)
        except Exception:
            return False
        return True

    def deliver(self, envelope: Envelope) -> None:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(self._deliver(envelope), self.loop)
        future.result(FEED_TIMEOUT + 5)

    async def _deliver(self, envelope: Envelope) -> None:
        for consumer in self.tracking.consumers():
            if envelope.source not in consumer.sources:
                continue
            deadline = time.monotonic() + FEED_TIMEOUT
            while await consumer.handle(envelope) is Outcome.RETRY_LATER:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{consumer.name} kept deferring {envelope.type}")
                await asyncio.sleep(0.05)

    def unit(self, code: str, name: str) -> None:
        self.dispatch_event(
            d.UnitRegistered(code=code, name=name, kind="department", parent=None, liaisons=[]),
            stream_id=uuid.uuid5(uuid.NAMESPACE_URL, f"unit:{code}"),
        )


class Case:
    """One case: registered through intake for real, then walked through dispatch's phases."""

    def __init__(self, served: Served, **tip: Any) -> None:
        self.served = served
        self.api = api = served.api
        answer = api.register(**tip)
        assert answer.status_code == 201, answer.text
        self.answer = answer.json()
        self.id = uuid.UUID(self.answer["case_id"])
        self.number = self.answer["number"]
        self.pass_no = 1
        self.lead_unit: str | None = None
        self.track = "general"
        wait_for(self.opened, 30, f"case {self.number} on the ledger")
        # … and in dispatch, which a test's own command (triage) reaches next: the two
        # consume intake's event apart (a triage answered 404 once, seen in CI)
        dispatch = served.app.state.services["dispatch"].app
        wait_for(lambda: dispatch.find_case(self.id) is not None, 30, "dispatch to open it")

    def opened(self) -> bool:
        # registered_at comes from intake's own event only: dispatch's CaseOpened may reach
        # the ledger first (two streams), and the receipt digest rides on intake's event.
        r = self.api.get(f"/api/v1/cases/{self.id}", headers=self.api.auth("office"))
        return r.status_code == 200 and bool(r.json().get("registered_at"))

    def view(self, role: str = "office", **auth: Any) -> dict[str, Any]:
        r = self.api.get(f"/api/v1/cases/{self.id}", headers=self.api.auth(role, **auth))
        assert r.status_code == 200, r.text
        return r.json()

    def wait_status(self, status: str) -> dict[str, Any]:
        return wait_for(
            lambda: (v := self.view())["status"] == status and v, 30, f"status {status}"
        )

    def emit(
        self,
        event_class: type[Contract],
        status: str,
        actor: dict[str, Any] | None = None,
        at: datetime | None = None,
        **data: Any,
    ) -> Envelope:
        event = event_class(case_id=self.id, status=status, pass_no=self.pass_no, **data)
        return self.served.dispatch_event(event, actor=actor or OFFICE, at=at)

    def triage(self, track: str = "general", category: str | None = "乱收费") -> Case:
        self.track = track
        self.emit(d.CaseTriaged, "registered", track=track, category=category, note=None)
        return self

    def dispatch(
        self,
        lead_unit: str,
        co_units: tuple[str, ...] = (),
        *,
        sign_in: timedelta = timedelta(days=1),
        handle_in: timedelta = timedelta(days=15),
        now: datetime | None = None,
    ) -> Case:
        moment = now or self.served.tracking.now()
        self.lead_unit = lead_unit
        self.emit(
            d.CaseDispatched,
            "dispatched",
            lead_unit=lead_unit,
            co_units=list(co_units),
            track=self.track,
            handle_working_days=15,
            sign_deadline=moment + sign_in,
            sign_deadline_provisional=False,
            handle_deadline=moment + handle_in,
            handle_deadline_provisional=False,
            redispatch=False,
        )
        return self

    def sign(self, on_time: bool = True) -> Case:
        assert self.lead_unit
        self.emit(
            d.CaseSigned,
            "in_progress",
            liaison(self.lead_unit),
            unit=self.lead_unit,
            on_time=on_time,
        )
        return self

    def submit(self, n: int = 1, on_time: bool = True, both_findings: bool = False) -> Case:
        assert self.lead_unit
        self.emit(
            d.ResultSubmitted,
            "result_submitted",
            liaison(self.lead_unit),
            n=n,
            unit=self.lead_unit,
            findings="经查,反映问题属实",
            rectification="已责令退还多收费用",
            proposal_kind="rectification",
            proposal_text="加强收费公示",
            signed_off_by="李局长",
            direct_person_findings="窗口人员张某违规收费" if both_findings else None,
            leadership_findings="分管领导监管不力" if both_findings else None,
            on_time=on_time,
        )
        return self

    def accept(self, n: int = 1) -> Case:
        self.emit(d.ResultReviewed, "awaiting_feedback", n=n, accepted=True, reason=None)
        return self

    def reopen_for_second_pass(self, handle_in: timedelta = timedelta(days=10)) -> Case:
        assert self.lead_unit
        self.pass_no += 1
        self.emit(
            d.CaseReopenedForSecondPass,
            "in_progress",
            unit=self.lead_unit,
            handle_deadline=self.served.tracking.now() + handle_in,
            handle_deadline_provisional=False,
        )
        return self

    def handled(self, lead_unit: str, co_units: tuple[str, ...] = ()) -> Case:
        """Triaged, dispatched, signed, result submitted and accepted: follow-up is open."""
        self.triage().dispatch(lead_unit, co_units).sign().submit().accept()
        return self

    # --- tracking's commands, through the API --------------------------------------------

    def post(self, action: str, body: Any = None, role: str = "office", **auth: Any) -> Any:
        return self.api.post(
            f"/api/v1/cases/{self.id}/{action}", json=body, headers=self.api.auth(role, **auth)
        )


@contextmanager
def serving(settings: Settings) -> Iterator[Served]:
    """The all-in-one app served on a loopback port, with ``api`` signed in as anyone."""
    served = Served(settings)
    with ServerThread(served.app) as server, Api(server.url, settings) as client:
        served.api = client
        yield served


@pytest.fixture(name="served")
def served_fixture(settings: Settings) -> Iterator[Served]:
    """The all-in-one app on SQLite and on PostgreSQL, with ``served.api`` signed in as anyone."""
    with serving(settings) as served:
        yield served
