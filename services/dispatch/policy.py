"""Dispatch's reactions to other services' events: a registered tip opens a case (and is
routed at once when a rule matches) and its files become the case's evidence; the office's
catalogue changes are copied; tracking's second pass reopens it for the lead unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from services.dispatch.application import DispatchApplication
from services.dispatch.errors import DispatchError
from shared.contracts import SYSTEM_ACTOR, Envelope
from shared.contracts.intake import CategoryCatalogueChanged, TipEvidenceAttached, TipRegistered
from shared.contracts.tracking import SecondPassStarted
from shared.platform.messaging.policy import ApplicationPolicy, NotYet, Reaction

log = structlog.get_logger(__name__)


def policies(app: DispatchApplication) -> list[ApplicationPolicy]:
    def on_tip_registered(envelope: Envelope) -> Sequence[Any]:
        tip = envelope.event
        assert isinstance(tip, TipRegistered)
        if app.find_case(tip.case_id) is not None:
            return ()
        return app.open_case(tip, envelope.actor or {})

    def on_tip_evidence(envelope: Envelope) -> Sequence[Any]:
        """The files that came with the tip become the case's ``evidence`` attachments, as
        attached by the registrant at the registration's moment."""
        attached = envelope.event
        assert isinstance(attached, TipEvidenceAttached)
        if app.find_case(attached.case_id) is None:
            raise NotYet  # the tip's own registration has not reached dispatch yet
        return app.attach_tip_evidence(
            attached.case_id, attached.files, envelope.occurred_at, envelope.actor or {}
        )

    def on_second_pass_started(envelope: Envelope) -> Sequence[Any]:
        started = envelope.event
        assert isinstance(started, SecondPassStarted)
        if app.find_case(started.case_id) is None:
            raise NotYet  # the tip's own event has not reached dispatch yet
        try:
            return app.reopen_for_second_pass(
                started.case_id, started.pass_no, envelope.actor or SYSTEM_ACTOR
            )
        except DispatchError as e:
            log.warning("second_pass_not_applicable", case_id=str(started.case_id), reason=str(e))
            return ()

    def on_catalogue_changed(envelope: Envelope) -> Sequence[Any]:
        changed = envelope.event
        assert isinstance(changed, CategoryCatalogueChanged)
        return [app.copy_category_change(changed, envelope.actor or SYSTEM_ACTOR)]

    handlers: dict[type, Reaction] = {
        CategoryCatalogueChanged: on_catalogue_changed,
        TipRegistered: on_tip_registered,
        TipEvidenceAttached: on_tip_evidence,
        SecondPassStarted: on_second_pass_started,
    }
    return [ApplicationPolicy("dispatch", ("intake", "tracking"), app, handlers)]
