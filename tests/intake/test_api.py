"""POST/GET /api/v1/tips on SQLite and on PostgreSQL (the ``settings`` fixture runs both)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from shared.contracts.vocabulary import Channel
from tests.support.api import Api, count_topic, problem, stored_notifications

NUMBER = re.compile(r"^\d{4}-\d{6}$")
RECEIPT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def test_an_anonymous_tip_is_registered_with_a_number_and_a_receipt_code(api: Api) -> None:
    r = api.register(summary="办证乱收费", category="乱收费")
    assert r.status_code == 201, r.text
    body = r.json()
    assert NUMBER.match(body["number"])
    assert body["status"] == "registered"
    assert RECEIPT.match(body["receipt_code"])

    record = api.get(f"/api/v1/tips/{body['case_id']}", headers=api.auth("office")).json()
    assert record["number"] == body["number"]
    assert record["summary"] == "办证乱收费"
    assert record["reporter"] == {"anonymous": True}
    assert record["registered_by"]["name"] == "话务员甲"
    assert record["registered_by"]["role"] == "operator"
    assert record["registered_at"].endswith(("Z", "+00:00", "+08:00"))


def test_every_channel_of_the_spec_is_accepted(api: Api) -> None:
    for channel in Channel:
        r = api.register(channel=channel.value)
        assert r.status_code == 201, r.text
        record = api.get(f"/api/v1/tips/{r.json()['case_id']}", headers=api.auth("office"))
        assert record.json()["channel"] == channel.value


def test_the_same_external_ref_twice_is_one_case(api: Api, settings) -> None:
    first = api.register(external_ref="12388-2026-0001")
    again = api.register(external_ref="12388-2026-0001", content="第二次来电补充")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    # Another channel's reference space is its own.
    other = api.register(external_ref="12388-2026-0001", channel="mayor_hotline")
    assert other.status_code == 201
    assert other.json()["case_id"] != first.json()["case_id"]
    assert count_topic(stored_notifications(settings, "intake"), "Tip.Registered") == 2


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    api: Api, settings
) -> None:
    headers = api.auth("operator", "话务员乙") | {"Idempotency-Key": "call-7781"}
    body = {"channel": "conduct_hotline", "content": "窗口工作人员态度恶劣"}
    first = api.post("/api/v1/tips", json=body, headers=headers)
    again = api.post("/api/v1/tips", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    # where intake's log holds it, for a client that waits for the ledger; none on a replay
    assert int(first.headers["Taizhang-Log-Position"]) > 0
    assert "Taizhang-Log-Position" not in again.headers
    changed = api.post("/api/v1/tips", json=body | {"content": "别的事"}, headers=headers)
    assert "Idempotency-Key" in problem(changed, 409)["detail"]
    assert count_topic(stored_notifications(settings, "intake"), "Tip.Registered") == 1


def test_fifty_concurrent_registrations_get_fifty_consecutive_numbers(api: Api) -> None:
    headers = api.auth("operator")

    def post(i: int) -> dict:
        r = api.post(
            "/api/v1/tips",
            json={"channel": "mayor_hotline", "content": f"并发登记 {i}"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))
    serials = sorted(int(a["number"].split("-")[1]) for a in answers)
    assert len({a["case_id"] for a in answers}) == 50
    assert serials == list(range(serials[0], serials[0] + 50))
    assert serials[0] == 1


def test_a_named_reporter_is_shown_to_no_one_without_a_recorded_reason(api: Api, settings) -> None:
    reporter = {
        "anonymous": False,
        "name": "李四",
        "phone": "13800138000",
        "id_number": "110101199003071234",
    }
    key = api.auth("operator", "话务员甲") | {"Idempotency-Key": "named-call-1"}
    body = {"channel": "hotline_12388", "content": "某街道办事处违规收取办证费用"}
    r = api.post("/api/v1/tips", json=body | {"reporter": reporter}, headers=key)
    assert r.status_code == 201
    # A named reporter gets a receipt code too (ADR 44), the same on a replay; stored only
    # sealed and as a keyed digest, never in clear.
    code = r.json()["receipt_code"]
    assert RECEIPT.match(code)
    again = api.post("/api/v1/tips", json=body | {"reporter": reporter}, headers=key)
    assert again.status_code == 200 and again.json() == r.json()
    states = [n.state for n in stored_notifications(settings, "intake")]
    assert any(r.json()["number"].encode() in s for s in states)  # what is clear shows
    assert all(code.encode() not in s for s in states)
    case_id = r.json()["case_id"]
    for role in ("operator", "office", "supervisor"):
        shown = api.get(f"/api/v1/tips/{case_id}", headers=api.auth(role, "话务员甲"))
        assert shown.status_code == 200
        assert "李四" not in shown.text and "13800138000" not in shown.text
        assert shown.json()["reporter"] == {"anonymous": False}

    path = f"/api/v1/tips/{case_id}/reporter-views"
    problem(api.post(path, json={"reason": "核实"}, headers=api.auth("operator")), 403)
    problem(api.post(path, json={}, headers=api.auth("office")), 422)
    seen = api.post(
        path, json={"reason": "需电话回访核实情况"}, headers=api.auth("office", "赵主任")
    )
    assert seen.status_code == 200
    assert seen.json()["name"] == "李四"
    stored = stored_notifications(settings, "intake")
    assert count_topic(stored, "Tip.ReporterIdentityViewed") == 1
    # each read of the record is a fact for the audit trail too (the three above)
    assert count_topic(stored, "Tip.RecordViewed") == 3


def test_an_anonymous_reporter_has_no_identity_to_view(api: Api) -> None:
    case_id = api.register().json()["case_id"]
    r = api.post(
        f"/api/v1/tips/{case_id}/reporter-views",
        json={"reason": "核实"},
        headers=api.auth("office"),
    )
    problem(r, 404)


def test_an_operator_sees_only_the_tips_it_registered(api: Api, settings) -> None:
    case_id = api.register(name="话务员甲").json()["case_id"]
    own = api.get(f"/api/v1/tips/{case_id}", headers=api.auth("operator", "话务员甲"))
    other = api.get(f"/api/v1/tips/{case_id}", headers=api.auth("operator", "话务员乙"))
    assert own.status_code == 200
    problem(other, 404)
    # only the read that was answered is recorded
    assert count_topic(stored_notifications(settings, "intake"), "Tip.RecordViewed") == 1
    problem(api.get(f"/api/v1/tips/{case_id}", headers=api.auth("unit_liaison", unit="U1")), 403)


def test_unknown_case_is_404(api: Api) -> None:
    path = "/api/v1/tips/00000000-0000-0000-0000-000000000000"
    problem(api.get(path, headers=api.auth("office")), 404)
    problem(api.get("/api/v1/tips/not-a-uuid", headers=api.auth("office")), 422)
