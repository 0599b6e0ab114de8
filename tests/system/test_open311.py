"""Open311 GeoReport v2 under /open311/v2/ (issue 9): every endpoint in XML (parsed with a real
XML parser) and JSON, the spec's error bodies, and a request filed through Open311 followed to
close-out through the native API."""

from __future__ import annotations

import asyncio
import http.server
import json
import re
import socketserver
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from georeport import GeoReport

from shared.contracts.catalogue import Catalogue
from shared.contracts.categories import CATEGORIES
from shared.contracts.vocabulary import FeedbackChannel, required_feedback
from shared.platform.readmodel import create_engine
from shared.platform.settings import Settings
from shared.web.auth import Role, create_api_key
from tests.support.api import Api, feedback_taken
from tests.support.infra import ServerThread, wait_for

BASE = "/open311/v2"
NUMBER = re.compile(r"^\d{4}-\d{6}$")
FORMATS = ("xml", "json")
REPORTER = {
    "first_name": "小明",
    "last_name": "欧阳",
    "phone": "13911112222",
    "email": "xm@example.cn",
}
UNIT = ("O311-LEAD", "区市场监督管理局")


class Client:
    """A 311 client: forms in, XML or JSON out, each parsed into plain values."""

    def __init__(self, api: Api, keys: dict[str, str]) -> None:
        self.api = api
        self.keys = keys

    def get(self, path: str, fmt: str, **params: Any) -> tuple[int, Any]:
        r = self.api.get(f"{BASE}/{path}.{fmt}", params=params)
        return r.status_code, parse(r, fmt)

    def file(self, fmt: str = "json", key: str = "operator", headers: Any = None, **form: Any):
        body = {"api_key": self.keys.get(key, key), "service_code": "arbitrary_charges"}
        body |= {"address_string": "积玉桥街道和平大道 1 号", "attribute[subject_unit]": "某局"}
        body |= {"description": f"窗口办证多收费用 {uuid.uuid4().hex[:6]}"} | form
        r = self.api.post(
            f"{BASE}/requests.{fmt}",
            data={k: v for k, v in body.items() if v is not None},
            headers=headers,
        )
        return r.status_code, parse(r, fmt)


def parse(r: httpx.Response, fmt: str) -> Any:
    """The answer as plain values; XML through ElementTree, checked to be UTF-8 declared."""
    if fmt == "json":
        assert r.headers["content-type"] == "application/json; charset=utf-8", r.text
        return r.json()
    assert r.headers["content-type"] == "text/xml; charset=utf-8", r.text
    assert r.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return _plain(ET.fromstring(r.content))


def _plain(element: ET.Element) -> Any:
    """Spark convention: an element of repeated children is a list; of named ones, a dict."""
    children = list(element)
    if not children:
        return element.text
    tags = [c.tag for c in children]
    if len(set(tags)) == 1 and (len(tags) > 1 or element.tag.endswith("s")):
        return [_plain(c) for c in children]
    return {c.tag: _plain(c) for c in children}


def errors(answer: Any) -> list[dict[str, Any]]:
    """The spec's error array (XML <errors><error> or JSON), codes as ints."""
    assert isinstance(answer, list) and answer, answer
    assert all(set(e) == {"code", "description"} and e["description"] for e in answer)
    return [{"code": int(e["code"]), "description": e["description"]} for e in answer]


def run_sync(coro: Any) -> Any:
    return asyncio.run(coro)


def api_key(settings: Settings, role: Role) -> str:
    async def make() -> str:
        engine = create_engine(settings)
        try:
            return (await create_api_key(engine, role=role, name=f"311 系统 {role.value}"))[1]
        finally:
            await engine.dispose()

    return str(run_sync(make()))


def serve(settings: Settings) -> Iterator[Client]:
    from services.app import create_app

    # No seeded rule routes our tips (the test dispatches them); no public limit gets in the way.
    settings = settings.model_copy(
        update={"seed_directory": False, "public_rate_per_minute": 1e6, "public_rate_burst": 10**6}
    )
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        keys = {role.value: api_key(settings, role) for role in (Role.OPERATOR, Role.SUPERVISOR)}
        yield Client(api, keys)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from serve(Settings(data_dir=tmp_path_factory.mktemp("open311"), api_key_cache_seconds=0))


# --- the catalogue ---------------------------------------------------------------------------


def test_the_categories_are_dispatchs_seed_categories() -> None:
    seed = Path(__file__).parents[2] / "services/dispatch/seed/categories.json"
    expected = [(c["code"], c["name"], c["group"]) for c in json.loads(seed.read_text())]
    assert [(c.code, c.name, c.group) for c in CATEGORIES] == expected


def test_open311_requests_are_answered_like_the_hotlines() -> None:
    assert required_feedback("open311", named=False) == required_feedback("mayor_hotline", False)
    assert required_feedback("open311", named=False) == {
        FeedbackChannel.ONLINE_PUBLICATION,
        FeedbackChannel.DIRECT_REPLY,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_v2_endpoint_and_both_formats(client: Client, fmt: str) -> None:
    status, found = client.get("discovery", fmt)
    assert status == 200
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(found)
    (endpoint,) = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{client.api.base_url}{BASE}".replace("//open", "/open")
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_service_per_category_with_chinese_group_and_keywords(client: Client, fmt: str) -> None:
    status, services = client.get("services", fmt)
    assert status == 200
    codes = [s["service_code"] for s in services]
    assert codes == [c.code for c in Catalogue.seeded().services()]  # the catalogue's leaves
    assert codes[: len(CATEGORIES)] == [c.code for c in CATEGORIES]  # the first release's first
    charges = services[0]
    assert charges["service_name"] == "乱收费" and charges["group"] == "作风问题"
    assert "违规收费" in charges["keywords"].split(", ")
    assert str(charges["metadata"]).lower() == "true" and charges["type"] == "realtime"


@pytest.mark.parametrize("fmt", FORMATS)
def test_conduct_categories_ask_for_the_unit_others_do_not(client: Client, fmt: str) -> None:
    status, definition = client.get("services/arbitrary_charges", fmt)
    assert status == 200 and definition["service_code"] == "arbitrary_charges"
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert str(attributes["subject_unit"]["required"]).lower() == "true"
    assert attributes["occurred_at"]["datatype"] == "datetime"
    assert [int(a["order"]) for a in definition["attributes"]] == [1, 2, 3, 4, 5]
    status, definition = client.get("services/environment", fmt)
    assert status == 200 and "subject_unit" not in {a["code"] for a in definition["attributes"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_or_format_is_a_404_in_the_spec_shape(client: Client, fmt: str) -> None:
    status, answer = client.get("services/potholes", fmt)
    assert status == 404 and errors(answer)[0]["code"] == 404
    assert "potholes" in errors(answer)[0]["description"]
    r = client.api.get(f"{BASE}/services.html")
    assert r.status_code == 404 and errors(parse(r, "xml"))[0]["code"] == 404


# --- filing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_filed_request_gets_its_case_number_and_a_retry_the_same(
    client: Client, fmt: str
) -> None:
    form = {
        "description": f"乱收费 {fmt} {uuid.uuid4()}",
        "device_id": "dev-1",
        "lat": "30.56",
        "long": "114.3",
    }
    status, (first,) = client.file(fmt, **form)
    assert status == 201 and NUMBER.match(first["service_request_id"])
    assert "token" not in first and first["service_request_id"] in first["service_notice"]
    assert "匿名举报回执码" in first["service_notice"]  # the receipt code, for the reporter
    status, (again,) = client.file(fmt, **form)
    assert status == 200 and again["service_request_id"] == first["service_request_id"]
    status, (other,) = client.file(fmt, **(form | {"device_id": "dev-2"}))
    assert status == 201 and other["service_request_id"] != first["service_request_id"]


def test_an_idempotency_key_names_one_request_and_refuses_another_body(client: Client) -> None:
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    status, (first,) = client.file(headers=key, description="第一次提交")
    assert status == 201
    status, (again,) = client.file(headers=key, description="第一次提交")
    assert status == 200 and again["service_request_id"] == first["service_request_id"]
    status, answer = client.file(headers=key, description="换了内容")
    assert status == 400 and errors(answer)[0]["code"] == 409


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("key", "why"),
    [(None, "api_key"), ("tzk_nope_nope", "api_key"), ("supervisor", "supervisor")],
)
def test_filing_needs_an_api_key_of_a_registrant(
    client: Client, fmt: str, key: Any, why: str
) -> None:
    status, answer = client.file(fmt, key=key) if key else client.file(fmt, api_key=None)
    assert status == 403
    (error,) = errors(answer)
    assert error["code"] == 403 and why in error["description"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("form", "status", "named"),
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "potholes"}, 404, "potholes"),
        ({"address_string": None}, 400, "lat"),
        ({"attribute[subject_unit]": None}, 400, "attribute[subject_unit]"),
        ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
        ({"address_string": None, "lat": "north", "long": "114"}, 400, "lat"),
        ({"address_string": None, "lat": "95", "long": "114"}, 400, "lat"),
        ({"email": "not-an-email", "first_name": "甲"}, 400, "email"),
        ({"attribute[occurred_at]": "yesterday"}, 400, "attribute[occurred_at]"),
        ({"media_url": "file:///etc/passwd"}, 400, "media_url"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(
    client: Client, fmt: str, form: dict[str, Any], status: int, named: str
) -> None:
    got, answer = client.file(fmt, **form)
    assert got == status
    assert any(named in e["description"] for e in errors(answer)), answer


def test_a_phone_without_a_name_files_a_contactable_report(client: Client) -> None:
    """Every personal field is optional in GeoReport v2 (issue 20): a phone alone is enough
    for the office to answer the reporter, who is then not anonymous."""
    status, (filed,) = client.file(phone="13922223333")
    assert status == 201, filed
    case_id = wait_for(lambda: case_id_of(client.api, filed["service_request_id"]), 30, "ledger")
    office = client.api.auth("office")
    record = client.api.get(f"/api/v1/tips/{case_id}", headers=office).json()
    assert record["reporter"] == {"anonymous": False}
    revealed = client.api.post(
        f"/api/v1/tips/{case_id}/reporter-views", json={"reason": "回访"}, headers=office
    ).json()
    assert revealed["phone"] == "13922223333" and revealed.get("name") is None


def test_the_reporter_is_sealed_and_never_shown_to_311_clients(client: Client) -> None:
    status, (filed,) = client.file(**REPORTER)
    # a named reporter's receipt code too (ADR 44), not called anonymous
    notice = filed["service_notice"]
    assert status == 201 and "举报回执码" in notice and "匿名" not in notice
    case_id = wait_for(lambda: case_id_of(client.api, filed["service_request_id"]), 30, "ledger")
    office = client.api.auth("office")
    record = client.api.get(f"/api/v1/tips/{case_id}", headers=office).json()
    assert record["channel"] == "open311" and record["reporter"] == {"anonymous": False}
    revealed = client.api.post(
        f"/api/v1/tips/{case_id}/reporter-views", json={"reason": "核实"}, headers=office
    ).json()
    assert revealed["name"] == "欧阳小明" and revealed["phone"] == REPORTER["phone"]
    for fmt in FORMATS:
        for path in ("requests", f"requests/{filed['service_request_id']}"):
            text = client.api.get(f"{BASE}/{path}.{fmt}").text
            assert filed["service_request_id"] in text
            for secret in (*REPORTER.values(), "欧阳小明"):
                assert secret not in text and json.dumps(secret)[1:-1] not in text


def test_a_media_url_is_kept_for_the_office_and_never_fetched_or_shown(client: Client) -> None:
    """Issue 21 point 4: the photo link is stored with the tip as a link — the server never
    requests it (no request forgery through us) and 311 clients never see it (published
    photos need the office's approval)."""
    asked: list[str] = []

    class Photo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *_: Any) -> None:
            pass

    with socketserver.TCPServer(("127.0.0.1", 0), Photo) as photos:
        threading.Thread(target=photos.serve_forever, daemon=True).start()
        try:
            link = f"http://127.0.0.1:{photos.server_address[1]}/evidence/photo-{uuid.uuid4()}.jpg"
            status, (filed,) = client.file(media_url=link)
            assert status == 201, filed
            number = filed["service_request_id"]
            case_id = wait_for(lambda: case_id_of(client.api, number), 30, "ledger")
            office = client.api.auth("office")
            record = client.api.get(f"/api/v1/tips/{case_id}", headers=office).json()
            assert link in record["content"]
            for fmt in FORMATS:
                assert link not in client.api.get(f"{BASE}/requests/{number}.{fmt}").text
        finally:
            photos.shutdown()
    assert asked == []


def test_a_json_body_is_refused_asking_for_a_form(client: Client) -> None:
    body = {"api_key": client.keys["operator"], "service_code": "other", "lat": 30, "long": 114}
    r = client.api.post(f"{BASE}/requests.json", json=body)
    assert r.status_code == 400
    assert "x-www-form-urlencoded" in errors(parse(r, "json"))[0]["description"]


# --- following -------------------------------------------------------------------------------


def case_id_of(api: Api, number: str) -> str | None:
    r = api.get("/api/v1/ledger", params={"channel": "open311"}, headers=api.auth("office"))
    # Registered, not only opened: dispatch's CaseOpened may reach the ledger before the tip.
    items = r.json()["items"]
    return next((i["case_id"] for i in items if i["number"] == number and i["registered_at"]), None)


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_are_listed_filtered_and_found_one_by_one(client: Client, fmt: str) -> None:
    numbers = [
        client.file(service_code="environment", **{"attribute[subject_unit]": None})[1][0][
            "service_request_id"
        ]
        for _ in range(2)
    ]
    hidden = client.api.register(content="不经 Open311 的线索,未公示").json()["number"]
    wait_for(lambda: all(case_id_of(client.api, n) for n in numbers), 30, "the ledger")
    status, listed = client.get("requests", fmt, service_request_id=",".join([*numbers, hidden]))
    assert status == 200 and sorted(r["service_request_id"] for r in listed) == sorted(numbers)
    request = listed[0]
    assert request["status"] == "open" and request["status_notes"].startswith("已登记")
    assert request["service_code"] == "environment" and request["service_name"] == "生态环境"
    assert request["requested_datetime"].endswith("+08:00")
    status, listed = client.get("requests", fmt, service_code="environment", status="open")
    assert status == 200 and set(numbers) <= {r["service_request_id"] for r in listed}
    assert hidden not in {r["service_request_id"] for r in listed}
    status, listed = client.get("requests", fmt, service_code="environment", status="closed")
    assert status == 200 and not set(numbers) & {r["service_request_id"] for r in listed or []}
    status, (one,) = client.get(f"requests/{numbers[0]}", fmt)
    assert status == 200 and one["service_request_id"] == numbers[0]
    status, answer = client.get(f"requests/{hidden}", fmt)
    assert status == 404 and errors(answer)[0]["code"] == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_request_shows_where_it_is_to_about_a_hundred_metres(client: Client, fmt: str) -> None:
    placed = client.file(fmt, lat="30.567891", long="114.312345", address_string=None)[1][0]
    addressed = client.file(fmt)[1][0]
    numbers = [placed["service_request_id"], addressed["service_request_id"]]
    wait_for(lambda: all(case_id_of(client.api, n) for n in numbers), 30, "the ledger")
    status, (one,) = client.get(f"requests/{numbers[0]}", fmt)
    assert status == 200 and float(one["lat"]) == 30.568 and float(one["long"]) == 114.312
    status, (other,) = client.get(f"requests/{numbers[1]}", fmt)
    assert status == 200 and not other.get("lat") and not other.get("long")  # no place given


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90"),
        ({"start_date": "2026-03-01T00:00:00Z", "end_date": "2026-02-01T00:00:00Z"}, "end_date"),
        ({"start_date": "last week"}, "start_date"),
        ({"status": "pending"}, "status"),
        ({"service_code": "potholes"}, "service_code"),
    ],
)
def test_bad_queries_are_400_naming_the_argument(
    client: Client, fmt: str, params: dict[str, str], named: str
) -> None:
    status, answer = client.get("requests", fmt, **params)
    assert status == 400
    assert named in errors(answer)[0]["description"]


def test_a_window_of_the_past_holds_none_of_todays_requests(client: Client) -> None:
    client.file()
    status, listed = client.get(
        "requests", "json", start_date="2020-01-01T00:00:00+08:00", end_date="2020-03-01"
    )
    assert status == 200 and listed == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_georeport_client_from_pypi_lists_services_and_follows_a_request(
    client: Client, fmt: str
) -> None:
    """``georeport`` (PyPI) reads what we answer, in both formats; it files nothing (it has
    no POST), so the request is filed as a form like any 311 app does."""
    status, (filed,) = client.file(phone="13933334444")
    assert status == 201
    number = filed["service_request_id"]
    wait_for(lambda: case_id_of(client.api, number), 30, "the case on the ledger")
    geo = GeoReport(f"{client.api.base_url}{BASE}", output_format=fmt)
    assert "arbitrary_charges" in {s["service_code"] for s in geo.get_service_list()}
    definition = geo.get_service_definition("arbitrary_charges")
    assert definition["service_code"] == "arbitrary_charges"
    found = geo.get_service_request(number)
    assert (found["service_request_id"], found["status"]) == (number, "open")
    assert "expected_datetime" in found  # the handling deadline, once dispatched
    listed = geo.get_service_requests(service_request_id=number)
    listed = listed if isinstance(listed, list) else [listed]  # XML: one <request>
    assert [r["service_request_id"] for r in listed] == [number]
    assert "13933334444" not in str(found) + str(listed)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_is_the_case_id_of_an_open311_request(client: Client, fmt: str) -> None:
    _, (filed,) = client.file()
    case_id = wait_for(lambda: case_id_of(client.api, filed["service_request_id"]), 30, "ledger")
    status, (found,) = client.get(f"tokens/{case_id}", fmt)
    assert status == 200
    assert found == {"service_request_id": filed["service_request_id"], "token": case_id}
    native = client.api.register(content="热线线索").json()["case_id"]
    for token in (native, "not-a-token", str(uuid.uuid4())):
        status, answer = client.get(f"tokens/{token}", fmt)
        assert status == 404 and errors(answer)[0]["code"] == 404


# --- end to end ------------------------------------------------------------------------------


def walk_to_close_out(client: Client) -> None:
    api = client.api
    status, (filed,) = client.file("xml", description="区政务大厅办证收取额外费用")
    assert status == 201
    number = filed["service_request_id"]
    case_id = wait_for(lambda: case_id_of(api, number), 30, "the case on the ledger")
    tip = api.get(f"/api/v1/tips/{case_id}", headers={"X-API-Key": client.keys["operator"]})
    assert tip.status_code == 200 and tip.json()["number"] == number  # the key's own tip

    def act(service_path: str, role: str, unit: str | None = None, **body: Any) -> None:
        r = api.post(f"/api/v1/{service_path}", json=body, headers=api.auth(role, unit=unit))
        assert r.status_code in (200, 201), r.text

    def reaches(status: str) -> dict[str, Any]:
        def seen() -> Any:
            row = api.get(f"/api/v1/cases/{case_id}", headers=api.auth("office")).json()
            return row if row.get("status") == status else None

        return wait_for(seen, 30, status, interval=0.1)  # type: ignore[no-any-return]

    act("units", "admin", code=UNIT[0], name=UNIT[1], kind="department")
    reaches("registered")
    case = f"cases/{case_id}"
    act(f"{case}/triage", "office", track="general", category="arbitrary_charges")
    act(f"{case}/dispatch", "office", lead_unit=UNIT[0], co_units=[])
    reaches("dispatched")
    _, (shown,) = client.get(f"requests/{number}", "xml")
    assert shown["agency_responsible"] == UNIT[1] and shown["expected_datetime"].endswith("+08:00")
    assert shown["status"] == "open" and shown["status_notes"] == "已交办"
    act(f"{case}/sign", "unit_liaison", UNIT[0])
    act(
        f"{case}/results",
        "unit_liaison",
        UNIT[0],
        findings="属实",
        rectification="已退还多收费用",
        proposal={"kind": "rectification", "text": "规范收费公示"},
        signed_off_by="局长 李某",
    )
    act(f"{case}/results/1/review", "office", accepted=True)
    reaches("awaiting_feedback")

    feedback_taken(
        lambda: api.post(
            f"/api/v1/{case}/feedback",
            json={"channel": "online_publication", "content": "已退还多收费用并公示"},
            headers=api.auth("office"),
        )
    )
    act(f"{case}/feedback", "office", channel="direct_reply", content="已通过 311 应用回复")
    reaches("awaiting_evaluation")
    act(f"{case}/evaluations", "evaluator", rating="satisfied", evaluator_kind="npc_deputy")
    act(f"{case}/close-out", "office")
    reaches("closed_out")
    for fmt in FORMATS:
        _, (closed,) = client.get(f"requests/{number}", fmt)
        assert closed["status"] == "closed"
        assert closed["status_notes"] == "已销号:已退还多收费用并公示"
        status, listed = client.get("requests", fmt, status="closed")
        assert number in {r["service_request_id"] for r in listed}
        # Chicago's convention: extensions=true adds the channel and the published notes.
        _, (extended,) = client.get(f"requests/{number}", fmt, extensions="true")
        attributes = extended["extended_attributes"]
        assert (attributes["channel"], attributes["channel_label"]) == (
            "open311",
            "Open311城市服务接口",
        )
        notes = attributes["notes"]
        notes = notes if isinstance(notes, list) else [notes["note"]]  # XML: one <note>
        assert [n["description"] for n in notes] == ["已退还多收费用并公示"]
        assert "extended_attributes" not in closed


def test_a_request_filed_through_open311_is_closed_after_close_out(client: Client) -> None:
    walk_to_close_out(client)


@pytest.mark.postgres
def test_a_request_filed_through_open311_is_closed_after_close_out_on_postgres(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import make_settings

    for pg_client in serve(make_settings("postgres", tmp_path / "data", request)):
        walk_to_close_out(pg_client)


def test_following_requests_is_rate_limited_per_client_in_the_spec_shape(tmp_path: Path) -> None:
    from services.app import create_app

    settings = Settings(data_dir=tmp_path / "data", public_rate_per_minute=1, public_rate_burst=2)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as api:
        answers = [api.get(f"{BASE}/requests.xml") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert errors(parse(answers[2], "xml"))[0]["code"] == 429
    assert int(answers[2].headers["retry-after"]) > 0
