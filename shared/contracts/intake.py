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
