"""Tracking's reactions to dispatch: a follow-up per opened case, opened for feedback and
evaluation when the result of a pass is accepted.

| dispatch event                       | tracking does                                  |
|--------------------------------------|------------------------------------------------|
| ``CaseOpened``                       | starts the case's ``FollowUp`` (required feedback known) |
| ``ResultReviewed(accepted=True, n)`` | opens pass n for feedback → ``FollowUpOpened``  |
| ``CaseMerged``, ``CaseNotAccepted``  | concludes it (a direct reply is owed) → ``Concluded`` |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.tracking.followup.application import TrackingApplication
from shared.contracts import SYSTEM_ACTOR, Envelope
from shared.contracts.dispatch import CaseMerged, CaseNotAccepted, CaseOpened, ResultReviewed
from shared.platform.messaging.policy import ApplicationPolicy, NotYet, Reaction


def follow_up_policy(
    app: TrackingApplication,
    also: Mapping[type, Reaction] | None = None,
    sources: Sequence[str] = ("dispatch",),
) -> ApplicationPolicy:
    """``also``: more reactions on the same store (the service adds the accountability
    procedure's, with ``intake`` among the sources), since a store tracks each source once."""

    def on_case_opened(envelope: Envelope) -> Sequence[Any]:
        opened = envelope.event
        assert isinstance(opened, CaseOpened)
        return app.start_follow_up(
            opened.case_id, opened.number, opened.channel, opened.named, _actor(envelope)
        )

    def on_result_reviewed(envelope: Envelope) -> Sequence[Any]:
        review = envelope.event
        assert isinstance(review, ResultReviewed)
        if not review.accepted:
            return ()
        follow_up = app.find(review.case_id)
        if follow_up is None:
            raise NotYet  # CaseOpened has not been processed yet
        follow_up.open(review.pass_no, _actor(envelope))
        return (follow_up,)

    def on_concluded(envelope: Envelope) -> Sequence[Any]:
        """Merged or not accepted: the reporter is owed a reply all the same (ADR 20)."""
        e = envelope.event
        assert isinstance(e, CaseMerged | CaseNotAccepted)
        follow_up = app.find(e.case_id)
        if follow_up is None:
            raise NotYet
        if isinstance(e, CaseMerged):
            follow_up.conclude("merged", e.reason, e.into_number, _actor(envelope))
        else:
            follow_up.conclude("not_accepted", e.reason, None, _actor(envelope))
        return (follow_up,)

    handlers: dict[type, Reaction] = {
        CaseOpened: on_case_opened,
        ResultReviewed: on_result_reviewed,
        CaseMerged: on_concluded,
        CaseNotAccepted: on_concluded,
    }
    return ApplicationPolicy("follow_up", tuple(sources), app, {**handlers, **(also or {})})


def _actor(envelope: Envelope) -> dict[str, Any]:
    return envelope.actor or SYSTEM_ACTOR
