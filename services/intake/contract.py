"""Intake's domain events → integration events (``shared.contracts.intake``).

Every event of a ``Tip`` and of the category catalogue is published (read models rely on each
stream's versions arriving without gaps); the number sequence and idempotency keys stay inside
intake.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import Contract
from shared.contracts.intake import (
    CategoryCatalogueChanged,
    ReporterIdentityViewed,
    ReporterSmsConsentGiven,
    ReporterSmsConsentWithdrawn,
    TipEvidenceAttached,
    TipOriginRecorded,
    TipRecordViewed,
    TipRegistered,
)


def _registered(event: Any) -> Contract:
    return TipRegistered(
        case_id=event.originator_id,
        number=event.number,
        channel=event.channel,
        content=event.content,
        summary=event.summary,
        category=event.category,
        external_ref=event.external_ref,
        occurred_at=event.occurred_at,
        location=event.location,
        subject=event.subject,
        named=event.reporter_sealed is not None,
        receipt_digest=event.receipt_digest,
        registered_at=event.timestamp,
    )


def _identity_viewed(event: Any) -> Contract:
    return ReporterIdentityViewed(case_id=event.originator_id, reason=event.reason)


def _record_viewed(event: Any) -> Contract:
    return TipRecordViewed(case_id=event.originator_id)


def _sms_consent_withdrawn(event: Any) -> Contract:
    return ReporterSmsConsentWithdrawn(case_id=event.originator_id, reason=event.reason)


def _sms_consent_given(event: Any) -> Contract:
    return ReporterSmsConsentGiven(case_id=event.originator_id, reason=event.reason)


def _origin(event: Any) -> Contract:
    return TipOriginRecorded(case_id=event.originator_id, origin=event.origin)


def _evidence(event: Any) -> Contract:
    return TipEvidenceAttached(case_id=event.originator_id, files=event.files)


def _catalogue(event: Any) -> Contract:
    return CategoryCatalogueChanged(
        change=event.change,
        code=event.code,
        name=event.name,
        parent=event.parent,
        seed_version=event.seed_version,
    )


# domain event class (by qualified name) → its integration event
TRANSLATIONS = {
    "Tip.Registered": _registered,
    "Tip.ReporterIdentityViewed": _identity_viewed,
    "Tip.RecordViewed": _record_viewed,
    "Tip.SmsConsentWithdrawn": _sms_consent_withdrawn,
    "Tip.SmsConsentGiven": _sms_consent_given,
    "Tip.OriginRecorded": _origin,
    "Tip.EvidenceAttached": _evidence,
    # every event of the catalogue, its first included (ADR 25)
    "CategoryCatalogue.Started": _catalogue,
    "CategoryCatalogue.Changed": _catalogue,
}


def to_contract(event: Any) -> Contract | None:
    translate = TRANSLATIONS.get(type(event).__qualname__)
    return translate(event) if translate else None
