"""After the result, through the API on SQLite and PostgreSQL: feedback, evaluation, the
second pass, accountability and close-out — and every refusal, which changes nothing."""

from __future__ import annotations

from typing import Any

from tests.support.api import problem, stored_notifications
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401

FEEDBACK = {
    "online_publication": {"channel": "online_publication", "content": "已在区政府网站公示"},
    "direct_reply": {"channel": "direct_reply", "content": "已电话告知处理结果"},
}


def tracking_events(served: Served) -> list[str]:
    return [n.topic.rsplit(".", 1)[-1] for n in stored_notifications(served.settings, "tracking")]


def caught_up(served: Served, answer: dict[str, Any]) -> None:
    """Wait until the ledger has read the command's event."""
    office = served.api.auth("office")

    def reached() -> bool:
        positions = served.api.get("/api/v1/ledger/positions", headers=office).json()
        return positions.get("tracking", 0) >= answer["position"]

    wait_for(reached, 30, f"the ledger at tracking position {answer['position']}")


def posted(case: Case, action: str, body: Any = None, status: int = 201) -> dict[str, Any]:
    r = case.post(action, body)
    assert r.status_code == status, r.text
    answer: dict[str, Any] = r.json()
    caught_up(case.served, answer)
    return answer


def test_a_case_goes_from_dissatisfied_through_a_second_pass_to_close_out(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="mayor_hotline", summary="反映某局乱收费问题")
    case.handled("WC-JYQ")
    case.wait_status("awaiting_feedback")

    unchanged = tracking_events(served)
    too_early = problem(case.post("close-out"), 409)
    assert tracking_events(served) == unchanged
    assert case.view()["status"] == "awaiting_feedback"
    assert [(m["code"], m.get("channel")) for m in too_early["missing"]] == [
        ("feedback_missing", "direct_reply"),
        ("feedback_missing", "online_publication"),
        ("evaluation_missing", None),
    ]
    posted(case, "feedback", FEEDBACK["online_publication"])
    assert posted(case, "feedback", FEEDBACK["direct_reply"])["status"] == "awaiting_evaluation"
    assert case.view()["delivered_feedback"] == ["direct_reply", "online_publication"]

    dissatisfied = {"rating": "dissatisfied", "evaluator_kind": "complainant", "comment": "没解决"}
    answer = posted(case, "evaluations", dissatisfied)
    assert (answer["status"], answer["pass_no"]) == ("second_pass", 2)
    view = case.view()
    assert (view["status"], view["pass_no"], view["second_pass"]) == ("second_pass", 2, True)
    assert view["latest_evaluation"]["rating_label"] == "不满意"

    case.reopen_for_second_pass()  # dispatch's reaction to SecondPassStarted
    assert case.wait_status("in_progress")["pass_no"] == 2
    case.submit(n=2, both_findings=True).accept(n=2)
    case.wait_status("awaiting_feedback")
    again = problem(case.post("close-out"), 409)
    # A second pass opened the accountability procedure (一案双查, ADR 19): it needs a decision.
    assert {m["code"] for m in again["missing"]} == {
        "feedback_missing",
        "evaluation_missing",
        "accountability_undecided",
    }
    posted(case, "feedback", FEEDBACK["online_publication"])
    posted(case, "feedback", FEEDBACK["direct_reply"])
    satisfied = {"rating": "satisfied", "evaluator_kind": "npc_deputy", "comment": None}
    assert posted(case, "evaluations", satisfied)["status"] == "awaiting_evaluation"
    person = {"target_kind": "person", "name": "张某", "measures": ["criticism_education"]}
    assert posted(case, "accountability", person)["stage"] == "closed"

    closed = posted(case, "close-out", status=200)
    assert closed["status"] == "closed_out"
    view = case.view()
    assert view["status"] == "closed_out"
    assert view["closed_out_at"] is not None
    assert view["evaluations"] == {"total": 2, "satisfied": 1}
    assert [f["pass_no"] for f in view["feedback"]] == [1, 1, 2, 2]
    assert tracking_events(served) == [
        "Started",
        "Opened",
        "FeedbackDelivered",
        "FeedbackDelivered",
        "EvaluationRecorded",
        "SecondPassStarted",
        "Opened",  # the accountability procedure's, with the second pass
        "Opened",
        "FeedbackDelivered",
        "FeedbackDelivered",
        "EvaluationRecorded",
        "FindingRecorded",
        "Decided",
        "Closed",
        "ClosedOut",
    ]

    before = tracking_events(served)
    assert problem(case.post("evaluations", satisfied), 409)["code"] == "closed_out"
    assert problem(case.post("close-out"), 409)["code"] == "closed_out"
    assert problem(case.post("feedback", FEEDBACK["direct_reply"]), 409)["code"] == "closed_out"
    assert tracking_events(served) == before


def test_refusals_are_clear_problems_and_change_nothing(served: Served) -> None:
    waiting = Case(served, summary="结果尚未审核的问题").triage()
    waiting.dispatch("WC-JYQ").sign()
    ready = Case(served, summary="已审核的问题").handled("WC-JYQ")
    ready.wait_status("awaiting_feedback")
    api = served.api
    before = tracking_events(served)

    body = problem(waiting.post("feedback", FEEDBACK["direct_reply"]), 409)
    assert body["code"] == "result_not_accepted"
    posted(ready, "feedback", FEEDBACK["direct_reply"])
    twice = problem(ready.post("feedback", FEEDBACK["direct_reply"]), 409)
    assert (twice["code"], twice["channel"]) == ("feedback_already_delivered", "direct_reply")
    assert "直接反馈" in twice["detail"]
    before = tracking_events(served)

    unknown_measure = {"target_kind": "person", "name": "张某", "measures": ["public_shaming"]}
    body = problem(ready.post("accountability", unknown_measure), 422)
    assert body["errors"][0]["field"] == "measures.0"
    exempt_but_punished = {
        "target_kind": "leadership",
        "name": "某局领导班子",
        "measures": ["dismissal"],
        "exempted": True,
    }
    refused = problem(ready.post("accountability", exempt_but_punished), 422)
    assert refused["errors"][0]["field"] == "measures"
    assert refused["detail"].startswith("measures: 容错免责")
    problem(ready.post("feedback", {"channel": "wechat", "content": "x"}), 422)
    problem(ready.post("feedback", {"channel": "direct_reply", "content": ""}), 422)
    problem(ready.post("evaluations", {"rating": "great", "evaluator_kind": "complainant"}), 422)
    problem(
        ready.post("feedback", FEEDBACK["online_publication"], role="unit_liaison", unit="WC-JYQ"),
        403,
    )
    satisfied = {"rating": "satisfied", "evaluator_kind": "npc_deputy"}
    # An evaluator does not learn of cases that are not awaiting its evaluation.
    problem(waiting.post("evaluations", satisfied, role="evaluator", name="李代表"), 404)
    missing = "00000000-0000-4000-8000-000000000000"
    problem(api.post(f"/api/v1/cases/{missing}/close-out", headers=api.auth("office")), 404)
    assert tracking_events(served) == before

    recorded = {
        "target_kind": "person",
        "name": "张某",
        "position": "科员",
        "measures": ["criticism_education", "written_self_criticism"],
        "circumstances": "mitigating",
    }
    assert posted(ready, "accountability", recorded)["status"] == "awaiting_evaluation"
    summary = ready.view()["accountability_summary"]
    assert summary == "直接责任人 张某(科员):批评教育、责令书面检查(从轻)"


def test_the_history_lists_every_event_and_as_of_rebuilds_the_case_then(served: Served) -> None:
    case = Case(served, channel="self_inspection", summary="部门自查发现的问题")
    case.handled("WC-JYQ")
    case.wait_status("awaiting_evaluation")
    office = served.api.auth("office", "王主任")
    evaluated = posted(
        case, "evaluations", {"rating": "satisfied", "evaluator_kind": "complainant"}
    )

    def history() -> list[dict[str, Any]]:
        r = served.api.get(f"/api/v1/cases/{case.id}/history", headers=office)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    items = history()
    types = [i["type"] for i in items]
    assert types[0] == "TipRegistered"
    assert {"CaseOpened", "FollowUpStarted", "CaseDispatched", "ResultReviewed"} <= set(types)
    assert types[-1] == "EvaluationRecorded"
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times)
    assert items[0]["actor"] == {
        "id": "operator:话务员甲",
        "name": "话务员甲",
        "role": "operator",
        "unit": None,
    }
    assert items[0]["data"]["receipt_digest"] is None  # never in the audit trail
    assert items[-1]["actor"]["role"] == "office"
    assert items[-1]["data"]["rating"] == "satisfied"
    assert evaluated["position"] == items[-1]["position"]

    accepted = next(i for i in items if i["type"] == "ResultReviewed")
    then = served.api.get(
        f"/api/v1/cases/{case.id}", params={"as_of": accepted["occurred_at"]}, headers=office
    ).json()
    assert (then["status"], then["latest_evaluation"]) == ("awaiting_feedback", None)
    assert then["result"]["accepted_at"] == accepted["occurred_at"]
    now = case.view()
    assert (now["status"], now["latest_evaluation"]["rating"]) == (
        "awaiting_evaluation",
        "satisfied",
    )
    before = served.api.get(
        f"/api/v1/cases/{case.id}",
        params={"as_of": "2000-01-01T00:00:00+08:00"},
        headers=office,
    )
    problem(before, 404)
    problem(
        served.api.get(f"/api/v1/cases/{case.id}", params={"as_of": "yesterday"}, headers=office),
        422,
    )


def test_supervisors_search_the_audit_trail_by_actor_type_and_time(served: Served) -> None:
    case = Case(served, channel="self_inspection", summary="审计检索").handled("WC-JYQ")
    case.wait_status("awaiting_evaluation")
    posted(case, "evaluations", {"rating": "basically_satisfied", "evaluator_kind": "complainant"})
    api = served.api
    supervisor = api.auth("supervisor", "纪委甲")

    def audit(**params: Any) -> dict[str, Any]:
        r = api.get("/api/v1/audit", params=params, headers=supervisor)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    by_type = audit(type="EvaluationRecorded")
    assert by_type["total"] == 1
    assert by_type["items"][0]["case_id"] == str(case.id)
    # The registration, and the reactions it caused in dispatch and tracking; newest first.
    by_operator = audit(actor="operator:话务员甲")
    assert [i["type"] for i in by_operator["items"]][-1] == "TipRegistered"
    assert {i["type"] for i in by_operator["items"]} == {
        "TipRegistered",
        "CaseOpened",
        "FollowUpStarted",
    }
    assert audit(actor="话务员甲")["total"] == 3  # by name too
    everything = audit(page_size=200)
    assert everything["total"] == len(everything["items"]) >= 8
    assert audit(to="2000-01-01")["total"] == 0
    paged = audit(page=2, page_size=3)
    assert [i["position"] for i in paged["items"]] == [
        i["position"] for i in everything["items"][3:6]
    ]
    problem(api.get("/api/v1/audit", headers=api.auth("office")), 403)
    problem(api.get("/api/v1/audit", params={"type": "DROP TABLE"}, headers=supervisor), 422)


def test_public_feedback_is_the_offices_approved_wording_without_particulars(
    served: Served,
) -> None:
    """Issue 20's redaction step: 网上公示 with a phone or an introduced name is refused with
    the masked text to approve; the approved text is published; a direct reply to the
    complainant is private and taken as written."""
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="mayor_hotline", summary="公示用语").handled("WC-JYQ")
    case.wait_status("awaiting_feedback")
    before = tracking_events(served)
    unsafe = {"channel": "online_publication", "content": "已回复来电人张三,电话13912345678。"}
    body = problem(case.post("feedback", unsafe), 422)
    assert body["errors"][0]["code"] == "public_wording_unsafe"
    assert (body["field"], body["flags"]) == ("content", ["phone", "name"])
    assert body["detail"].startswith("content: 公示内容含有电话号码、姓名")
    assert body["suggested"] == "已回复来电人张某,电话139****5678。"
    assert tracking_events(served) == before  # nothing published

    approved = {"channel": "online_publication", "content": body["suggested"]}
    posted(case, "feedback", approved)
    private = {"channel": "direct_reply", "content": "已电话13912345678告知张三本人"}
    posted(case, "feedback", private)
    shown = {f["channel"]: f["content"] for f in case.view()["feedback"]}
    assert shown == {
        "online_publication": "已回复来电人张某,电话139****5678。",
        "direct_reply": "已电话13912345678告知张三本人",
    }
