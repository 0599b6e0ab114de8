"""What two replicas whose clocks disagree — or a clock NTP stepped back — must not change
(the fault suite's clock-skew scenario, tests/faults/test_skew.py, on the whole deployment):
a deadline is counted from the event that started it, a 催办 never follows the 督办 of the
same deadline, and a case's history keeps the order its steps were recorded in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from services.tracking.accountability.domain import AccountabilityProcedure
from services.tracking.accountability.policy import accountability_handlers
from services.tracking.followup.domain import FollowUp
from services.tracking.ledger.history import in_step_order
from shared.contracts import Envelope
from shared.contracts import intake as i
from tests.support.tracking import OFFICE
from tests.tracking.test_accountability_backfill import Store

REGISTERED = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
SYSTEM = {"id": "system", "name": "系统", "role": "system"}


class Fixed:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def test_the_report_back_is_owed_from_the_tips_registration_not_from_when_it_arrived() -> None:
    """The tip reached tracking nine days late (a lagging or replayed consumer, a replica
    whose clock runs ahead): the report back is still due 15 working days after the tip."""
    store = Store(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    store.states = {}
    store.clock = Fixed(REGISTERED + timedelta(days=9))
    case_id = uuid.uuid4()
    tip = i.TipRegistered.model_construct(case_id=case_id, channel="higher_referral")
    arrived = Envelope("intake", 7, case_id, 1, REGISTERED, OFFICE, tip)
    [procedure] = accountability_handlers(store)[i.TipRegistered](arrived)
    assert isinstance(procedure, AccountabilityProcedure)
    days = store.rules.report_back_working_days
    assert procedure.report_back_due == store.calendar.add_working_days(REGISTERED, days).at
    assert procedure.report_back_due == store.report_back_due(REGISTERED)
    assert procedure.report_back_due != store.report_back_due()  # the late reader's count


def test_no_reminder_of_the_report_back_after_its_supervision_notice() -> None:
    due = REGISTERED + timedelta(days=20)
    procedure = AccountabilityProcedure.open(
        case_id=uuid.uuid4(),
        trigger="higher_source",
        reason="上级转办",
        origin=None,
        report_back_due=due,
        actor=SYSTEM,
    )
    assert procedure.remind_report_back(missed=True, actor=SYSTEM)
    assert not procedure.remind_report_back(missed=False, actor=SYSTEM)  # clock reads earlier
    assert not procedure.remind_report_back(missed=True, actor=SYSTEM)
    assert procedure.report_back_reminders == (f"{due.isoformat()}|missed",)


def test_no_reminder_of_a_reporters_answer_after_its_supervision_notice() -> None:
    follow_up = FollowUp.start(
        case_id=uuid.uuid4(), number="T1", channel="hotline_12388", named=True, actor=OFFICE
    )
    due = REGISTERED + timedelta(days=21)
    answer: dict[str, Any] = {"answer": "acceptance", "due": due, "actor": SYSTEM}
    assert follow_up.remind_answer(missed=True, **answer)
    assert not follow_up.remind_answer(missed=False, **answer)
    assert follow_up.remind_answer(missed=False, **answer | {"due": due + timedelta(days=30)})


def step(source: str, position: int, minute: int, kind: str) -> SimpleNamespace:
    at = REGISTERED + timedelta(minutes=minute)
    return SimpleNamespace(source=source, position=position, occurred_at=at, type=kind)


def test_a_history_keeps_each_services_order_when_a_later_step_reads_earlier() -> None:
    """Dispatch's replica A (clock 2 minutes ahead) dispatched; replica B signed a minute
    later by the wall, stamped a minute *before* the dispatch. Tracking's feedback, on a
    clock of its own, falls between them by the clocks."""
    events: list[Any] = [
        step("dispatch", 12, 3, "CaseSigned"),
        step("intake", 5, 0, "TipRegistered"),
        step("tracking", 40, 5, "FeedbackDelivered"),
        step("dispatch", 11, 4, "CaseDispatched"),
        step("dispatch", 10, 1, "CaseTriaged"),
    ]
    kinds = [e.type for e in in_step_order(events)]
    assert kinds == [
        "TipRegistered",
        "CaseTriaged",
        "CaseDispatched",
        "CaseSigned",
        "FeedbackDelivered",
    ]
    # As it stood at minute 3: the signing is stamped 3, but the dispatch before it (4) was
    # not there yet by its own stamp, so neither is shown.
    as_of = [e.type for e in in_step_order(events, REGISTERED + timedelta(minutes=3))]
    assert as_of == ["TipRegistered", "CaseTriaged"]
