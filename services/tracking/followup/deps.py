"""What the follow-up's endpoints are given: its Application, and the one thing it needs of
the ledger — which case a receipt code names — as a port that ``tracking/service.py`` fills
(the follow-up never imports the ledger)."""

from __future__ import annotations

from typing import Annotated, NamedTuple, Protocol
from uuid import UUID

from fastapi import Depends, Request

from services.tracking.followup.application import TrackingApplication


class RatedCase(NamedTuple):
    """The case a receipt's reporter rates: its own, or the one it was merged into (then
    ``linked_from`` is the merged case's number, ADR 20); ``named``: that reporter gave a
    name or phone (ADR 44: they rate as the complainant too, under another label)."""

    case_id: UUID
    linked_from: str | None
    named: bool


class ReceiptCases(Protocol):
    async def receipt_case_id(self, code: str) -> UUID | None:
        """The case a reporter's receipt code names, if the ledger has it."""
        ...

    async def receipt_rated_case(self, code: str) -> RatedCase | None:
        """The case a receipt's reporter rates (:class:`RatedCase`)."""
        ...


def get_follow_ups(request: Request) -> TrackingApplication:
    app: TrackingApplication = request.app.state.services["tracking"].app
    return app


def get_receipt_cases(request: Request) -> ReceiptCases:
    cases: ReceiptCases = request.app.state.services["tracking"]
    return cases


FollowUps = Annotated[TrackingApplication, Depends(get_follow_ups)]
ReceiptCasesDep = Annotated[ReceiptCases, Depends(get_receipt_cases)]
