"""The workbench without a browser: the cookie's flags, CSRF on every POST, the liaison's
row scope (404 page), refusals shown with the API's own message, and the ledger's pages and
the dashboard past the ledger's count limit (ADR 13)."""

from __future__ import annotations

import asyncio
import html
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.app import create_app
from shared.contracts.wording import chinese_only
from shared.platform.readmodel import create_engine
from shared.platform.settings import Settings
from shared.web.auth import Role, create_api_key
from tests.support.api import Api
from tests.support.deployment import delete_streams
from tests.support.infra import ServerThread, wait_for
from tests.support.pinned import NOW
from tests.support.workbench import LEAD, OTHER, Workbench, case_in_ledger, dispatched_case


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's time, which a test may move (shared/platform/clock.py)."""
    path = tmp_path_factory.mktemp("clock") / "now"
    path.write_text(NOW.isoformat())
    return path


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, clock: Path) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    settings = Settings(data_dir=data_dir, clock_file=clock)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


COUNT_LIMIT = 3
CROWD = 21  # one full page of 20 rows and one more


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A deployment whose ledger list counts at most ``COUNT_LIMIT`` matches, holding
    ``CROWD`` tips about 资料费 and nothing else."""
    data_dir = tmp_path_factory.mktemp("ui-capped") / "data"
    settings = Settings(data_dir=data_dir, ledger_count_limit=COUNT_LIMIT)
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        for n in range(CROWD):
            tip = client.register(content=f"某所窗口收取资料费第{n}起", external_ref=f"crowd-{n}")
            assert tip.status_code == 201, tip.text

        def listed() -> bool:  # found by the search, i.e. with their content projected
            params = {"q": "资料费", "page_size": 50}
            r = client.get("/api/v1/ledger", params=params, headers=client.auth("office"))
            return len(r.json()["items"]) == CROWD

        wait_for(listed, 30, f"{CROWD} rows in the ledger", interval=0.2)
        yield client


def token(api: Api, role: str, unit: str | None = None, name: str = "测试员") -> str:
    return api.auth(role, name, unit)["Authorization"].removeprefix("Bearer ")


def signed_in(api: Api, role: str, unit: str | None = None, name: str = "测试员") -> Workbench:
    bench = Workbench(str(api.base_url))
    answer = bench.sign_in(token(api, role, unit, name))
    assert answer.status_code == 200, answer.text
    return bench


def test_sign_in_keeps_the_credential_in_an_httponly_samesite_strict_cookie(api: Api) -> None:
    bench = Workbench(str(api.base_url))
    bench.page("/ui/login")
    answer = bench.post(
        "/ui/login",
        data={"csrf": bench.csrf, "credential": token(api, "office", name="周主任")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookies = {c.split("=", 1)[0]: c.lower() for c in answer.headers.get_list("set-cookie")}
    for name in ("tz_session", "tz_csrf"):
        assert "httponly" in cookies[name]
        assert "samesite=strict" in cookies[name]
        assert "path=/ui" in cookies[name]
    ledger = bench.get(answer.headers["location"])
    assert "周主任" in ledger.text and "纠风办" in ledger.text


def test_the_page_shows_a_liaisons_unit_by_name(api: Api) -> None:
    bench = signed_in(api, "unit_liaison", LEAD, "联络员甲")
    who = bench.page("/ui/ledger").text
    assert "联络员甲" in who and "积玉桥街道办事处" in who


def test_a_bad_credential_is_refused_with_the_apis_message(api: Api) -> None:
    bench = Workbench(str(api.base_url))
    answer = bench.sign_in("not-a-token")
    assert answer.status_code == 401
    assert "登录凭证无效" in answer.text
    assert "tz_session" not in bench.cookies


def test_pages_need_signing_in(api: Api) -> None:
    answer = Workbench(str(api.base_url)).get("/ui/ledger", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login")


@pytest.mark.parametrize("csrf", ["", "forged.0000", "signed-out"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    api: Api, csrf: str
) -> None:
    bench = signed_in(api, "office")
    before = api.get("/api/v1/ledger", headers=api.auth("office")).json()["total"]
    if csrf == "signed-out":  # a token minted before sign-in does not pass after it
        csrf = signed_out_csrf(api)
    answer = bench.post(
        "/ui/intake",
        data={"csrf": csrf, "channel": "inspection", "content": "巡查发现某所工作人员脱岗"},
    )
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert api.get("/api/v1/ledger", headers=api.auth("office")).json()["total"] == before


def signed_out_csrf(api: Api) -> str:
    signed_out = Workbench(str(api.base_url))
    signed_out.page("/ui/login")
    return signed_out.csrf


def test_a_post_from_another_site_without_the_cookie_is_refused(api: Api) -> None:
    bench = signed_in(api, "office")
    csrf = bench.csrf
    bench.cookies.delete("tz_csrf")  # what a cross-site form post looks like (SameSite=Strict)
    answer = bench.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 403


def test_sign_out_forgets_the_credential(api: Api) -> None:
    bench = signed_in(api, "office")
    answer = bench.submit("/ui/logout")
    assert answer.url.path == "/ui/login"
    assert bench.get("/ui/ledger", follow_redirects=False).status_code == 303


def test_a_second_liaison_gets_the_not_found_page_for_another_units_case(api: Api) -> None:
    case_id = dispatched_case(api)
    detail = api.get(f"/api/v1/cases/{case_id}", headers=api.auth("unit_liaison", unit=OTHER))
    assert detail.status_code == 404
    other = signed_in(api, "unit_liaison", OTHER)
    page = other.page(f"/ui/cases/{case_id}")
    assert page.status_code == 404
    assert chinese_only(detail.json()["detail"]) in page.text  # as zh-CN reads it
    assert case_id not in other.page("/ui/ledger").text
    lead = signed_in(api, "unit_liaison", LEAD)
    assert case_id in lead.page("/ui/ledger").text


def test_only_the_actions_the_viewer_may_take_now_are_offered(api: Api) -> None:
    case_id = dispatched_case(api)
    forms = re.compile(r'id="form-([a-z_]+)"')
    lead = set(
        forms.findall(signed_in(api, "unit_liaison", LEAD).page(f"/ui/cases/{case_id}").text)
    )
    office = set(forms.findall(signed_in(api, "office").page(f"/ui/cases/{case_id}").text))
    supervisor = set(forms.findall(signed_in(api, "supervisor").page(f"/ui/cases/{case_id}").text))
    assert lead == {"sign", "return", "progress"}
    assert office == {"dispatch", "open_procedure"}  # re-dispatch; triage, review not for now
    assert supervisor == set()


def test_a_local_undercover_finding_prompts_the_office_to_open_a_procedure(api: Api) -> None:
    """ADR 19: a local 暗访 opens no procedure by itself (a higher level's does); dispatch
    flags it, the case page says so and offers the office the form that opens one."""
    tip = api.register(channel="undercover_visit", content="区治庸问责办暗访发现窗口人员脱岗")
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    path = f"/ui/cases/{case_id}"
    office = signed_in(api, "office")

    def prompted() -> httpx.Response | None:
        page = office.page(path)
        return page if 'id="accountability-prompt"' in page.text else None

    page = wait_for(prompted, 15, "the case flagged in the ledger")
    assert 'id="form-open_procedure"' in page.text and "按治庸问责规定调查处理" in page.text
    supervisor = signed_in(api, "supervisor").page(path).text
    assert 'id="form-open_procedure"' not in supervisor  # the office decides
    opened = office.submit(f"{path}/actions/open_procedure", reason="暗访发现窗口人员脱岗")
    assert opened.status_code == 200, opened.text
    assert 'id="procedure"' in opened.text and "暗访发现窗口人员脱岗" in opened.text
    assert 'id="accountability-prompt"' not in opened.text
    assert 'id="form-open_procedure"' not in opened.text


def test_a_refusal_shows_the_apis_message_next_to_the_form(api: Api) -> None:
    case_id = dispatched_case(api)
    bench = signed_in(api, "unit_liaison", LEAD)
    bench.page(f"/ui/cases/{case_id}")
    too_long = "不归我单位管辖" * 100  # over the API's 500 characters
    answer = bench.submit(f"/ui/cases/{case_id}/actions/return", reason=too_long)
    direct = api.post(
        f"/api/v1/cases/{case_id}/return",
        json={"reason": too_long},
        headers=api.auth("unit_liaison", unit=LEAD),
    )
    assert answer.status_code == direct.status_code == 422
    beside = re.search(r'id="error-return">([^<]+)<', answer.text)
    assert beside is not None
    assert html.unescape(beside.group(1)) == chinese_only(direct.json()["detail"])
    assert "Traceback" not in answer.text
    case_in_ledger(api, case_id, "dispatched")  # nothing changed


def test_an_action_not_allowed_in_this_state_shows_the_apis_conflict(api: Api) -> None:
    case_id = dispatched_case(api)
    bench = signed_in(api, "unit_liaison", LEAD)
    bench.page(f"/ui/cases/{case_id}")
    fields = {
        "findings": "经查属实",
        "rectification": "已整改",
        "proposal_kind": "rectification",
        "proposal_text": "加强管理",
        "signed_off_by": "主任 王某",
    }
    answer = bench.submit(f"/ui/cases/{case_id}/actions/result", **fields)  # not signed yet
    assert answer.status_code == 409
    shown = re.search(r'id="error-result">([^<]+)<', answer.text)
    assert shown is not None and "不能提交办理结果" in html.unescape(shown.group(1))


@pytest.mark.calendar
def test_overdue_rows_are_highlighted_with_the_working_day_countdown(api: Api, clock: Path) -> None:
    case_id = dispatched_case(api)
    bench = signed_in(api, "office")
    row = re.compile(
        rf'<tr class="([a-z ]*)" data-number="[^"]+" data-status="dispatched">\s*'
        rf'<td><a href="/ui/cases/{case_id}">.*?</tr>',
        re.S,
    )
    on_time = row.search(bench.page("/ui/ledger", status="dispatched").text)
    assert on_time is not None and on_time.group(1) == ""
    assert re.search(r"剩 \d+ 个工作日", on_time.group(0))
    now = clock.read_text()
    try:
        clock.write_text((datetime.fromisoformat(now) + timedelta(days=60)).isoformat())
        late = row.search(bench.page("/ui/ledger", overdue="true").text)
    finally:
        clock.write_text(now)
    assert late is not None and late.group(1) == "overdue"
    assert re.search(r"超期 \d+ 个工作日", late.group(0))


def test_the_export_carries_the_pages_filters(api: Api) -> None:
    case_id = dispatched_case(api)
    bench = signed_in(api, "office")
    page = bench.page("/ui/ledger", status="dispatched", q="玩手机")
    assert case_id in page.text
    link = re.search(r'id="export" href="([^"]+)"', page.text)
    assert link is not None
    assert "status=dispatched" in link.group(1) and "q=" in link.group(1)
    sheet = bench.get(link.group(1).replace("&amp;", "&"))
    assert sheet.status_code == 200
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")


def test_a_sign_in_never_redirects_off_the_workbench(api: Api) -> None:
    bench = Workbench(str(api.base_url))
    bench.page("/ui/login")
    answer = bench.post(
        "/ui/login",
        data={"csrf": bench.csrf, "credential": token(api, "office"), "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/ui/ledger"


def test_the_workbench_stays_out_of_the_api_schema(api: Api) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


def test_the_static_files_are_vendored(api: Api) -> None:
    for name in ("htmx.min.js", "echarts.min.js", "ui.css", "dashboard.js"):
        assert api.get(f"/ui/static/{name}").status_code == 200, name
    assert Path(__file__).parents[2].joinpath("services/ui/static/echarts.min.js").stat().st_size


@pytest.mark.postgres
@pytest.mark.nats
def test_with_services_apart_the_workbench_calls_the_api_through_the_base_url(
    tmp_path: Path, pg_url: str, pg_schema: str, nats_url: str
) -> None:
    """A tracking-only process serves /ui/; its pages reach intake and dispatch through
    ``ui_api_url`` (an all-in-one process on the same stores stands in for the proxy)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    shared = Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        database_schema=pg_schema,
        nats_url=nats_url,
        nats_namespace=namespace,
    )
    try:
        with ServerThread(create_app(shared)) as base, Api(base.url, shared) as api:
            alone = shared.model_copy(update={"ui_api_url": base.url})
            with ServerThread(create_app(alone, services=("tracking",))) as tracking:
                bench = Workbench(tracking.url)
                bench.sign_in(token(api, "office", name="纠风办吴某"))
                bench.page("/ui/intake")
                answer = bench.submit(
                    "/ui/intake", channel="inspection", content="巡查发现某所工作人员上班时间脱岗"
                )
                assert answer.status_code == 201, answer.text
                found = re.search(r'href="/ui/cases/([0-9a-f-]+)"', answer.text)
                assert found is not None
                assert case_in_ledger(api, found.group(1), "registered")["registered_at"]
                page = bench.page(f"/ui/cases/{found.group(1)}")
                assert page.status_code == 200 and 'id="form-triage"' in page.text
    finally:
        asyncio.run(delete_streams(nats_url, namespace))


def unit_row(page: httpx.Response, code: str) -> str:
    found = re.search(rf'<tr data-code="{code}".*?</tr>', page.text, re.S)
    assert found is not None, f"no row for {code}"
    return found.group(0)


def head_cell(page: httpx.Response, code: str) -> str:
    found = re.search(r'<td class="head">([^<]*)</td>', unit_row(page, code))
    assert found is not None
    return html.unescape(found.group(1))


def test_the_administrator_registers_and_renames_a_unit_from_the_directory_page(
    api: Api,
) -> None:
    admin = signed_in(api, "admin", name="管理员")
    page = admin.page("/ui/units")
    assert "<th>负责人</th>" in page.text and 'name="head_position"' in page.text
    added = admin.submit(
        "/ui/units",
        code="UI-NEW",
        name="区测试局",
        kind="department",
        liaison_name="孙某",
        head_name="张某",
        head_position="局长",
    )
    assert added.status_code == 200 and 'data-code="UI-NEW"' in added.text
    assert head_cell(added, "UI-NEW") == "张某(局长)"
    assert 'name="head_name" value="张某"' in unit_row(added, "UI-NEW")  # the edit form has it
    renamed = admin.submit(
        "/ui/units",
        existing="UI-NEW",
        name="区测试管理局",
        kind="department",
        active="true",
        head_name="李某",
        head_position="副局长",
    )
    assert "区测试管理局" in renamed.text
    assert head_cell(renamed, "UI-NEW") == "李某(副局长)"
    units = api.get("/api/v1/units", headers=api.auth("office")).json()["items"]
    saved = {u["code"]: u for u in units}["UI-NEW"]
    assert saved["name"] == "区测试管理局"
    assert saved["responsible_person"] == {"name": "李某", "position": "副局长"}
    cleared = admin.submit(
        "/ui/units", existing="UI-NEW", name="区测试管理局", kind="department", active="true"
    )
    assert head_cell(cleared, "UI-NEW") == ""


def test_the_office_may_read_the_directory_but_its_changes_get_the_apis_refusal(
    api: Api,
) -> None:
    office = signed_in(api, "office")
    page = office.page("/ui/units")
    assert 'id="new-unit"' not in page.text  # the form is the administrator's
    refused = office.submit("/ui/units", code="UI-NOPE", name="不应新增", kind="department")
    direct = api.post(
        "/api/v1/units",
        json={"code": "UI-NOPE", "name": "不应新增", "kind": "department"},
        headers=api.auth("office"),
    )
    assert refused.status_code == direct.status_code == 403
    shown = re.search(r'id="units-error">([^<]+)<', refused.text)
    assert shown is not None and html.unescape(shown.group(1)) == chinese_only(
        direct.json()["detail"]
    )


def test_routing_rules_that_are_not_json_are_refused_and_kept_for_correction(api: Api) -> None:
    admin = signed_in(api, "admin")
    page = admin.page("/ui/rules")
    assert "r-supervised-business-env" in page.text
    refused = admin.submit("/ui/rules", rules='[{"id": "r-broken",')
    assert refused.status_code == 422
    assert "不是有效的 JSON" in refused.text and "r-broken" in refused.text
    assert "r-supervised-business-env" in admin.page("/ui/rules").text  # nothing replaced


def rule_ids(api: Api) -> list[str]:
    rules = api.get("/api/v1/routing-rules", headers=api.auth("office")).json()["rules"]
    return [r["id"] for r in rules]


def test_the_administrator_adds_moves_and_deletes_one_routing_rule_at_a_time(api: Api) -> None:
    admin = signed_in(api, "admin")
    before = rule_ids(api)
    page = admin.page("/ui/rules")
    assert 'id="add-rule"' in page.text and f'action="/ui/rules/{before[1]}/up"' in page.text
    added = admin.submit(
        "/ui/rules/add",
        id="r-ui-fees",
        name="乱收费转区市场监管局",
        categories="",
        districts="武昌区",
        streets="",
        channels="mayor_hotline, hotline_12388",
        keywords="乱收费、收费不公示",
        lead_unit="WC-SCJG",
        co_units="WC-JYQ",
        track="general",
        position="2",
    )
    assert added.status_code == 200 and 'data-rule="r-ui-fees"' in added.text
    rules = api.get("/api/v1/routing-rules", headers=api.auth("office")).json()["rules"]
    assert [r["id"] for r in rules] == [before[0], "r-ui-fees", *before[1:]]
    assert rules[1]["match"]["keywords"] == ["乱收费", "收费不公示"]
    assert rules[1]["match"]["channels"] == ["mayor_hotline", "hotline_12388"]
    assert rules[1]["co_units"] == ["WC-JYQ"] and rules[1]["match"]["categories"] == []

    admin.submit("/ui/rules/r-ui-fees/up")
    assert rule_ids(api)[:2] == ["r-ui-fees", before[0]]
    admin.submit("/ui/rules/r-ui-fees/delete")
    assert rule_ids(api) == before


def test_a_rule_for_an_unknown_unit_is_refused_with_the_apis_message(api: Api) -> None:
    admin = signed_in(api, "admin")
    before = rule_ids(api)
    admin.page("/ui/rules")
    fields = {"id": "r-ui-nowhere", "name": "无此单位", "lead_unit": "NO-SUCH", "track": "general"}
    refused = admin.submit("/ui/rules/add", **fields)
    rule = {
        "id": "r-ui-nowhere",
        "name": "无此单位",
        "match": {},
        "lead_unit": "NO-SUCH",
        "co_units": [],
        "track": "general",
    }
    direct = api.put(
        "/api/v1/routing-rules",
        json={
            "rules": [
                *api.get("/api/v1/routing-rules", headers=api.auth("admin")).json()["rules"],
                rule,
            ]
        },
        headers=api.auth("admin"),
    )
    assert refused.status_code == direct.status_code and 400 <= direct.status_code < 500
    shown = re.search(r'id="rules-error">([^<]+)<', refused.text)
    assert shown is not None and html.unescape(shown.group(1)) == chinese_only(
        direct.json()["detail"]
    )
    assert rule_ids(api) == before
    office = signed_in(api, "office")
    assert 'id="add-rule"' not in office.page("/ui/rules").text  # the administrator's forms


def test_the_calendar_page_loads_a_year_the_built_in_calendar_lacks(api: Api) -> None:
    admin = signed_in(api, "admin")
    missing = admin.page("/ui/calendar", year="2099")
    assert 'id="holidays"' not in missing.text and 'id="load-year"' in missing.text
    loaded = admin.submit("/ui/calendar", year="2099", holidays="2099-01-01, 2099-10-01")
    assert loaded.status_code == 200
    assert "2099-01-01" in loaded.text and "办公室载入" in loaded.text


def test_the_ledger_pages_through_twenty_rows_at_a_time(api: Api) -> None:
    for n in range(21):
        tip = api.register(content=f"某所窗口收取材料费第{n}起", external_ref=f"ui-page-{n}")
        assert tip.status_code == 201, tip.text
    office = signed_in(api, "office")

    def both_pages() -> bool:
        return "第 1 / 2 页" in office.page("/ui/ledger", q="收取材料费").text

    wait_for(both_pages, 30, "21 rows in the ledger", interval=0.2)
    first = office.page("/ui/ledger", q="收取材料费")
    assert first.text.count("data-number=") == 20
    second = office.page("/ui/ledger", q="收取材料费", page="2")
    assert second.text.count("data-number=") == 1 and "第 2 / 2 页" in second.text


def test_past_the_count_limit_the_ledger_shows_n_plus_and_pages_while_pages_come_full(
    crowded: Api,
) -> None:
    office = signed_in(crowded, "office")
    first = office.page("/ui/ledger", q="资料费").text
    assert first.count("data-number=") == 20
    assert '共 <strong id="total">3+</strong> 件' in first
    assert "第 1 页" in first and 'id="next-page"' in first and "page=2" in first
    second = office.page("/ui/ledger", q="资料费", page="2").text
    assert second.count("data-number=") == 1 and "第 2 页" in second
    assert 'id="next-page"' not in second and "上一页" in second
    one = office.page("/ui/ledger", q="第1起").text  # below the limit: exact, as before
    assert one.count("data-number=") == 1
    assert '共 <strong id="total">1</strong> 件' in one and "第 1 / 1 页" in one
    assert 'id="next-page"' not in one


def test_the_dashboards_open_cases_stay_exact_past_the_count_limit(crowded: Api) -> None:
    page = signed_in(crowded, "supervisor").page("/ui/dashboard").text
    block = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert block is not None, page
    figures = json.loads(html.unescape(block.group(1)))
    assert sum(status["value"] for status in figures["open"]) == CROWD
    assert max(status["value"] for status in figures["open"]) > COUNT_LIMIT


def test_an_operator_signs_in_with_an_api_key_and_registers_a_tip(api: Api) -> None:
    async def new_key() -> str:
        engine = create_engine(api.settings)
        try:
            return (await create_api_key(engine, role=Role.OPERATOR, name="热线话务台"))[1]
        finally:
            await engine.dispose()

    bench = Workbench(str(api.base_url))
    ledger = bench.sign_in(asyncio.run(new_key()))
    assert "热线话务台" in ledger.text and "话务员" in ledger.text
    assert ledger.status_code == 403  # operators register; the ledger is not theirs
    bench.page("/ui/intake")
    answer = bench.submit("/ui/intake", channel="hotline_12388", content="某所违规收取办证费用")
    assert answer.status_code == 201
    assert 'id="receipt-code"' in answer.text  # anonymous: the code to follow the case
    assert "请告知匿名举报人" in answer.text


def test_the_dashboards_months_end_at_the_servers_today(api: Api, clock: Path) -> None:
    """Judged by the same clock as deadlines, so a training setup's moved clock moves it too."""
    bench = signed_in(api, "supervisor")
    now = clock.read_text()
    try:
        clock.write_text("2031-03-15T10:00:00+08:00")
        moved = bench.page("/ui/dashboard").text
    finally:
        clock.write_text(now)
    assert "2031-03" in moved and "2031-04" not in moved
    assert "2031-03" not in bench.page("/ui/dashboard").text


def test_a_case_with_merged_repeats_shows_their_count_to_every_role(api: Api) -> None:
    original = dispatched_case(api)
    number = case_in_ledger(api, original, "dispatched")["number"]
    repeat = api.register(channel="media", content="又一次反映:某局工作人员上班时间玩手机游戏")
    assert repeat.status_code == 201, repeat.text
    repeat_id = repeat.json()["case_id"]
    case_in_ledger(api, repeat_id, "registered")
    merged = api.post(
        f"/api/v1/cases/{repeat_id}/merge",
        json={"into": number, "reason": "同一问题重复反映"},
        headers=api.auth("office", "办公室乙"),
    )
    assert merged.status_code == 200, merged.text
    wait_for(lambda: case_in_ledger(api, original, "dispatched")["repeats"] == 1, 30, "the repeat")
    for role, unit in (("office", None), ("supervisor", None), ("unit_liaison", LEAD)):
        page = signed_in(api, role, unit).page(f"/ui/cases/{original}")
        assert page.status_code == 200, (role, page.text[:200])
        assert "<dt>重复件</dt><dd>1 次</dd>" in page.text


def test_the_case_page_shows_the_procedure_and_takes_its_decision_and_report_back(
    api: Api,
) -> None:
    tip = api.register(
        channel="undercover_visit",
        content="市纪委暗访发现某局窗口人员脱岗",
        summary="市级暗访:窗口脱岗",
        origin={"level": "city", "body": "市纪委暗访组"},
    )
    assert tip.status_code == 201, tip.text
    case_id = tip.json()["case_id"]
    case_in_ledger(api, case_id, "registered")
    bench = signed_in(api, "office")
    page = wait_for(
        lambda: (p := bench.page(f"/ui/cases/{case_id}")) and "问责程序" in p.text and p,
        30,
        "the procedure on the case page",
    )
    assert "上级来源" in page.text and "市纪委暗访组" in page.text
    wrong = {"target_kind": "leadership", "name": "某局领导班子", "measures": "dismissal"}
    answer = bench.submit(f"/ui/cases/{case_id}/actions/accountability", **wrong)
    assert answer.status_code == 422
    shown = re.search(r'id="error-accountability">([^<]+)<', answer.text)
    assert shown is not None and "第三十六条" in html.unescape(shown.group(1))
    decision = {
        "target_kind": "person",
        "name": "赵某",
        "unit": "某局",
        "position": "科员",
        "liability": "direct",
        "measures": "admonishment_talk",
        "decided_by": "superior_department",
        "decided_on": "2026-11-18",
    }
    answer = bench.submit(f"/ui/cases/{case_id}/actions/accountability", **decision)
    assert answer.status_code == 200, answer.text
    assert "已决定,待回告" in answer.text and "上级主管部门" in answer.text
    back = {"reported_to": "市纪委", "content": "已对赵某诫勉谈话"}
    answer = bench.submit(f"/ui/cases/{case_id}/actions/report_back", **back)
    assert answer.status_code == 200, answer.text
    assert "已办结" in answer.text and "已回告" in answer.text

    listed = wait_for(
        lambda: (p := bench.page("/ui/accountability", year="2026")) and "赵某" in p.text and p,
        30,
        "the decision on the 问责清单 page",
    )
    assert "2026年度不得评优评先" in listed.text and "诫勉谈话" in listed.text
    person = bench.page("/ui/accountability/persons", name="赵某")
    assert person.status_code == 200
    assert "赵某(某局 科员)" in person.text and "2026年度不得评优评先" in person.text
    liaison = signed_in(api, "unit_liaison", LEAD).page("/ui/accountability")
    assert liaison.status_code == 403


def test_the_office_registers_a_tip_with_its_photo_and_a_refused_file_registers_nothing(
    api: Api,
) -> None:
    from tests.support.files import jpeg_with_gps, renamed_executable

    bench = signed_in(api, "office", name="办公室登记员")
    bench.page("/ui/intake")
    fields = {"csrf": bench.csrf, "channel": "inspection", "content": "巡查发现某所违规收费"}
    before = api.get("/api/v1/ledger", headers=api.auth("office")).json()["total"]
    refused = bench.post(
        "/ui/intake",
        data=fields,
        files=[
            ("files", ("现场.jpg", jpeg_with_gps(), "image/jpeg")),
            ("files", ("现场2.jpg", renamed_executable(), "image/jpeg")),
        ],
    )
    assert refused.status_code == 415 and "按文件内容识别" in html.unescape(refused.text)
    assert "巡查发现某所违规收费" in refused.text  # the form comes back as typed

    answer = bench.post(
        "/ui/intake", data=fields, files=[("files", ("现场.jpg", jpeg_with_gps(), "image/jpeg"))]
    )
    assert answer.status_code == 201, answer.text
    case_id = re.search(r"/ui/cases/([0-9a-f-]{36})", answer.text)
    assert case_id is not None
    assert api.get("/api/v1/ledger", headers=api.auth("office")).json()["total"] == before + 1

    def listed() -> list[dict[str, object]]:
        r = api.get(f"/api/v1/cases/{case_id.group(1)}/attachments", headers=api.auth("office"))
        return list(r.json()["items"]) if r.status_code == 200 else []

    (photo,) = wait_for(listed, 30, "the case lists the photo")
    assert (photo["purpose"], photo["media_type"]) == ("evidence", "image/jpeg")


def test_the_registration_form_asks_the_reporters_sms_consent_and_the_case_page_shows_it(
    api: Api,
) -> None:
    """同意短信告知办理进展 (ADR 37): a box on 登记, refused in Chinese without a phone; the case
    page tells the office whether the reporter was texted — here, that this deployment sends
    no SMS — and never shows the phone for it."""
    bench = signed_in(api, "office")
    form = bench.page("/ui/intake")
    assert 'name="reporter_sms_consent"' in form.text and "同意短信告知办理进展" in form.text
    tip = {
        "channel": "inspection",
        "content": "巡查发现某所窗口工作人员脱岗",
        "reporter_named": "true",
    }
    refused = bench.submit("/ui/intake", **tip, reporter_name="孙某", reporter_sms_consent="true")
    assert refused.status_code == 422 and "同意短信告知须留下举报人的电话" in refused.text
    answer = bench.submit(
        "/ui/intake",
        **tip,
        reporter_name="孙某",
        reporter_phone="+8613800009999",
        reporter_sms_consent="true",
    )
    assert answer.status_code == 201, answer.text
    # 登记成功: the named reporter's receipt code too, to be told (ADR 44)
    assert 'id="receipt-code"' in answer.text and "请告知举报人并提醒妥善保管" in answer.text
    assert "在公众门户查询办理进度并评价,页面不显示举报人的姓名和电话" in answer.text
    found = re.search(r'href="/ui/cases/([0-9a-f-]+)"', answer.text)
    assert found is not None
    case_id = found.group(1)
    page = bench.page(f"/ui/cases/{case_id}")
    assert 'id="reporter-sms"' in page.text and "举报人已同意短信告知办理进展" in page.text
    assert "本系统未开通短信" in page.text  # this deployment has no sms_url
    assert "13800009999" not in page.text


def test_the_office_records_a_reporters_withdrawal_and_renewal_of_sms_on_the_case_page(
    api: Api,
) -> None:
    """撤回/恢复短信告知 (ADR 37 addendum): the case page says whether the reporter agrees
    now, offers the office the one change that is open, lists who recorded each and why, and
    an anonymous case shows none of it."""
    tip = {
        "content": "巡查发现某所窗口工作人员推诿",
        "reporter": {"anonymous": False, "name": "周某", "phone": "+8613800008888"},
    }
    registered = api.register("office", **(tip | {"channel": "inspection"}))
    assert registered.status_code == 201, registered.text
    case_id = registered.json()["case_id"]
    case_in_ledger(api, case_id, "registered")
    bench = signed_in(api, "office")
    page = bench.page(f"/ui/cases/{case_id}")
    assert 'data-consent="false"' in page.text and "举报人未同意短信告知" in page.text
    assert "记录举报人同意短信告知" in page.text

    given = bench.submit(f"/ui/cases/{case_id}/reporter-sms-consent", consent="true")
    assert given.status_code == 200 and 'data-consent="true"' in given.text  # after 303
    assert "记录举报人撤回短信告知" in given.text
    withdrawn = bench.submit(
        f"/ui/cases/{case_id}/reporter-sms-consent", consent="false", reason="来电要求不再发短信"
    )
    assert 'data-consent="false"' in withdrawn.text
    changes = withdrawn.text.split('id="sms-consent-changes"')[1].split("</ul>")[0]
    assert "举报人同意短信告知" in changes and "举报人撤回短信告知同意" in changes
    assert "来电要求不再发短信" in changes and "13800008888" not in withdrawn.text

    supervisor = signed_in(api, "supervisor")  # may read the state, not change it
    seen = supervisor.page(f"/ui/cases/{case_id}")
    assert 'data-consent="false"' in seen.text and 'id="form-sms-consent"' not in seen.text
