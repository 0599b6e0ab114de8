"""Who rates as what, and whose dissatisfaction starts a second pass (ADR 20): the pure rules
and the FollowUp aggregate with each setting."""

from __future__ import annotations

import pytest

from services.tracking.followup.errors import AlreadyEvaluated, EvaluatorKindRefused
from services.tracking.followup.evaluators import recorded_kind
from shared.contracts import tracking as c
from shared.platform.settings import Settings
from tests.tracking.test_domain import NPC, OFFICE, opened, recorded


@pytest.mark.parametrize(
    ("role", "credential", "claimed", "kind_or_code"),
    [
        ("evaluator", "npc_deputy", None, "npc_deputy"),
        ("evaluator", "npc_deputy", "npc_deputy", "npc_deputy"),
        ("evaluator", "npc_deputy", "cppcc_member", "evaluator_kind_mismatch"),
        ("evaluator", "npc_deputy", "complainant", "evaluator_kind_mismatch"),
        ("evaluator", None, "npc_deputy", "evaluator_kind_missing"),
        ("evaluator", "complainant", "complainant", "evaluator_kind_missing"),
        ("office", None, "complainant", "complainant"),  # the office's 回访
        ("office", None, None, "evaluator_kind_required"),
    ],
)
def test_the_kind_recorded_is_the_credentials(
    role: str, credential: str | None, claimed: str | None, kind_or_code: str
) -> None:
    if kind_or_code.startswith("evaluator_kind_"):
        with pytest.raises(EvaluatorKindRefused) as refused:
            recorded_kind(role, credential, claimed)
        assert refused.value.details["code"] == kind_or_code
    else:
        assert recorded_kind(role, credential, claimed) == kind_or_code


def test_by_default_a_third_partys_dissatisfaction_is_referred_once_per_pass() -> None:
    f = opened("self_inspection")
    f.evaluate("dissatisfied", "npc_deputy", "整改不到位", NPC)
    f.evaluate("dissatisfied", "cppcc_member", None, {**NPC, "id": "evaluator:王"})
    events = recorded(f)
    assert [type(e) for e in events] == [
        c.EvaluationRecorded,
        c.DissatisfactionReferred,
        c.EvaluationRecorded,  # already referred: the office decides once
    ]
    assert (f.pass_no, f.status, events[1].evaluator_kind) == (
        1,
        "awaiting_evaluation",
        "npc_deputy",
    )
    # An evaluator is its credential: it cannot rate again under another kind.
    with pytest.raises(AlreadyEvaluated):
        f.evaluate("satisfied", "special_inspector", None, NPC)


def test_the_kinds_that_start_a_second_pass_are_a_setting() -> None:
    starters = frozenset(
        Settings(second_pass_starters=["complainant", "npc_deputy"]).second_pass_starters
    )
    f = opened("self_inspection")
    f.evaluate("dissatisfied", "npc_deputy", "整改不到位", NPC, starters=starters)
    assert [type(e) for e in recorded(f)] == [c.EvaluationRecorded, c.SecondPassStarted]
    assert f.pass_no == 2
    with pytest.raises(ValueError, match="unknown evaluator kind"):
        Settings(second_pass_starters=["deputy"])


def test_the_office_decides_a_referral_and_after_a_second_pass_a_yes_escalates() -> None:
    f = opened("self_inspection")
    f.evaluate("dissatisfied", "complainant", None, OFFICE)
    f.open(2, OFFICE)
    f.evaluate("dissatisfied", "npc_deputy", None, NPC)
    f.collect_events()
    f.decide_referral(True, "代表意见属实", OFFICE)
    decided, escalated = recorded(f)
    assert isinstance(decided, c.ReferralDecided) and decided.start
    assert isinstance(escalated, c.EscalatedToSupervisors)
    assert (escalated.pass_no, f.escalated, f.referral_pending) == (2, True, False)
