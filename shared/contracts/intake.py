"""What intake tells the other services. No reporter identity ever appears here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from shared.contracts.base import Contract, contract


@contract
class TipRegistered(Contract):
    """A tip was registered and given a case number (登记)."""

    type = "TipRegistered"
    version = 1

    case_id: UUID
    number: str
    channel: str
    content: str
    summary: str | None
    category: str | None
    external_ref: str | None
    occurred_at: datetime | None
    location: dict[str, Any] | None
    subject: dict[str, Any] | None
    named: bool  # 实名: handled first; the identity itself stays sealed in intake
    receipt_digest: str | None
    registered_at: datetime


@contract
class ReporterIdentityViewed(Contract):
    """Someone looked at a named reporter's identity (who is in the envelope's actor)."""

    type = "ReporterIdentityViewed"
    version = 1

    case_id: UUID
    reason: str


@contract
class TipRecordViewed(Contract):
    """Someone read a tip's registration record (who is in the envelope's actor)."""

    type = "TipRecordViewed"
    version = 1

    case_id: UUID


@contract
class ReporterSmsConsentWithdrawn(Contract):
    """The office or an operator recorded that a named reporter asked to be texted no more
    (撤回短信告知同意, ADR 37 addendum; who is in the envelope's actor). Only the fact and
    the recorder's reason travel: whether a reporter agreed to texts is shown to those who may
    reveal the reporter, never the phone."""

    type = "ReporterSmsConsentWithdrawn"
    version = 1

    case_id: UUID
    reason: str | None


@contract
class ReporterSmsConsentGiven(Contract):
    """A named reporter who left a phone agreed to SMS notices after registration (ADR 37
    addendum; who recorded it is in the envelope's actor)."""

    type = "ReporterSmsConsentGiven"
    version = 1

    case_id: UUID
    reason: str | None


@contract
class TipOriginRecorded(Contract):
    """Where a tip came from, when it came from a body at some level (``origin``:
    ``{level: district|city|province|central, body}``): a higher level's 暗访, 转办 or
    exposure. Recorded with the registration when the operator gives it."""

    type = "TipOriginRecorded"
    version = 1

    case_id: UUID
    origin: dict[str, Any]


@contract
class TipEvidenceAttached(Contract):
    """The files a tip came with, in the registration's own request (线索证据, ADR 22): each
    ``{digest, media_type, size}`` — the keyed digest of the cleaned file in the shared
    attachment store, its type by content and its size. Never the bytes, never a name.
    Recorded with the registration; dispatch puts them on the case as its ``evidence``."""

    type = "TipEvidenceAttached"
    version = 1

    case_id: UUID
    files: list[dict[str, Any]]


@contract
class CategoryCatalogueChanged(Contract):
    """The office changed the category catalogue (问题分类): ``change`` is ``added``,
    ``renamed``, ``retired``, ``reinstated`` or ``moved``. The catalogue's seed is static data
    (``shared.contracts.catalogue``, ``seed_version``); only these changes travel (ADR 25)."""

    type = "CategoryCatalogueChanged"
    version = 1

    change: str
    code: str
    name: str | None
    parent: str | None
    seed_version: int
