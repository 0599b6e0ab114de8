"""Bad input gets a clear 4xx naming the field, and nothing is written (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.support.api import Api, problem, stored_notifications

GOOD = {"channel": "hotline_12388", "content": "某局乱收费"}

INVALID_BODIES = [
    ("unknown channel", GOOD | {"channel": "fax"}, "channel"),
    ("missing channel", {"content": "x"}, "channel"),
    ("missing content", {"channel": "media"}, "content"),
    ("empty content", GOOD | {"content": ""}, "content"),
    ("blank content", GOOD | {"content": "   \n "}, "content"),
    ("content too long", GOOD | {"content": "长" * 10_001}, "content"),
    ("content not a string", GOOD | {"content": 123}, "content"),
    ("channel not a string", GOOD | {"channel": ["media"]}, "channel"),
    ("NUL byte", GOOD | {"content": "a\x00b"}, "content"),
    ("control character", GOOD | {"content": "a\x1bb"}, "content"),
    ("unknown field", GOOD | {"priority": "high"}, "priority"),
    ("latitude out of range", GOOD | {"location": {"lat": 91, "lon": 114}}, "location.lat"),
    ("longitude out of range", GOOD | {"location": {"lat": 30, "lon": -181}}, "location.lon"),
    ("latitude as text", GOOD | {"location": {"lat": "30.5", "lon": 114.3}}, "location.lat"),
    ("latitude without longitude", GOOD | {"location": {"lat": 30.5}}, "location"),
    ("location not an object", GOOD | {"location": "武昌区"}, "location"),
    ("time without zone", GOOD | {"occurred_at": "2026-05-01T10:00:00"}, "occurred_at"),
    ("time not a time", GOOD | {"occurred_at": "昨天"}, "occurred_at"),
    ("time in the future", GOOD | {"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at"),
    (
        "anonymous with a name",
        GOOD | {"reporter": {"anonymous": True, "name": "张三"}},
        "reporter",
    ),
    ("named without a name", GOOD | {"reporter": {"anonymous": False}}, "reporter"),
    (
        "bad phone",
        GOOD | {"reporter": {"anonymous": False, "name": "张三", "phone": "call me"}},
        "reporter.phone",
    ),
    (
        "bad id number",
        GOOD | {"reporter": {"anonymous": False, "name": "张三", "id_number": "12345"}},
        "reporter.id_number",
    ),
    ("anonymous not a boolean", GOOD | {"reporter": {"anonymous": "yes"}}, "reporter.anonymous"),
    ("external_ref too long", GOOD | {"external_ref": "x" * 129}, "external_ref"),
]


@pytest.fixture(scope="module")
def api(module_api: Api) -> Api:
    """One app for the module (a fresh one for each of 50 refusals cost 2–10 s apiece): every
    test here is refused and must leave the store as it found it."""
    return module_api


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in INVALID_BODIES], ids=[i for i, _, _ in INVALID_BODIES]
)
def test_invalid_tip_is_refused_naming_the_field(api: Api, module_settings, body, field) -> None:
    r = api.post("/api/v1/tips", json=body, headers=api.auth("operator"))
    details = problem(r, 422)
    assert field in [e["field"] for e in details["errors"]], details
    assert all(e["message"] for e in details["errors"])
    assert stored_notifications(module_settings, "intake") == []


def test_malformed_json_is_400(api: Api, module_settings) -> None:
    r = api.post(
        "/api/v1/tips",
        content=b'{"channel": "media", "content": ',
        headers=api.auth("operator") | {"content-type": "application/json"},
    )
    assert "JSON" in problem(r, 400)["detail"]
    assert stored_notifications(module_settings, "intake") == []


def test_oversize_body_is_413(api: Api, module_settings) -> None:
    huge = GOOD | {"content": "x" * (api.settings.max_body_bytes + 1)}
    r = api.post("/api/v1/tips", json=huge, headers=api.auth("operator"))
    problem(r, 413)
    streamed = api.post(
        "/api/v1/tips",
        content=iter([b"{" + b" " * api.settings.max_body_bytes, b"}"]),
        headers=api.auth("operator") | {"content-type": "application/json"},
    )
    problem(streamed, 413)
    assert stored_notifications(module_settings, "intake") == []


def test_a_good_tip_after_bad_ones_gets_number_one(api: Api) -> None:
    """Last in the module: every refusal above went to this store, and none took a number."""
    api.post("/api/v1/tips", json=GOOD | {"channel": "fax"}, headers=api.auth("operator"))
    r = api.register()
    assert r.json()["number"].endswith("-000001")
