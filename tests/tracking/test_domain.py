"""The FollowUp aggregate on its own: each command, the event it records, and each refusal."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.tracking.followup.contract import to_contract
from services.tracking.followup.domain import FollowUp
from services.tracking.followup.errors import (
    AccountabilityError,
    AlreadyEvaluated,
    ClosedOutError,
    CloseOutRefused,
    FeedbackAlreadyDelivered,
    NotAwaitingEvaluation,
    NotOpenError,
)
from shared.contracts import tracking as c

OFFICE = {"id": "office:王", "name": "王主任", "role": "office", "unit": None}
NPC = {"id": "evaluator:李", "name": "李代表", "role": "evaluator", "unit": None}


def follow_up(channel: str = "mayor_hotline", named: bool = False) -> FollowUp:
    return FollowUp.start(
        case_id=uuid.uuid4(), number="2026-000001", channel=channel, named=named, actor=OFFICE
    )


def recorded(f: FollowUp) -> list[Any]:
    """The integration events the pending domain events translate to (and clears them)."""
    return [to_contract(e) for e in f.collect_events()]


def opened(channel: str = "mayor_hotline") -> FollowUp:
    f = follow_up(channel)
    f.open(1, OFFICE)
    f.collect_events()
    return f


@pytest.mark.parametrize(
    ("channel", "named", "required"),
    [
        ("mayor_hotline", False, ["direct_reply", "online_publication"]),
        ("media", False, ["media_response"]),
        ("inspection", False, []),
        ("inspection", True, ["direct_reply"]),
    ],
)
def test_the_required_feedback_follows_from_the_channel_and_a_named_reporter(
    channel: str, named: bool, required: list[str]
) -> None:
    f = follow_up(channel, named)
    [started] = recorded(f)
    assert isinstance(started, c.FollowUpStarted)
    assert started.required_feedback == required
    assert (started.case_id, started.status, started.pass_no) == (f.id, "registered", 1)


def test_opening_a_pass_is_idempotent_and_ignores_older_passes() -> None:
    f = follow_up()
    f.collect_events()
    f.open(1, OFFICE)
    f.open(1, OFFICE)
    [event] = recorded(f)
    assert isinstance(event, c.FollowUpOpened)
    assert (event.status, event.pass_no) == ("awaiting_feedback", 1)
    f.open(0, OFFICE)
    assert recorded(f) == []


def test_a_case_needing_no_feedback_awaits_evaluation_as_soon_as_it_opens() -> None:
    f = follow_up("self_inspection")
    f.open(1, OFFICE)
    assert recorded(f)[-1].status == "awaiting_evaluation"


def test_feedback_is_logged_once_per_channel_and_then_evaluation_is_due() -> None:
    f = opened()
    f.deliver_feedback("online_publication", "已在网站公示", OFFICE)
    with pytest.raises(FeedbackAlreadyDelivered):
        f.deliver_feedback("online_publication", "再次公示", OFFICE)
    f.deliver_feedback("media_response", "经宣传部回应", OFFICE)  # not required: logged anyway
    f.deliver_feedback("direct_reply", "已电话回复", OFFICE)
    events = recorded(f)
    assert [e.delivered_feedback for e in events] == [
        ["online_publication"],
        ["media_response", "online_publication"],
        ["direct_reply", "media_response", "online_publication"],
    ]
    assert [e.status for e in events] == [
        "awaiting_feedback",
        "awaiting_feedback",
        "awaiting_evaluation",
    ]


def test_nothing_after_the_result_is_possible_before_it_is_accepted() -> None:
    f = follow_up()
    with pytest.raises(NotOpenError):
        f.deliver_feedback("direct_reply", "回复", OFFICE)
    with pytest.raises(NotOpenError):
        f.evaluate("satisfied", "complainant", None, OFFICE)


def test_evaluation_waits_for_every_required_feedback_channel() -> None:
    f = opened()
    f.deliver_feedback("direct_reply", "已电话回复", OFFICE)
    with pytest.raises(NotAwaitingEvaluation) as refused:
        f.evaluate("satisfied", "complainant", None, OFFICE)
    assert refused.value.details["missing_feedback"] == ["online_publication"]


def test_dissatisfied_starts_a_second_pass_and_again_dissatisfied_escalates() -> None:
    f = opened("self_inspection")
    f.evaluate("dissatisfied", "complainant", "整改不到位", OFFICE)  # the complainant's 回访
    evaluation, second = recorded(f)
    assert isinstance(evaluation, c.EvaluationRecorded)
    assert isinstance(second, c.SecondPassStarted)
    assert (second.status, second.pass_no) == ("second_pass", 2)
    with pytest.raises(NotOpenError):
        f.evaluate("satisfied", "complainant", None, OFFICE)

    f.open(2, OFFICE)
    f.evaluate("dissatisfied", "complainant", "仍未解决", OFFICE)
    events = recorded(f)
    assert [type(e) for e in events] == [
        c.FollowUpOpened,
        c.EvaluationRecorded,
        c.EscalatedToSupervisors,
    ]
    assert events[-1].pass_no == 2
    f.close_out(OFFICE)  # the second pass is done: supervisors took it up, the case may close
    assert recorded(f)[-1].status == "closed_out"


def test_the_same_evaluator_evaluates_a_pass_once() -> None:
    f = opened("self_inspection")
    f.evaluate("satisfied", "npc_deputy", None, NPC)
    with pytest.raises(AlreadyEvaluated):
        f.evaluate("basically_satisfied", "npc_deputy", None, NPC)
    f.evaluate("basically_satisfied", "npc_deputy", None, OFFICE)  # another deputy's rating
    f.evaluate("satisfied", "complainant", None, OFFICE)  # recorded after a 回访 call
    with pytest.raises(AlreadyEvaluated):  # the complainant again, now by receipt code
        f.evaluate("satisfied", "complainant", None, {"id": "public:receipt"}, via_receipt=True)


def test_close_out_lists_exactly_what_is_missing() -> None:
    f = follow_up()
    with pytest.raises(CloseOutRefused) as refused:
        f.close_out(OFFICE)
    codes = [(m["code"], m.get("channel")) for m in refused.value.details["missing"]]
    assert codes == [
        ("result_not_accepted", None),
        ("feedback_missing", "direct_reply"),
        ("feedback_missing", "online_publication"),
        ("evaluation_missing", None),
    ]
    f.open(1, OFFICE)
    f.deliver_feedback("online_publication", "公示", OFFICE)
    with pytest.raises(CloseOutRefused) as refused:
        f.close_out(OFFICE)
    codes = [(m["code"], m.get("channel")) for m in refused.value.details["missing"]]
    assert codes == [("feedback_missing", "direct_reply"), ("evaluation_missing", None)]


def test_a_closed_case_takes_no_more_evaluations_or_close_outs() -> None:
    f = opened("self_inspection")
    f.evaluate("satisfied", "complainant", None, OFFICE)
    f.close_out(OFFICE)
    closed = recorded(f)[-1]
    assert isinstance(closed, c.CaseClosedOut)
    with pytest.raises(ClosedOutError):
        f.evaluate("dissatisfied", "npc_deputy", None, NPC)
    with pytest.raises(ClosedOutError):
        f.close_out(OFFICE)
    assert recorded(f) == []


@pytest.mark.parametrize(
    ("measures", "circumstances", "exempted"),
    [
        ([], "none", False),
        (["admonishment_talk"], "none", True),
        (["admonishment_talk", "admonishment_talk"], "none", False),
        ([], "aggravating", True),
    ],
)
def test_inconsistent_accountability_is_refused(
    measures: list[str], circumstances: str, exempted: bool
) -> None:
    f = follow_up()
    f.collect_events()
    with pytest.raises(AccountabilityError):
        f.record_accountability(
            target_kind="person",
            name="张某",
            position="科员",
            measures=measures,
            circumstances=circumstances,
            exempted=exempted,
            note=None,
            actor=OFFICE,
        )
    assert recorded(f) == []


def test_every_event_names_its_actor() -> None:
    f = opened("self_inspection")
    f.record_accountability(
        target_kind="leadership",
        name="某局领导班子",
        position=None,
        measures=["circulated_criticism"],
        circumstances="aggravating",
        exempted=False,
        note=None,
        actor=OFFICE,
    )
    f.evaluate("satisfied", "npc_deputy", None, NPC)
    actors = [e.actor for e in f.collect_events()]
    assert actors == [OFFICE, NPC]


def test_every_follow_up_event_is_published() -> None:
    """Read models need each follow-up's versions without gaps (ADR 4)."""
    from services.tracking.followup.contract import TRANSLATIONS

    # ``Event`` is the base and ``Created`` the library's default, unused: ``Started`` creates.
    events = {
        f"FollowUp.{name}"
        for name, value in vars(FollowUp).items()
        if isinstance(value, type)
        and issubclass(value, FollowUp.Event)
        and name not in ("Event", "Created")
    }
    assert len(events) == 13  # + the named reporter's answer announced (ADR 32)
    assert events == set(TRANSLATIONS)


def test_events_stored_before_the_move_resolve_to_the_follow_up_of_today() -> None:
    """Stores written before issue 23 hold topics of ``services.tracking.domain``."""
    from eventsourcing.utils import resolve_topic

    from services.tracking.followup.domain import FollowUp

    assert resolve_topic("services.tracking.domain:FollowUp") is FollowUp
    started = resolve_topic("services.tracking.domain:FollowUp.Started")
    assert started.__qualname__ == "FollowUp.Started"
    assert started.__module__ == "services.tracking.followup.domain"
