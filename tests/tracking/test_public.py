"""The public portal: published results without names, and receipt codes that never tell
whether a case number exists."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401

SUBJECT = {"unit": "某区城管局", "person": "赵某某", "position": "执法队长"}


def public(served: Served, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        kwargs.pop("method", "GET"), f"{served.api.base_url}{path}", timeout=30, **kwargs
    )


def test_published_results_show_what_was_done_but_no_names(served: Served) -> None:
    served.unit("WC-CGJ", "武昌区城管局")
    published = Case(
        served,
        channel="conduct_hotline",
        summary="城管执法粗暴",
        content="来电人称其摊位被没收,执法人员赵某某态度恶劣",
        subject=SUBJECT,
    ).handled("WC-CGJ")
    silent = Case(served, channel="conduct_hotline", summary="尚未公示").handled("WC-CGJ")
    published.wait_status("awaiting_feedback")
    r = published.post("feedback", {"channel": "online_publication", "content": "经查属实,已整改"})
    assert r.status_code == 201, r.text
    accountable = {
        "target_kind": "person",
        "name": "赵某某",
        "position": "执法队长",
        "measures": ["admonishment_talk"],
    }
    assert published.post("accountability", accountable).status_code == 201
    silent.wait_status("awaiting_feedback")

    def results() -> dict[str, Any]:
        answer = public(served, "/public/v1/results")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    body = wait_for(
        lambda: (b := results())["items"] and b["items"][0]["accountability"] and b,
        30,
        "the published result with its accountability",
    )
    assert body["total"] == 1
    [item] = body["items"]
    assert item["number"] == published.number
    assert item["subject_unit"] == "某区城管局"
    assert item["publications"][0]["content"] == "经查属实,已整改"
    assert item["accountability"] == [
        {"target": "直接责任人", "measures": ["诫勉谈话"], "exempted": False}
    ]
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("赵某某", "执法队长", "摊位被没收", "receipt", "话务员"):
        assert secret not in text
    assert silent.number not in text


def test_a_receipt_code_follows_the_case_and_rates_it_once(served: Served) -> None:
    case = Case(served, channel="self_inspection", summary="匿名举报的问题")
    code = case.answer["receipt_code"]
    answer = public(served, f"/public/v1/receipts/{code}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["number"] == case.number
    assert answer.json()["status_label"] == "已登记"
    assert answer.json()["can_evaluate"] is False
    typed = code.lower().replace("-", " ")  # as read out over the phone
    assert public(served, f"/public/v1/receipts/{typed}").json()["number"] == case.number

    early = public(
        served,
        f"/public/v1/receipts/{code}/evaluation",
        method="POST",
        json={"rating": "satisfied"},
    )
    assert problem(early, 409)["code"] == "result_not_accepted"
    case.handled("WC-JYQ")
    wait_for(
        lambda: public(served, f"/public/v1/receipts/{code}").json()["can_evaluate"],
        30,
        "the case to await evaluation",
    )
    rated = public(
        served,
        f"/public/v1/receipts/{code}/evaluation",
        method="POST",
        json={"rating": "basically_satisfied", "comment": "处理及时"},
    )
    assert rated.status_code == 201, rated.text
    again = public(
        served,
        f"/public/v1/receipts/{code}/evaluation",
        method="POST",
        json={"rating": "dissatisfied"},
    )
    assert problem(again, 409)["code"] == "already_evaluated"
    latest = wait_for(lambda: case.view()["latest_evaluation"], 30, "the evaluation")
    assert (latest["rating"], latest["evaluator_kind"]) == ("basically_satisfied", "complainant")


def test_unknown_and_malformed_receipt_codes_get_the_same_404(served: Served) -> None:
    Case(served, summary="有回执的问题")
    answers = [
        public(served, "/public/v1/receipts/0000-0000-0000-0000"),  # well-formed, unknown
        public(served, "/public/v1/receipts/not-a-code"),  # malformed
        public(served, "/public/v1/receipts/" + "9" * 64),
        public(
            served,
            "/public/v1/receipts/0000-0000-0000-0000/evaluation",
            method="POST",
            json={"rating": "satisfied"},
        ),
    ]
    bodies = [problem(a, 404) for a in answers]
    assert len({json.dumps({k: v for k, v in b.items() if k != "instance"}) for b in bodies}) == 1
    assert "回执" in bodies[0]["detail"]
