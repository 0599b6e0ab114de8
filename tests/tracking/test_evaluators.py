"""Evaluators are who their credential says (ADR 20), through the API on SQLite and
PostgreSQL: the kind comes from the credential, a body that disagrees is refused, a third
party's dissatisfaction goes to the office (no second pass by itself), and an evaluator has a
work list of the cases it may rate — summary, result and feedback, never the reporter."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from shared.web.auth import Role, issue_token
from tests.support.api import problem
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401
from tests.tracking.test_follow_up import FEEDBACK, caught_up, posted, tracking_events

DEPUTY = {"role": "evaluator", "name": "人大代表李某", "kind": "npc_deputy"}
MEMBER = {"role": "evaluator", "name": "政协委员王某", "kind": "cppcc_member"}


def awaiting_evaluation(served: Served, summary: str) -> Case:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(
        served,
        channel="mayor_hotline",
        summary=summary,
        content="举报人张三(电话13912345678)反映:某校违规收取补课费",
    )
    case.handled("WC-JYQ")
    case.wait_status("awaiting_feedback")
    posted(case, "feedback", FEEDBACK["online_publication"])
    posted(case, "feedback", FEEDBACK["direct_reply"])
    return case


def rated(case: Case, body: dict[str, Any], **who: Any) -> dict[str, Any]:
    """Posted as ``who`` (an evaluator), once the ledger has read it."""
    r = case.post("evaluations", body, **who)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    caught_up(case.served, answer)
    return answer


def test_an_evaluator_rates_only_as_its_credential_says(served: Served) -> None:
    case = awaiting_evaluation(served, "反映某校乱收费")
    before = tracking_events(served)

    as_member = {"rating": "satisfied", "evaluator_kind": "cppcc_member"}
    refused = problem(case.post("evaluations", as_member, **DEPUTY), 422)
    assert refused["code"] == "evaluator_kind_mismatch"
    assert "人大代表" in refused["detail"] and "政协委员" in refused["detail"]
    as_complainant = {"rating": "dissatisfied", "evaluator_kind": "complainant"}
    assert problem(case.post("evaluations", as_complainant, **DEPUTY), 422)["code"] == (
        "evaluator_kind_mismatch"
    )
    # A token that names no kind (the CLI refuses to print one: an issued token with its kind
    # taken out, its times as issued) rates as nobody.
    issued = served.api.auth("evaluator", kind="npc_deputy")["Authorization"].split()[1]
    claims = jwt.decode(issued, options={"verify_signature": False})
    claims.pop("kind")
    kindless = jwt.encode(claims, served.api.secrets.jwt_secret, algorithm="HS256")
    r = served.api.post(
        f"/api/v1/cases/{case.id}/evaluations",
        json={"rating": "satisfied", "evaluator_kind": "npc_deputy"},
        headers={"Authorization": f"Bearer {kindless}"},
    )
    assert problem(r, 422)["code"] == "evaluator_kind_missing"
    assert problem(case.post("evaluations", {"rating": "satisfied"}), 422)["code"] == (
        "evaluator_kind_required"  # the office names the kind it records
    )
    assert tracking_events(served) == before

    # Without a kind in the body, the credential's is recorded; once per pass.
    rated(case, {"rating": "satisfied"}, **DEPUTY)
    assert case.view()["latest_evaluation"]["evaluator_label"] == "人大代表"
    again = {"rating": "satisfied", "evaluator_kind": "npc_deputy"}
    assert problem(case.post("evaluations", again, **DEPUTY), 409)["code"] == "already_evaluated"
    # Another evaluator, and the office recording the complainant's 回访 answer, still may.
    rated(case, {"rating": "satisfied"}, **MEMBER)
    posted(case, "evaluations", {"rating": "satisfied", "evaluator_kind": "complainant"})
    assert case.view()["evaluations"] == {"total": 3, "satisfied": 3}


def test_credentials_name_a_third_party_kind_for_evaluators_only(served: Served) -> None:
    secrets = served.api.secrets
    with pytest.raises(ValueError, match="--kind"):
        issue_token(secrets, role=Role.EVALUATOR, name="代表")
    with pytest.raises(ValueError, match="--kind"):
        issue_token(secrets, role=Role.EVALUATOR, name="代表", kind="complainant")
    with pytest.raises(ValueError, match="only an evaluator"):
        issue_token(secrets, role=Role.OFFICE, name="办公室", kind="npc_deputy")
    token = issue_token(secrets, role=Role.EVALUATOR, name="代表", kind="special_inspector")
    worklist = served.api.get(
        "/api/v1/evaluations/worklist", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert (worklist["evaluator_kind"], worklist["evaluator_label"]) == (
        "special_inspector",
        "特邀监察员",
    )


def test_a_third_partys_dissatisfaction_goes_to_the_office_which_decides(
    served: Served,
) -> None:
    case = awaiting_evaluation(served, "反映某校乱收费")
    dissatisfied = {"rating": "dissatisfied", "comment": "整改不到位"}
    answer = rated(case, dissatisfied, **DEPUTY)
    assert (answer["status"], answer["pass_no"]) == ("awaiting_evaluation", 1)
    latest = case.view()["latest_evaluation"]
    assert (latest["referral"], latest["referral_label"]) == (
        "pending",
        "第三方不满意,待办公室研究",
    )
    # The complainant, called back by the office, is satisfied; the referral still stands.
    posted(case, "evaluations", {"rating": "satisfied", "evaluator_kind": "complainant"})
    blocked = problem(case.post("close-out"), 409)
    assert [m["code"] for m in blocked["missing"]] == ["referral_undecided"]

    decline = {"start": False, "reason": "投诉人满意,整改已到位"}
    assert problem(case.post("second-pass", decline, **DEPUTY), 403)
    posted(case, "second-pass", decline)
    assert case.view()["latest_evaluation"]["referral"] == "declined"
    assert problem(case.post("second-pass", decline), 409)["code"] == "no_referral"
    assert posted(case, "close-out", status=200)["status"] == "closed_out"
    assert tracking_events(served)[-4:] == [
        "DissatisfactionReferred",
        "EvaluationRecorded",
        "ReferralDecided",
        "ClosedOut",
    ]

    other = awaiting_evaluation(served, "反映某校乱收费(二)")
    rated(other, dissatisfied, **MEMBER)
    started = posted(other, "second-pass", {"start": True, "reason": "代表意见属实"})
    assert (started["status"], started["pass_no"]) == ("second_pass", 2)
    assert other.view()["latest_evaluation"]["referral"] == "second_pass"


def test_an_evaluators_work_list_shows_what_it_rates_and_never_the_reporter(
    served: Served,
) -> None:
    case = awaiting_evaluation(served, "反映某校乱收费")
    api = served.api

    def listed(**who: Any) -> dict[str, Any]:
        r = api.get("/api/v1/evaluations/worklist", headers=api.auth(**who))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return next(i for i in body["items"] if i["number"] == case.number)

    item = listed(**DEPUTY)
    assert item["summary"] == "反映某校乱收费"
    assert item["result"]["findings"] == "经查,反映问题属实"
    assert item["lead_unit"] == {"code": "WC-JYQ", "name": "武昌区教育局"}
    assert [f["channel_label"] for f in item["feedback"]] == ["网上公示", "直接反馈"]
    assert (item["may_rate"], item["my_rating"]) == (True, None)
    shown = str(item)
    assert "张三" not in shown and "13912345678" not in shown and "content" not in item

    rated(case, {"rating": "basically_satisfied"}, **DEPUTY)
    item = listed(**DEPUTY)
    assert (item["may_rate"], item["my_rating_label"]) == (False, "基本满意")
    assert listed(**MEMBER)["may_rate"] is True
    problem(api.get("/api/v1/evaluations/worklist", headers=api.auth("office")), 403)
