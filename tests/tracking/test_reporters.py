"""Every reporter's loop closes (issue 20, ADR 20), through the API on SQLite and PostgreSQL:
a 不予受理 reporter reads the reason and gets a reply; a merged reporter learns the original's
number, follows it to close-out on its receipt page, and rates it as its own complainant —
without seeing the replies to the original's reporter, and without starting a second pass. A
named reporter follows and rates the case by receipt code too (ADR 44), never shown by it."""

from __future__ import annotations

from typing import Any

from shared.contracts import dispatch as d
from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401
from tests.tracking.test_follow_up import FEEDBACK, posted
from tests.tracking.test_public import public


def receipt(served: Served, code: str) -> dict[str, Any]:
    r = public(served, f"/public/v1/receipts/{code}")
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def rate_by_receipt(served: Served, code: str, rating: str) -> Any:
    path = f"/public/v1/receipts/{code}/evaluation"
    return public(served, path, method="POST", json={"rating": rating})


def concluded(case: Case) -> None:
    """Tracking's follow-up has heard of the merge or refusal: a reply can be logged."""

    def replied() -> bool:
        r = case.post("feedback", {"channel": "direct_reply", "content": REPLIES[case.number]})
        assert r.status_code in (201, 409), r.text
        return r.status_code == 201

    wait_for(replied, 30, "the follow-up to take the reply")


REPLIES: dict[str, str] = {}


def test_a_reporter_not_accepted_reads_the_reason_and_gets_a_reply(served: Served) -> None:
    case = Case(served, channel="self_inspection", summary="不属于受理范围的问题")
    code = case.answer["receipt_code"]
    case.emit(d.CaseNotAccepted, "not_accepted", reason="反映的是民事纠纷,请向人民法院起诉")
    case.wait_status("not_accepted")
    REPLIES[case.number] = "已电话告知不予受理的理由及诉讼途径"
    concluded(case)
    wrong = case.post("feedback", FEEDBACK["online_publication"])
    assert problem(wrong, 409)["code"] == "concluded_direct_reply_only"

    wait_for(lambda: case.view()["feedback"], 30, "the reply on the ledger")
    answer = receipt(served, code)
    assert (answer["status_label"], answer["not_accepted_reason"]) == (
        "不予受理",
        "反映的是民事纠纷,请向人民法院起诉",
    )
    assert [f["content"] for f in answer["feedback"]] == ["已电话告知不予受理的理由及诉讼途径"]
    said = [s["step"] for s in answer["steps"]]
    assert said == [
        "您的举报已登记",
        "经审查不予受理。理由:反映的是民事纠纷,请向人民法院起诉",
        "已反馈(直接反馈)",
    ]
    assert answer["can_evaluate"] is False
    assert problem(rate_by_receipt(served, code, "satisfied"), 409)["code"] == (
        "not_awaiting_evaluation"
    )


def test_a_merged_reporter_follows_the_original_to_close_out_and_rates_it(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    original = Case(served, channel="mayor_hotline", summary="某校违规补课收费")
    duplicate = Case(served, channel="self_inspection", summary="某校假期补课收费")
    mine, theirs = duplicate.answer["receipt_code"], original.answer["receipt_code"]
    duplicate.emit(
        d.CaseMerged,
        "merged",
        into_case_id=original.id,
        into_number=original.number,
        reason="同一问题",
    )
    duplicate.wait_status("merged")
    REPLIES[duplicate.number] = f"您反映的问题已并入 {original.number} 一并办理"
    concluded(duplicate)

    original.handled("WC-JYQ")
    original.wait_status("awaiting_feedback")
    posted(original, "feedback", FEEDBACK["online_publication"])
    private = {"channel": "direct_reply", "content": "已电话答复原举报人(内容仅本人可见)"}
    posted(original, "feedback", private)

    answer = receipt(served, mine)
    assert (answer["status_label"], answer["merged_into"]) == ("已合并", original.number)
    assert f"与编号 {original.number} 的案件反映同一问题" in answer["steps"][1]["step"]
    assert [f["content"] for f in answer["feedback"]] == [REPLIES[duplicate.number]]
    followed = answer["original"]
    assert (followed["number"], followed["status"]) == (original.number, "awaiting_evaluation")
    assert [f["content"] for f in followed["feedback"]] == ["已在区政府网站公示"]
    assert "仅本人可见" not in str(answer)
    assert answer["can_evaluate"] is True

    # The merged reporter is dissatisfied: its own complainant, but the original's governs.
    assert rate_by_receipt(served, mine, "dissatisfied").status_code == 201
    assert problem(rate_by_receipt(served, mine, "satisfied"), 409)["code"] == ("already_evaluated")
    assert rate_by_receipt(served, theirs, "satisfied").status_code == 201
    view = wait_for(
        lambda: (v := original.view())["evaluations"]["total"] == 2 and v, 30, "two ratings"
    )
    assert (view["status"], view["pass_no"]) == ("awaiting_evaluation", 1)
    posted(original, "second-pass", {"start": False, "reason": "原举报人满意,已整改到位"})
    posted(original, "close-out", status=200)
    original.wait_status("closed_out")

    followed = receipt(served, mine)["original"]
    assert followed["status_label"] == "已销号"
    assert followed["steps"][-1]["step"] == "已办结销号"


def test_a_named_reporter_is_owed_two_answers_and_follows_the_case_by_receipt_unnamed(
    served: Served,
) -> None:
    """检举控告工作规则 (2020): accepted or not within 15 working days; the result within 15
    working days of the conclusion — both shown on the case, each until it is answered. The
    reporter's receipt code (ADR 44) shows the steps, never the words the office addressed to
    the reporter by name, and rates as the complainant."""
    served.unit("WC-JYQ", "武昌区教育局")
    named = {"anonymous": False, "name": "张三", "phone": "13912345678"}
    case = Case(served, channel="self_inspection", summary="实名举报某校收费", reporter=named)
    refused = Case(served, channel="self_inspection", summary="实名举报", reporter=named)
    refused.emit(d.CaseNotAccepted, "not_accepted", reason="经与张三核实,系民事纠纷")
    [acceptance] = case.view()["reporter_answers"]
    assert (acceptance["kind"], acceptance["answered_at"], acceptance["overdue"]) == (
        "acceptance",
        None,
        False,
    )
    assert acceptance["label"].startswith("受理告知:剩 ")
    registered = case.view()["registered_at"]
    assert acceptance["due"] > registered

    case.handled("WC-JYQ")
    case.wait_status("awaiting_feedback")
    acceptance, result = case.view()["reporter_answers"]
    assert (
        acceptance["answered_at"] is not None and acceptance["label"] == "受理告知:已于期限内答复"
    )
    assert (result["kind"], result["answered_at"]) == ("result", None)
    reply = "张三同志(13912345678):您反映的问题经查属实,已整改。"
    posted(case, "feedback", {"channel": "direct_reply", "content": reply})
    _, result = case.view()["reporter_answers"]
    assert result["label"] == "结果告知:已于期限内答复"

    code = case.answer["receipt_code"]
    answer = receipt(served, code)
    assert (answer["number"], answer["can_evaluate"]) == (case.number, True)
    [told] = answer["feedback"]
    assert (told["channel"], told["content"]) == ("direct_reply", None)
    assert told["note"].startswith("我办已直接答复您")
    assert [s["step"] for s in answer["steps"]][-1] == "已反馈(直接反馈)"
    page = public(served, "/portal/receipt", method="POST", data={"code": code})
    assert page.status_code == 200 and case.number in page.text and "我办已直接答复您" in page.text
    refused.wait_status("not_accepted")
    not_accepted = receipt(served, refused.answer["receipt_code"])
    assert not_accepted["not_accepted_reason"] is None
    assert not_accepted["steps"][1]["step"] == "经审查不予受理。理由由我办直接告知您"
    for shown in (str(answer), page.text, str(not_accepted)):
        assert "张三" not in shown and "13912345678" not in shown

    # Rated by the receipt as the complainant, under no name: the office's 回访 cannot add one.
    assert rate_by_receipt(served, code, "satisfied").status_code == 201
    latest = wait_for(lambda: case.view()["latest_evaluation"], 30, "the rating on the ledger")
    assert (latest["rating"], latest["evaluator_kind"]) == ("satisfied", "complainant")
    path = f"/api/v1/cases/{case.id}/history"
    trail = served.api.get(path, headers=served.api.auth("office")).json()["items"]
    assert trail[-1]["actor"]["name"] == "实名举报人(凭回执码)"
    callback = {"rating": "dissatisfied", "evaluator_kind": "complainant"}
    assert problem(case.post("evaluations", callback), 409)["code"] == "already_evaluated"

    anonymous = Case(served, channel="self_inspection", summary="匿名举报")
    assert anonymous.view()["reporter_answers"] is None
