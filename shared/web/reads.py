"""Audited reads (ADR 26) as an endpoint records them: who read what, with what outcome.

The tracking service writes them to its read audit (``services/tracking/ledger/audit.py``);
its wings and the other routes that show protected data know only this port. Filters are
handed over as asked: free-text ones (a name, a phone number) are keyed before they are kept.
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from shared.web.auth import Principal

SHOWN = "shown"
NOT_FOUND = "not_found"


class ReadNotRecorded(Exception):
    """An export's audit row could not be committed: the export is refused (503), never
    served unrecorded (ADR 26, third addendum)."""


class ReadRecorder(Protocol):
    async def record_read(
        self,
        principal: Principal,
        type: str,
        *,
        case_id: UUID | None = None,
        outcome: str = SHOWN,
        asked: dict[str, Any] | None = None,
    ) -> None: ...
