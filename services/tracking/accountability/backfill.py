"""On upgrade (issue 18): the procedures that triggers stored before the accountability wing
existed would have opened. Tracking's policy follows intake and dispatch from where it stood
when the wing arrived, and the follow-up's own triggers open the procedure only in the
transaction of the follow-up's event — so older triggers never reached a procedure.

:func:`backfill` reads every stored event of intake, dispatch and tracking (as their
outboxes publish them) and, per case still open, opens the procedure or adds the triggers it
lacks — the policy's own triggers (:func:`~.policy.trigger_of`), a supervision count
reaching ``supervision_notices_to_open`` (counted over the whole log; the tally is brought up
to it), and the follow-up's second pass or second dissatisfied. It is idempotent: a trigger
already recorded in any round is left, so a second run opens nothing. A case closed out gets
none (the issue's rule), nor does one whose procedure is decided already (an old trigger
does not reopen a decision taken since). A higher level's source owes its report back within
the working days from the run, as if the trigger came now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from services.tracking.accountability.application import HIGHER, AccountabilityCommands
from services.tracking.accountability.domain import OPEN, AccountabilityProcedure
from services.tracking.accountability.policy import (
    FOLLOW_UP_TRIGGERS,
    Trigger,
    app_tally,
    supervision_reason,
    trigger_of,
)
from shared.contracts import SYSTEM_ACTOR, Envelope
from shared.contracts import dispatch as d
from shared.contracts.vocabulary import AccountabilityTrigger, CaseStatus


@dataclass
class Backfilled:
    """Counts only (no case numbers, no names): what a run found and did."""

    events: int = 0  # stored events read
    triggers: int = 0  # triggers found in them
    opened: int = 0  # procedures opened
    added: int = 0  # triggers added to an open procedure
    already: int = 0  # triggers the procedure has already
    closed_out: int = 0  # triggers of cases closed out: no procedure
    decided: int = 0  # triggers of cases whose procedure is decided: left
    unknown: int = 0  # triggers of cases tracking never took on
    tallies: int = 0  # supervision tallies brought up to the log's count
    conflicts: int = 0  # saves another writer beat: run again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def triggers_in(
    app: AccountabilityCommands, envelopes: Iterable[Envelope]
) -> tuple[list[Trigger], dict[tuple[UUID, str], int], int]:
    """The triggers the events carry, in order; the supervision notices per (case, unit); and
    how many events were read."""
    found: list[Trigger] = []
    notices: dict[tuple[UUID, str], int] = {}
    read = 0
    for envelope in envelopes:
        read += 1
        event = envelope.event
        if isinstance(event, d.SupervisionNoticeIssued):
            key = (event.case_id, event.unit)
            notices[key] = notices.get(key, 0) + 1
        elif envelope.source == "tracking":
            follow_up = FOLLOW_UP_TRIGGERS.get(envelope.type)
            case_id = getattr(event, "case_id", None)
            if follow_up is not None and isinstance(case_id, UUID):
                actor = envelope.actor or SYSTEM_ACTOR
                found.append(Trigger(case_id, follow_up[0], follow_up[1], actor))
        elif (trigger := trigger_of(app, envelope)) is not None:
            found.append(trigger)
    return found, notices, read


def backfill(
    app: AccountabilityCommands, envelopes: Iterable[Envelope], *, dry_run: bool = False
) -> Backfilled:
    """Open what the stored triggers call for; with ``dry_run``, count it and save nothing."""
    found, notices, read = triggers_in(app, envelopes)
    counts = Backfilled(events=read)
    needed = app.rules.supervision_notices_to_open
    for (case_id, unit), count in notices.items():
        if count >= needed:
            reason = supervision_reason(unit, count)
            found.append(
                Trigger(case_id, AccountabilityTrigger.SUPERVISION_NOTICES, reason, SYSTEM_ACTOR)
            )
        tally = app_tally(app, case_id)
        if tally.by_unit.get(unit, 0) < count:
            tally.catch_up(unit, count, SYSTEM_ACTOR)
            counts.tallies += 1
            if not dry_run:
                _save(app, tally, counts)
    counts.triggers = len(found)
    by_case: dict[UUID, list[Trigger]] = {}
    for trigger in found:
        by_case.setdefault(trigger.case_id, []).append(trigger)
    for case_id, triggers in by_case.items():
        procedure = _opened(app, case_id, triggers, counts)
        if procedure is not None and not dry_run:
            _save(app, procedure, counts)
    return counts


def _opened(
    app: AccountabilityCommands, case_id: UUID, triggers: list[Trigger], counts: Backfilled
) -> AccountabilityProcedure | None:
    """The case's procedure with the triggers it lacks (None: nothing to save)."""
    status = app.case_status(case_id)
    if status is None:
        counts.unknown += len(triggers)
        return None
    if status == CaseStatus.CLOSED_OUT:
        counts.closed_out += len(triggers)
        return None
    procedure = app.procedure(case_id)
    if procedure is not None and procedure.stage != OPEN:
        counts.decided += len(triggers)
        return None
    changed = False
    for t in triggers:
        due = app.report_back_due() if t.trigger == HIGHER else None
        if procedure is None:
            procedure = AccountabilityProcedure.open(
                case_id=case_id,
                trigger=t.trigger,
                reason=t.reason,
                origin=t.origin,
                report_back_due=due,
                actor=t.actor,
            )
            counts.opened += 1
            changed = True
        elif any(x["trigger"] == t.trigger for x in procedure.triggers):
            counts.already += 1
        else:
            procedure.add_trigger(
                trigger=t.trigger,
                reason=t.reason,
                origin=t.origin,
                report_back_due=due,
                actor=t.actor,
            )
            counts.added += 1
            changed = True
    return procedure if changed else None


def _save(app: AccountabilityCommands, aggregate: Any, counts: Backfilled) -> None:
    try:
        app.save(aggregate)
    except IntegrityError:  # a live writer changed it meanwhile: a second run finishes it
        counts.conflicts += 1
