"""The workbench's 问题分类 page (the office adds and renames a category) and the search box
(a case number opens its case page; other words search the ledger)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.app import create_app
from shared.platform.settings import Settings
from tests.support.api import Api
from tests.support.dispatch import UNROUTED
from tests.support.infra import ServerThread, wait_for
from tests.support.workbench import Workbench


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ui-catalogue") / "data")
    with ServerThread(create_app(settings)) as server, Api(server.url, settings) as client:
        yield client


def signed_in(api: Api, role: str) -> Workbench:
    bench = Workbench(str(api.base_url))
    token = api.auth(role, "办公室甲")["Authorization"].removeprefix("Bearer ")
    assert bench.sign_in(token).status_code == 200
    return bench


def test_the_office_keeps_the_catalogue_on_its_page(api: Api) -> None:
    office = signed_in(api, "office")
    page = office.page("/ui/categories")
    assert page.status_code == 200
    assert (
        "四风问题" in page.text
        and "政府热线服务分类" in page.text
        and 'id="new-category"' in page.text
    )
    added = office.submit("/ui/categories", code="banquets", name="违规吃喝", parent="four_winds")
    assert added.status_code == 200 and 'data-code="banquets"' in added.text
    renamed = office.submit("/ui/categories/banquets", change="renamed", name="违规公款吃喝")
    assert "违规公款吃喝" in renamed.text
    taken = office.submit("/ui/categories", code="fees_again", name="乱收费")
    assert taken.status_code == 422 and "已用于类别 arbitrary_charges" in taken.text
    supervisor = signed_in(api, "supervisor").page("/ui/categories")
    assert supervisor.status_code == 200 and 'id="new-category"' not in supervisor.text


def test_the_search_box_opens_a_case_by_its_number_and_searches_words(api: Api) -> None:
    tip = api.register(summary="窗口推诿", category="推诿扯皮").json()
    wait_for(  # intake's own event on the ledger (dispatch's CaseOpened may come first)
        lambda: (
            api.get(f"/api/v1/cases/{tip['case_id']}", headers=api.auth("office"))
            .json()
            .get("category")
        ),
        30,
        "the tip's category on the ledger",
    )
    office = signed_in(api, "office")
    assert 'id="search"' in office.page("/ui/ledger").text
    opened = office.page("/ui/search", q=tip["number"])
    assert opened.url.path == f"/ui/cases/{tip['case_id']}"
    assert "办事效率与推诿扯皮" in opened.text
    searched = office.page("/ui/search", q="推诿")
    assert searched.url.path == "/ui/ledger" and searched.url.params["q"] == "推诿"


def test_the_triage_desk_puts_named_reports_first_then_the_oldest(api: Api) -> None:
    first = api.register(**UNROUTED, summary="匿名较早", category="乱收费").json()
    named = api.register(
        **UNROUTED,
        summary="实名较晚",
        reporter={"anonymous": False, "name": "张三", "phone": "13800000000"},
    ).json()

    def on_the_desk() -> list[dict[str, Any]] | None:  # dispatch's own read model
        items = api.get("/api/v1/triage-desk", headers=api.auth("office")).json()["items"]
        found = {i["number"] for i in items}
        return items if {first["number"], named["number"]} <= found else None

    desk = wait_for(on_the_desk, 30, "both cases on the triage desk")
    numbers = [i["number"] for i in desk]
    assert numbers.index(named["number"]) < numbers.index(first["number"])
    row = next(i for i in desk if i["number"] == first["number"])
    assert (row["summary"], row["category"], row["category_name"]) == (
        "匿名较早",
        "arbitrary_charges",
        "乱收费",
    )
    assert row["named"] is False and row["waiting_days"] >= 0
    page = signed_in(api, "office").page("/ui/desk")
    assert page.status_code == 200
    assert page.text.index(named["number"]) < page.text.index(first["number"])
    assert "实名较晚" in page.text and "乱收费" in page.text


def test_the_administrator_edits_a_routing_rule_in_place(api: Api) -> None:
    admin = signed_in(api, "admin")
    before = api.get("/api/v1/routing-rules", headers=api.auth("office")).json()["rules"]
    target = before[1]
    page = admin.page("/ui/rules")
    assert f'id="edit-{target["id"]}"' in page.text
    edited = admin.submit(
        f"/ui/rules/{target['id']}/edit",
        name="改过的规则",
        categories="乱收费、教育收费与师德师风",
        districts="",
        streets="",
        channels="",
        keywords="",
        lead_unit=target["lead_unit"],
        co_units="",
        track="general",
    )
    assert edited.status_code == 200, edited.text
    after = api.get("/api/v1/routing-rules", headers=api.auth("office")).json()["rules"]
    assert [r["id"] for r in after] == [r["id"] for r in before]  # same place
    assert after[1]["name"] == "改过的规则"
    assert after[1]["match"]["categories"] == ["arbitrary_charges", "education"]
