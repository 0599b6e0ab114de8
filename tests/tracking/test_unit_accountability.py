"""问责程序 opened by a unit's assessment, not a case (issues 18/19; 004: 连续两年考核列小组末位
的, 对主要负责人要启动问责程序), on SQLite and PostgreSQL: the office's grade for a unit last in
its group two years running opens the procedure in the same transaction; it shows on the
问责清单 (API and page) with its source; it is decided by the same steps, with the same
refusals; replaying the trigger opens nothing twice, and a trigger recorded before the
procedure consumed it gets its procedure once."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.tracking.accountability.contract import TRANSLATIONS
from services.tracking.accountability.domain import (
    UnitAccountabilityProcedure,
    unit_procedure_id,
)
from services.tracking.assessment.domain import year_id
from shared.contracts import SYSTEM_ACTOR
from shared.contracts import tracking as c
from tests.support.dispatch import ok
from tests.support.infra import wait_for
from tests.support.tracking import Served, served_fixture  # noqa: F401
from tests.support.workbench import Workbench
from tests.tracking.test_assessment_office import Ledger

MAIN_LEADER = {
    "target_kind": "person",
    "name": "王五",
    "position": "街道办事处主任",
    "liability": "main_leadership",
    "measures": ["admonishment_talk"],
    "circumstances": "none",
    "decided_by": "appointing_authority",
    "decided_on": "2027-01-10",
}


def test_every_event_of_a_units_procedure_is_published() -> None:
    events = {
        f"UnitAccountabilityProcedure.{name}"
        for name, value in vars(UnitAccountabilityProcedure).items()
        if isinstance(value, type) and issubclass(value, UnitAccountabilityProcedure.Event)
    } - {"UnitAccountabilityProcedure.Event", "UnitAccountabilityProcedure.Created"}
    assert events == {n for n in TRANSLATIONS if n.startswith("UnitAccountabilityProcedure.")}
    p = UnitAccountabilityProcedure.open_for_unit(
        unit="S3", year=2026, group="街道", trigger="last_place_twice", reason="r", actor={}
    )
    assert p.id == unit_procedure_id("S3", 2026) != unit_procedure_id("S3", 2027)
    p.find_no_one_accountable(
        reason="已整改", decided_by="appointing_authority", decided_on=date(2027, 1, 5), actor={}
    )
    published = [TRANSLATIONS[type(e).__qualname__](e) for e in p.collect_events()]
    assert [type(x) for x in published] == [
        c.UnitAccountabilityProcedureOpened,
        c.UnitNoAccountabilityFound,
        c.UnitAccountabilityDecided,
        c.UnitAccountabilityProcedureClosed,
    ]
    assert all((x.unit, x.year) == ("S3", 2026) for x in published)  # type: ignore[attr-defined]


def test_last_place_twice_opens_a_units_procedure_decided_like_a_cases(served: Served) -> None:
    api, office = served.api, served.api.auth("office")
    tracking = served.tracking
    tracking.assessment.sources = Ledger()  # two years of figures: S3 last of the streets

    r = api.post(
        "/api/v1/assessments/2026/S3/decision",
        json={"grade": "incompetent", "reason": "连续两年末位"},
        headers=office,
    )
    assert r.status_code == 200 and r.json()["accountability_triggered"] is True, r.text

    def listed() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = ok(api.get("/api/v1/accountability/units", headers=office))[
            "items"
        ]
        return found

    [opened] = wait_for(listed, 30, "the unit's procedure on the list")
    assert (opened["unit"], opened["year"], opened["stage"]) == ("S3", 2026, "open")
    assert opened["source"]["label"] == "2026年度考核:连续两年列街道小组末位"
    assert opened["trigger_label"] == "连续两年考核列小组末位"
    assert "对主要负责人启动问责程序" in opened["reason"]

    base = "/api/v1/accountability/units/S3/2026"
    bench = Workbench(str(api.base_url))
    assert bench.sign_in(office["Authorization"].removeprefix("Bearer ")).status_code == 200
    breakdown = bench.page("/ui/assessment/2026/S3").text
    assert 'href="/ui/accountability/units/S3/2026"' in breakdown
    page = bench.page("/ui/accountability/units/S3/2026").text
    assert "2026年度考核:连续两年列街道小组末位" in page and 'id="finding-form"' in page
    refused = bench.submit(
        "/ui/accountability/units/S3/2026",
        step="finding",
        target_kind="leadership",
        name="S3领导班子",
        liability="collective",
        measures="dismissal",
        decided_by="appointing_authority",
    )
    assert refused.status_code == 422 and 'id="error"' in refused.text  # on the page, in Chinese
    # the same refusals as a case's: a leadership team is not given an individual's measure
    team = {**MAIN_LEADER, "target_kind": "leadership", "liability": "collective"}
    r = api.post(base, json={**team, "measures": ["dismissal"]}, headers=office)
    assert r.status_code == 422 and r.json()["code"] == "invalid_accountability", r.text
    r = api.post("/api/v1/accountability/units/S1/2026", json=MAIN_LEADER, headers=office)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "no_unit_accountability_procedure"
    assert "考核未启动问责程序" in r.json()["detail"]
    r = api.post(base, json=MAIN_LEADER, headers=api.auth("supervisor"))
    assert r.status_code == 403  # supervisors read it, the office decides

    decided = ok(api.post(base, json=MAIN_LEADER, headers=office), 201)
    assert (decided["stage"], decided["n"]) == ("closed", 1)  # no report back owed
    r = api.post(
        f"{base}/no-accountability",
        json={"reason": "无", "decided_by": "appointing_authority", "decided_on": "2027-01-11"},
        headers=office,
    )
    assert r.status_code == 409 and r.json()["code"] == "decision_conflict"
    view = ok(api.get(base, headers=api.auth("supervisor")))
    assert [f["name"] for f in view["findings"]] == ["王五"]
    assert view["findings"][0]["unit"] == "S3"  # the procedure's unit

    def on_the_list() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = ok(
            api.get("/api/v1/accountability", params={"unit": "S3"}, headers=office)
        )["items"]
        return found

    [decision] = wait_for(on_the_list, 30, "the decision on the 问责清单")
    assert decision["case_id"] is None and decision["source"]["kind"] == "assessment"
    assert decision["triggers"] == ["last_place_twice"]
    assert (decision["name"], decision["award_bar"]) == ("王五", True)
    person = ok(api.get("/api/v1/accountability/persons", params={"name": "王五"}, headers=office))
    assert person["items"][0]["award_bar_years"] == [2027]

    bench = Workbench(str(api.base_url))
    assert bench.sign_in(office["Authorization"].removeprefix("Bearer ")).status_code == 200

    def closed_on_the_page() -> str | None:
        text = bench.page("/ui/accountability").text
        return text if "已办结" in text else None

    page = wait_for(closed_on_the_page, 30, "the page to show it closed")
    assert "考核启动的问责程序" in page and page.count("2026年度考核:连续两年列街道小组末位") == 2

    # replaying the trigger opens nothing twice
    store = tracking.app
    assert store.open_for_recorded_triggers() == (1, 0)  # type: ignore[attr-defined]
    # a trigger recorded before the procedure consumed it (no consequences): opened once
    store.save(_triggered(store, 2026, "S2"))  # as an older release recorded it
    assert store.unit_procedure("S2", 2026) is None  # type: ignore[attr-defined]
    assert store.open_for_recorded_triggers(dry_run=True) == (2, 1)  # type: ignore[attr-defined]
    assert store.unit_procedure("S2", 2026) is None  # type: ignore[attr-defined]
    assert store.open_for_recorded_triggers() == (2, 1)  # type: ignore[attr-defined]
    assert store.open_for_recorded_triggers() == (2, 0)  # type: ignore[attr-defined]
    wait_for(lambda: len(listed()) == 2, 30, "S2's procedure on the list")
    decided_on_page = bench.submit(
        "/ui/accountability/units/S2/2026",
        step="no_accountability",
        reason="经查排名受客观因素影响,主要负责人已履职",
        decided_by="appointing_authority",
        decided_on="2027-01-12",
    )
    assert decided_on_page.status_code == 200 and 'id="no-accountability"' in decided_on_page.text
    assert "已办结" in decided_on_page.text and 'id="finding-form"' not in decided_on_page.text


def _triggered(store: Any, year: int, unit: str) -> Any:
    """The year with a trigger recorded for ``unit`` straight on the aggregate."""
    aggregate = store.repository.get(year_id(year))
    aggregate._triggered(
        unit=unit, group="街道", actor=SYSTEM_ACTOR, at=aggregate.decisions["S3"]["at"]
    )
    return aggregate
