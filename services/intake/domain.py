"""Intake's aggregates: the registered tip, the yearly case-number sequence, idempotency keys.

Pure domain: no I/O. Identities that must not be duplicated are deterministic (uuid5), so a
second registration of the same thing fails on the event store's unique constraint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://taizhang.example/intake")


def case_id_for_external_ref(channel: str, external_ref: str) -> UUID:
    """A channel's own reference names one case, whoever sends it and however often."""
    return uuid5(NAMESPACE, f"external-ref:{channel}:{external_ref}")


def format_case_number(year: int, serial: int) -> str:
    return f"{year}-{serial:06d}"


class Tip(Aggregate):
    """问题/线索登记 — a tip as the hotline operator or the office registered it.

    Its id is the case id every service uses. The reporter's identity is sealed before it
    gets here; the aggregate only keeps the seal.
    """

    id: UUID  # given by intake (uuid5 of the channel's reference, else random): Tip(id=…)

    @event("Registered")
    def __init__(
        self,
        *,
        number: str,
        channel: str,
        content: str,
        summary: str | None,
        category: str | None,
        external_ref: str | None,
        occurred_at: datetime | None,
        location: dict[str, Any] | None,
        subject: dict[str, Any] | None,
        anonymous: bool,
        reporter_sealed: dict[str, str] | None,
        receipt_sealed: dict[str, str] | None,
        receipt_digest: str | None,
        fingerprint: str,
        actor: dict[str, Any],
        # 同意短信告知办理进展: the named reporter agreed to be told of progress by SMS (ADR
        # 37). The library asks for every keyword-only argument of a new tip; the default is
        # for events recorded before consent was asked: nobody is texted unasked.
        sms_consent: bool = False,
    ) -> None:
        self.number = number
        self.channel = channel
        self.content = content
        self.summary = summary
        self.category = category
        self.external_ref = external_ref
        self.occurred_at = occurred_at
        self.location = location
        self.subject = subject
        self.anonymous = anonymous
        self.reporter_sealed = reporter_sealed
        self.receipt_sealed = receipt_sealed
        self.receipt_digest = receipt_digest
        self.fingerprint = fingerprint
        self.registered_by = actor
        self.sms_consent = sms_consent
        self.sms_consent_changes: list[dict[str, Any]] = []  # who changed it, when, why
        self.identity_views: list[dict[str, Any]] = []
        self.evidence: list[dict[str, Any]] = []  # 线索证据 that came with the tip

    def record_origin(self, origin: dict[str, Any], actor: dict[str, Any]) -> None:
        """来源: the level and body a tip came from (a higher level's 暗访, 转办, exposure)."""
        self._origin_recorded(origin=origin, actor=actor)

    @event("OriginRecorded")
    def _origin_recorded(self, origin: dict[str, Any], actor: dict[str, Any]) -> None:
        self.origin = origin

    def attach_evidence(self, files: list[dict[str, Any]], actor: dict[str, Any]) -> None:
        """线索证据: the files that came with the tip, as the attachment store keeps them
        (``{digest, media_type, size}`` each: no bytes, no name)."""
        if files:
            self._evidence_attached(files=files, actor=actor)

    @event("EvidenceAttached")
    def _evidence_attached(self, files: list[dict[str, Any]], actor: dict[str, Any]) -> None:
        self.evidence.extend(files)

    @property
    def named(self) -> bool:
        return self.reporter_sealed is not None

    def check_identity_viewable(self) -> None:
        if self.reporter_sealed is None:
            raise AnonymousReporterError("举报人为匿名,没有身份信息 (anonymous reporter)")

    def view_identity(self, actor: dict[str, Any], reason: str) -> None:
        self.check_identity_viewable()
        self._identity_viewed(actor=actor, reason=reason)

    @event("ReporterIdentityViewed")
    def _identity_viewed(self, actor: dict[str, Any], reason: str) -> None:
        self.identity_views.append({"viewer": actor, "reason": reason})

    def view_record(self, actor: dict[str, Any]) -> None:
        """Someone read the registration record (its content names officials and places):
        a fact for the audit trail, as a reveal is (ADR 26 addendum)."""
        self._record_viewed(actor=actor)

    @event("RecordViewed")
    def _record_viewed(self, actor: dict[str, Any]) -> None:
        pass

    def withdraw_sms_consent(self, actor: dict[str, Any], reason: str | None, at: datetime) -> None:
        """撤回短信告知同意: the reporter asked (by phone, in person) to be texted no more.
        Already without consent, nothing is recorded: the wish is already honoured."""
        self.check_sms_consent_changeable()
        if self.sms_consent:
            self._sms_consent_withdrawn(actor=actor, reason=reason, at=at)

    @event("SmsConsentWithdrawn")
    def _sms_consent_withdrawn(
        self, actor: dict[str, Any], reason: str | None, at: datetime
    ) -> None:
        self._sms_consent_changed(False, actor, reason, at)

    def give_sms_consent(self, actor: dict[str, Any], reason: str | None, at: datetime) -> None:
        """同意短信告知, given after registration (the caller checks the reporter left a
        phone: the aggregate holds only the seal). Given already, nothing is recorded."""
        self.check_sms_consent_changeable()
        if not self.sms_consent:
            self._sms_consent_given(actor=actor, reason=reason, at=at)

    @event("SmsConsentGiven")
    def _sms_consent_given(self, actor: dict[str, Any], reason: str | None, at: datetime) -> None:
        self._sms_consent_changed(True, actor, reason, at)

    def _sms_consent_changed(
        self, consent: bool, actor: dict[str, Any], reason: str | None, at: datetime
    ) -> None:
        self.sms_consent = consent
        change = {"consent": consent, "actor": actor, "reason": reason, "at": at}
        self.sms_consent_changes.append(change)

    def check_sms_consent_changeable(self) -> None:
        if self.reporter_sealed is None:
            raise AnonymousSmsConsentError("匿名举报没有可短信告知的举报人 (anonymous reporter)")


class AnonymousReporterError(Exception):
    pass


class AnonymousSmsConsentError(Exception):
    """An anonymous tip has nobody to text: its consent cannot be given or withdrawn."""


class NoReporterPhoneError(Exception):
    """Consent to texts from a reporter who left no phone."""


class CaseNumberSequence(Aggregate):
    """案件编号 — the year's gap-free run of case numbers.

    Numbers are issued in the same transaction as the tips that carry them, so a failed
    registration issues none; concurrent writers collide on this aggregate's version and
    retry, so no number is issued twice.
    """

    @staticmethod
    def create_id(year: int) -> UUID:
        return uuid5(NAMESPACE, f"case-number-sequence:{year}")

    @event("Started")
    def __init__(self, *, year: int) -> None:
        self.year = year
        self.last_serial = 0

    def issue(self, count: int) -> list[str]:
        first = self.last_serial + 1
        self._issued(first=first, last=first + count - 1)
        return [format_case_number(self.year, n) for n in range(first, first + count)]

    @event("NumbersIssued")
    def _issued(self, first: int, last: int) -> None:
        self.last_serial = last


class IdempotencyKey(Aggregate):
    """A client's ``Idempotency-Key``, claimed by the first request that carried it."""

    @staticmethod
    def create_id(owner: str, key: str) -> UUID:
        return uuid5(NAMESPACE, f"idempotency-key:{owner}:{key}")

    @event("Claimed")
    def __init__(self, *, owner: str, key: str, case_id: UUID, fingerprint: str) -> None:
        self.owner = owner
        self.key = key
        self.case_id = case_id
        self.fingerprint = fingerprint
