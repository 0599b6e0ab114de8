"""What opens a case's accountability procedure, from the other services' events. The
follow-up's own triggers (second pass, a second dissatisfied) open it in the same
transaction as the follow-up's event (:func:`follow_up_triggers`), so that no close-out can
slip in between.

| event                                  | trigger                                         |
|----------------------------------------|-------------------------------------------------|
| ``TipRegistered`` on 上级转办/领导批示/电视问政 | ``higher_source`` (report back owed)         |
| ``TipOriginRecorded``, ``CaseOriginRecorded`` above this level | ``higher_source``       |
| ``CaseTriaged`` on the ``supervised`` track | ``supervised_track``                        |
| the Nth ``SupervisionNoticeIssued`` to a unit | ``supervision_notices``                    |
| follow-up ``SecondPassStarted``        | ``second_pass`` (一案双查)                        |
| follow-up ``EscalatedToSupervisors``   | ``dissatisfied_twice``                          |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.tracking.accountability.application import HIGHER_CHANNELS, AccountabilityCommands
from services.tracking.accountability.tally import SupervisionTally
from shared.contracts import SYSTEM_ACTOR, Envelope
from shared.contracts import dispatch as d
from shared.contracts import intake as i
from shared.contracts.vocabulary import (
    ORIGIN_LEVEL_LABELS,
    AccountabilityTrigger,
    OriginLevel,
    Track,
)
from shared.platform.messaging.policy import Reaction

T = AccountabilityTrigger


def origin_text(origin: dict[str, Any]) -> str:
    level = ORIGIN_LEVEL_LABELS.get(OriginLevel(origin["level"]), origin["level"])
    return f"{level}{origin.get('body') or ''}"


@dataclass(frozen=True)
class Trigger:
    """A trigger an event carries for a case's procedure."""

    case_id: UUID
    trigger: str
    reason: str
    actor: dict[str, Any]
    origin: dict[str, Any] | None = None


def trigger_of(app: AccountabilityCommands, envelope: Envelope) -> Trigger | None:
    """The trigger an intake or dispatch event carries by itself (the supervision notices'
    needs a count: :func:`accountability_handlers`)."""
    event = envelope.event
    if isinstance(event, i.TipRegistered):
        if event.channel not in HIGHER_CHANNELS:
            return None
        reason = HIGHER_CHANNELS[event.channel] + ",启动问责程序并向上级回告"
        return Trigger(event.case_id, T.HIGHER_SOURCE, reason, SYSTEM_ACTOR)
    if isinstance(event, i.TipOriginRecorded | d.CaseOriginRecorded):
        if not app.is_higher(event.origin):
            return None
        reason = f"来源为{origin_text(event.origin)},启动问责程序并向上级回告"
        actor = envelope.actor or SYSTEM_ACTOR
        return Trigger(event.case_id, T.HIGHER_SOURCE, reason, actor, event.origin)
    if isinstance(event, d.CaseTriaged):
        if event.track != Track.SUPERVISED:
            return None
        return Trigger(
            event.case_id, T.SUPERVISED_TRACK, "列为督办问题,按问责规定调查处理", SYSTEM_ACTOR
        )
    return None


def accountability_handlers(app: AccountabilityCommands) -> dict[type, Reaction]:
    def on_trigger(envelope: Envelope) -> Sequence[Any]:
        found = trigger_of(app, envelope)
        if found is None:
            return ()
        return app.triggered(
            found.case_id,
            found.trigger,
            found.reason,
            found.actor,
            found.origin,
            at=envelope.occurred_at,  # owed from the event, not from when it reached us
        )

    def on_supervision(envelope: Envelope) -> Sequence[Any]:
        notice = envelope.event
        assert isinstance(notice, d.SupervisionNoticeIssued)
        tally = app_tally(app, notice.case_id)
        count = tally.count(notice.unit, SYSTEM_ACTOR)
        if count != app.rules.supervision_notices_to_open:
            return (tally,)
        reason = supervision_reason(notice.unit, count)
        return (tally, *app.triggered(notice.case_id, T.SUPERVISION_NOTICES, reason, SYSTEM_ACTOR))

    return {
        i.TipRegistered: on_trigger,
        i.TipOriginRecorded: on_trigger,
        d.CaseOriginRecorded: on_trigger,
        d.CaseTriaged: on_trigger,
        d.SupervisionNoticeIssued: on_supervision,
    }


def supervision_reason(unit: str, count: int) -> str:
    return f"{unit} 承办的案件已被督办 {count} 次"


def app_tally(app: AccountabilityCommands, case_id: Any) -> SupervisionTally:
    found = app.tally(case_id)
    return found if found is not None else SupervisionTally.start(case_id)


# The follow-up's events (by class name) that open a procedure, and why.
FOLLOW_UP_TRIGGERS: dict[str, tuple[str, str]] = {
    "SecondPassStarted": (T.SECOND_PASS, "评价不满意,二次办理按一案双查落实问责"),
    "EscalatedToSupervisors": (T.DISSATISFIED_TWICE, "二次办理后仍不满意,启动问责程序"),
}
