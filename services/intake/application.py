"""Intake: tips in, ``Tip.Registered`` events saved, one case number each.

Registrations arrive in batches (see ``services.intake.groupcommit``): one transaction saves every
new tip of a batch with the numbers issued for them (``services.intake.registering``), which is
what lets intake keep up with a hotline's peak on a store whose writers are serialized.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError

from services.intake.catalogue import CategoryCatalogue
from services.intake.cataloguing import CataloguingMixin
from services.intake.domain import CaseNumberSequence, NoReporterPhoneError, Tip
from services.intake.keyvault import KeyVault
from services.intake.registering import (
    IdempotencyConflict,
    RegisteringMixin,
    Registration,
    TipSubmission,
)
from shared.platform.eventstore import ServiceApplication
from shared.platform.protection import Fingerprinter
from shared.platform.recorders import with_also

__all__ = [
    "IdempotencyConflict",
    "IntakeApplication",
    "NoSmsConsent",
    "Registration",
    "TextedCase",
    "TipNotFound",
    "TipSubmission",
]


class TipNotFound(Exception):
    """No tip with this id — or none this caller may see (an operator sees only its own)."""


class TextedCase(NamedTuple):
    """What the SMS projection needs of a consenting reporter's tip (ADR 37, 44)."""

    number: str
    has_receipt: bool


class NoSmsConsent(Exception):
    """The reporter has not agreed to texts (or withdrew): nothing may be sent (ADR 37)."""


OPERATOR = "operator"  # the role whose actors see only the tips they registered


class IntakeApplication(CataloguingMixin, RegisteringMixin, ServiceApplication):
    name = "Intake"
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "1000"}
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        CaseNumberSequence: 100,
        CategoryCatalogue: 50,  # the office's changes, for years (issue 24)
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        keys: KeyVault,
        receipt_secret: bytes,
        fingerprints: Fingerprinter,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(with_also(env or {}))
        self._init_registering()
        self.keys = keys
        self.receipt_secret = receipt_secret
        self.fingerprints = fingerprints
        self.timezone = ZoneInfo(timezone)
        self.clock = clock

    # --- commands ------------------------------------------------------------------------

    def reveal_reporter(self, case_id: UUID, actor: dict[str, Any], reason: str) -> Any:
        """The reporter's identity, after recording who looked and why."""
        tip = self.visible_tip(case_id, actor)
        tip.check_identity_viewable()
        sealer = self.keys.sealer(case_id)  # CaseKeyDestroyed after the retention period
        tip.view_identity(actor, reason)
        self.save(tip)
        assert tip.reporter_sealed is not None
        return sealer.open(tip.reporter_sealed, tip.id)

    def read_tip(self, case_id: UUID, actor: dict[str, Any]) -> Tip:
        """The registration record, after recording who read it. A reveal saved meanwhile
        moves the tip on: the read is recorded on the newer version."""
        return self._recorded(case_id, actor, lambda tip: tip.view_record(actor))

    def set_sms_consent(
        self, case_id: UUID, consent: bool, actor: dict[str, Any], reason: str | None
    ) -> Tip:
        """Record the reporter's consent to SMS notices withdrawn or given after registration
        (ADR 37 addendum). Given again, the reporter must have left a phone: unsealed in
        memory to check, never shown. Unchanged, nothing is recorded."""
        now = self.clock()
        if not consent:
            return self._recorded(
                case_id, actor, lambda t: t.withdraw_sms_consent(actor, reason, now)
            )
        tip = self.visible_tip(case_id, actor)
        tip.check_sms_consent_changeable()
        if not tip.sms_consent and self.reporter_phone(case_id, consented=False) is None:
            raise NoReporterPhoneError(case_id)
        return self._recorded(case_id, actor, lambda t: t.give_sms_consent(actor, reason, now))

    def withdraw_sms_consent(self, case_id: UUID, actor: dict[str, Any], reason: str) -> bool:
        """撤回 as the reporter's own reply to a text says it (ADR 49): whether consent was
        withdrawn now (False: it was already, and nothing is recorded)."""
        now = self.clock()
        withdrawn = False

        def withdraw(tip: Tip) -> None:
            nonlocal withdrawn
            withdrawn = tip.sms_consent
            tip.withdraw_sms_consent(actor, reason, now)

        self._recorded(case_id, actor, withdraw)
        return withdrawn

    def _recorded(
        self, case_id: UUID, actor: dict[str, Any], command: Callable[[Tip], None]
    ) -> Tip:
        """``command`` on the tip, saved. A save meanwhile (a read, a reveal) moves the tip
        on: the command is run again on the newer version."""
        attempts = 3
        while True:
            tip = self.visible_tip(case_id, actor)
            command(tip)
            try:
                self.save(tip)
            except IntegrityError:
                attempts -= 1
                if not attempts:
                    raise
                continue
            return tip

    def shred_registered_before(self, cutoff: datetime) -> int:
        """Crypto-shred the sealed parts of every tip registered before ``cutoff``."""
        return self.keys.destroy_registered_before(cutoff)

    # --- queries -------------------------------------------------------------------------

    def texted_case(self, case_id: UUID) -> TextedCase | None:
        """The case's number, and whether it has a receipt code to tell (ADR 44), if its
        reporter agrees to SMS notices now (ADR 37: consent may be withdrawn and given again
        later), else None."""
        try:
            tip = self.get_tip(case_id)
        except AggregateNotFoundError:
            return None
        if not tip.sms_consent:
            return None
        return TextedCase(tip.number, has_receipt=tip.receipt_sealed is not None)

    def registered_at(self, case_id: UUID) -> datetime:
        """When the tip was registered: its identity key is shredded by this time (and the
        keyed digest of its texted phone with it, ADR 49)."""
        registered: datetime = self.get_tip(case_id).created_on
        return registered

    def receipt_code(self, case_id: UUID) -> str | None:
        """The tip's receipt code, unsealed in memory for the moment of sending a text that
        carries it (ADR 44); None for a tip without one (a named reporter's before ADR 44).
        ``CaseKeyDestroyed`` after the retention period. Never stored, never logged."""
        tip = self.get_tip(case_id)
        if tip.receipt_sealed is None:
            return None
        return str(self.keys.sealer(case_id).open(tip.receipt_sealed, tip.id))

    def reporter_phone(self, case_id: UUID, *, consented: bool = True) -> str | None:
        """The consenting reporter's phone, unsealed in memory for the moment of sending
        (``CaseKeyDestroyed`` after the retention period). Never stored, never logged.
        Read again right before each text: consent withdrawn meanwhile → :class:`NoSmsConsent`."""
        tip = self.get_tip(case_id)
        if consented and not tip.sms_consent:
            raise NoSmsConsent(case_id)
        if tip.reporter_sealed is None:
            return None
        identity = self.keys.sealer(case_id).open(tip.reporter_sealed, tip.id)
        phone = identity.get("phone") if isinstance(identity, dict) else None
        return str(phone) if phone else None

    def visible_tip(self, case_id: UUID, viewer: dict[str, Any]) -> Tip:
        """The tip, if this viewer may see it; else :class:`TipNotFound`."""
        try:
            tip = self.get_tip(case_id)
        except AggregateNotFoundError:
            raise TipNotFound(case_id) from None
        if viewer.get("role") == OPERATOR and tip.registered_by["id"] != viewer.get("id"):
            raise TipNotFound(case_id)
        return tip

    def get_tip(self, case_id: UUID) -> Tip:
        tip: object = self.repository.get(case_id)
        if not isinstance(tip, Tip):
            raise AggregateNotFoundError(case_id)
        return tip

    def _find(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
