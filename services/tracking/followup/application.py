"""Tracking's write side: what happens after a result is accepted (feedback, evaluation,
second pass, accountability, close-out). Each command: get → command → save."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.tracking.followup.domain import AWAITING_EVALUATION, COMPLAINANT, Actor, FollowUp
from services.tracking.followup.errors import FollowUpNotFound
from services.tracking.followup.evaluators import DEFAULT_SECOND_PASS_STARTERS, recorded_kind
from shared.platform.eventstore import ServiceApplication

MAX_CONFLICT_RETRIES = 5
EVALUATOR = "evaluator"  # the role whose actors see only cases awaiting evaluation


@dataclass(frozen=True)
class Recorded:
    """The answer to a command: the follow-up after it, and where its last event sits in
    tracking's log (a reader waits for the ledger to reach that position)."""

    case_id: UUID
    status: str
    pass_no: int
    position: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "status": self.status,
            "pass_no": self.pass_no,
            "position": self.position,
        }


class TrackingApplication(ServiceApplication):
    name = "Tracking"
    # Whose dissatisfaction starts a second pass by itself (ADR 20; the service sets it).
    second_pass_starters: frozenset[str] = DEFAULT_SECOND_PASS_STARTERS

    # --- commands --------------------------------------------------------------------------

    def deliver_feedback(self, case_id: UUID, channel: str, content: str, actor: Actor) -> Recorded:
        return self._change(case_id, lambda f: f.deliver_feedback(channel, content, actor))

    def evaluate(
        self,
        case_id: UUID,
        *,
        rating: str,
        evaluator_kind: str | None,
        comment: str | None,
        actor: Actor,
        via_receipt: bool = False,
        credential_kind: str | None = None,
        linked_from: str | None = None,
    ) -> Recorded:
        """An evaluator sees only cases awaiting evaluation: any other is unknown to it. Its
        kind is its credential's (``credential_kind``); ``evaluator_kind`` is what the body
        claims, refused if it disagrees (ADR 20)."""
        role = str(actor.get("role"))
        kind = COMPLAINANT if via_receipt else recorded_kind(role, credential_kind, evaluator_kind)

        def command(follow_up: FollowUp) -> None:
            if role == EVALUATOR and follow_up.status != AWAITING_EVALUATION:
                raise FollowUpNotFound(case_id)
            starters = self.second_pass_starters
            follow_up.evaluate(rating, kind, comment, actor, via_receipt, starters, linked_from)

        return self._change(case_id, command)

    def decide_referral(self, case_id: UUID, start: bool, reason: str, actor: Actor) -> Recorded:
        return self._change(case_id, lambda f: f.decide_referral(start, reason, actor))

    def close_out(self, case_id: UUID, actor: Actor) -> Recorded:
        return self._change(case_id, lambda f: f.close_out(actor, self.close_out_blockers(case_id)))

    # --- ports the service fills (ADR 19): what else a case owes, what else a change does --

    def close_out_blockers(self, case_id: UUID) -> list[dict[str, str]]:
        """What else stands between the case and close-out (none, unless the service says)."""
        return []

    def consequences(self, follow_up: FollowUp) -> list[Any]:
        """Other aggregates the follow-up's pending events change, saved in the same
        transaction (none, unless the service says)."""
        return []

    # --- reactions (called by the policy; they return what to save) ------------------------

    def start_follow_up(
        self, case_id: UUID, number: str, channel: str, named: bool, actor: Actor
    ) -> list[FollowUp]:
        if self.find(case_id) is not None:
            return []
        return [
            FollowUp.start(
                case_id=case_id, number=number, channel=channel, named=named, actor=actor
            )
        ]

    # --- queries ---------------------------------------------------------------------------

    def find(self, case_id: UUID) -> FollowUp | None:
        try:
            follow_up: object = self.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        return follow_up if isinstance(follow_up, FollowUp) else None

    def get(self, case_id: UUID) -> FollowUp:
        follow_up = self.find(case_id)
        if follow_up is None:
            raise FollowUpNotFound(case_id)
        return follow_up

    # --- the one way a command changes a follow-up -----------------------------------------

    def remind_answer(
        self, case_id: UUID, answer: str, due: datetime, missed: bool, actor: Actor
    ) -> Recorded:
        """催办 / 督办 on a named reporter's answer, once each (ADR 32)."""
        return self._change(
            case_id, lambda f: f.remind_answer(answer=answer, due=due, missed=missed, actor=actor)
        )

    def _change(self, case_id: UUID, command: Callable[[FollowUp], object]) -> Recorded:
        """Load, command, save; a concurrent change to the same case makes us load again, so
        the command is judged against the newest state (e.g. the same channel twice → 409)."""
        for _ in range(MAX_CONFLICT_RETRIES):
            follow_up = self.get(case_id)
            command(follow_up)
            try:
                recordings = self.save(follow_up, *self.consequences(follow_up))
            except IntegrityError:
                continue
            position = recordings[-1].notification.id if recordings else None
            return Recorded(case_id, follow_up.status, follow_up.pass_no, position)
        raise RuntimeError(f"follow-up {case_id} kept changing under us")
