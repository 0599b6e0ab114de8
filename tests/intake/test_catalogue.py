"""问题分类 in intake (ADR 25): the seed is static data, only the office's changes are events;
a tip's category is a code or a Chinese name (filed under its code), anything else a 422."""

from __future__ import annotations

from shared.contracts.catalogue import SEED, Catalogue, Change
from shared.contracts.categories import CATEGORIES
from tests.support.api import Api, count_topic, problem, stored_notifications


def test_a_start_writes_nothing_for_the_seed(api: Api, settings) -> None:
    assert api.get("/api/v1/categories", headers=api.auth("office")).status_code == 200
    assert stored_notifications(settings, "intake") == []


def test_the_seed_holds_every_first_release_code_and_the_offices_kinds() -> None:
    catalogue = Catalogue.seeded()
    assert all(catalogue.resolve(c.code) == c.code for c in CATEGORIES)
    names = {c.name for c in SEED}
    assert {"四风问题", "庸懒散奢", "吃拿卡要", "乱收费", "十个突出问题", "城乡建设"} <= names
    assert catalogue.resolve("推诿扯皮") == "buck_passing"


def test_a_code_or_a_chinese_name_is_accepted_and_filed_under_the_code(api: Api) -> None:
    for sent, filed in [
        ("作风问题", "conduct"),
        ("乱收费", "arbitrary_charges"),
        ("education",) * 2,
    ]:
        r = api.register(category=sent)
        assert r.status_code == 201, r.text
        record = api.get(f"/api/v1/tips/{r.json()['case_id']}", headers=api.auth("office"))
        assert record.json()["category"] == filed


def test_an_unknown_category_is_a_422_naming_the_field_with_close_matches(
    api: Api, settings
) -> None:
    details = problem(api.register(category="收费"), 422)
    (error,) = details["errors"]
    assert error["field"] == "category" and error["code"] == "unknown_category"
    assert "乱收费 (arbitrary_charges)" in details["matches"]
    assert "相近的类别" in error["message"]
    made_up = problem(api.register(category="完全自造的类别"), 422)
    assert made_up["matches"]  # at least the top of the tree to choose from
    assert stored_notifications(settings, "intake") == []


def test_the_office_adds_renames_and_retires_a_category_each_one_event(api: Api, settings) -> None:
    office = api.auth("office")
    r = api.post(
        "/api/v1/categories",
        json={"code": "banquets", "name": "违规吃喝", "parent": "four_winds"},
        headers=office,
    )
    assert r.status_code == 201, r.text
    assert api.register(category="违规吃喝").status_code == 201
    renamed = api.post(
        "/api/v1/categories/banquets/changes",
        json={"change": "renamed", "name": "违规公款吃喝"},
        headers=office,
    )
    assert renamed.json()["name"] == "违规公款吃喝" and "违规吃喝" in renamed.json()["aliases"]
    assert api.register(category="banquets").status_code == 201
    retired = api.post(
        "/api/v1/categories/banquets/changes", json={"change": "retired"}, headers=office
    )
    assert retired.json()["active"] is False
    problem(api.register(category="banquets"), 422)
    listing = api.get("/api/v1/categories", headers=api.auth("operator")).json()["items"]
    assert {"code": "banquets", "active": False}.items() <= next(
        e for e in listing if e["code"] == "banquets"
    ).items()
    notifications = stored_notifications(settings, "intake")
    assert count_topic(notifications, "CategoryCatalogue.Started") == 1
    assert count_topic(notifications, "CategoryCatalogue.Changed") == 2


def test_changes_the_catalogue_cannot_take_are_refused_in_chinese(api: Api) -> None:
    office = api.auth("office")
    taken = api.post(
        "/api/v1/categories", json={"code": "charges2", "name": "乱收费"}, headers=office
    )
    assert "已用于类别 arbitrary_charges" in problem(taken, 422)["detail"]
    cycle = api.post(
        "/api/v1/categories/conduct/changes",
        json={"change": "moved", "parent": "formalism"},
        headers=office,
    )
    assert "不能是本类别或其下级" in problem(cycle, 422)["detail"]
    missing = api.post(
        "/api/v1/categories/nothing_here/changes", json={"change": "retired"}, headers=office
    )
    assert missing.status_code == 404
    operator = api.post(
        "/api/v1/categories", json={"code": "x_new", "name": "新类"}, headers=api.auth("operator")
    )
    assert operator.status_code == 403


def test_a_retired_category_keeps_its_name_for_old_cases() -> None:
    catalogue = Catalogue.seeded([Change("retired", "medical")])
    assert catalogue.resolve("medical") is None and catalogue.name_of("medical") == "医疗服务与收费"
    assert "medical" not in {s.code for s in catalogue.services()}
