"""The ledger (台账) on SQLite and PostgreSQL: its columns as dispatch and tracking events
arrive, filters, Chinese search, pagination, the total's count limit (ADR 13), the Excel
export, and who sees which rows."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from services.tracking.ledger.workbook import HEADERS
from shared.contracts import dispatch as d
from shared.platform.calendar import WorkingCalendar, YearCalendar
from shared.platform.settings import Settings
from tests.support.api import problem
from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, liaison, served_fixture, serving  # noqa: F401

SHANGHAI = ZoneInfo("Asia/Shanghai")
COUNT_LIMIT = 3


@pytest.fixture
def capped(settings: Settings) -> Iterator[Served]:
    """The app with a ledger whose list counts at most ``COUNT_LIMIT`` matches."""
    with serving(settings.model_copy(update={"ledger_count_limit": COUNT_LIMIT})) as served:
        yield served


def ledger(served: Served, role: str = "office", as_unit: str | None = None, **params: Any) -> Any:
    headers = served.api.auth(role, unit=as_unit)
    r = served.api.get("/api/v1/ledger", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def registered_day(case: Case) -> date:
    return datetime.fromisoformat(case.view()["registered_at"]).astimezone(SHANGHAI).date()


def numbers(page: dict[str, Any]) -> set[str]:
    return {item["number"] for item in page["items"]}


def directory(served: Served) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    served.unit("WC-CZJ", "武昌区财政局")
    served.unit("WC-SWJ", "武昌区商务局")


def returned_by(case: Case, unit: str) -> None:
    """The unit sends the case back to the office (its first return)."""
    case.emit(
        d.CaseReturned,
        "returned",
        liaison(unit),
        unit=unit,
        reason="非我单位职责",
        returns_by_unit=1,
    )


def audit_entries(served: Served) -> list[Any]:
    """Every audit entry, read past the count limit page by page."""
    entries: list[Any] = []
    headers = served.api.auth("supervisor")
    for page in range(1, 100):
        r = served.api.get("/api/v1/audit", params={"page": page, "page_size": 10}, headers=headers)
        items = r.json()["items"]
        entries += items
        if len(items) < 10:
            return entries
    raise AssertionError("the audit trail did not end")


def test_a_row_carries_every_column_as_the_case_moves_through_the_services(
    served: Served,
) -> None:
    directory(served)
    case = Case(
        served,
        channel="mayor_hotline",
        summary="反映某局乱收费问题",
        location={"district": "武昌区"},
    ).triage(track="supervised", category="乱收费")
    case.dispatch("WC-CZJ")
    returned_by(case, "WC-CZJ")
    case.dispatch("WC-JYQ", ("WC-SWJ",)).sign()
    later = served.tracking.now() + timedelta(days=30)
    case.emit(
        d.ExtensionRequested,
        "in_progress",
        liaison("WC-JYQ"),
        n=1,
        unit="WC-JYQ",
        working_days=5,
        reason="需现场核查",
    )
    case.emit(
        d.ExtensionDecided,
        "in_progress",
        n=1,
        granted=True,
        reason=None,
        handle_deadline=later,
        handle_deadline_provisional=True,
    )
    case.submit().accept()
    case.wait_status("awaiting_feedback")
    assert (
        case.post(
            "feedback", {"channel": "online_publication", "content": "已在门户网站公示"}
        ).status_code
        == 201
    )
    assert (
        case.post(
            "accountability",
            {
                "target_kind": "person",
                "name": "张某",
                "position": "科员",
                "measures": ["admonishment_talk"],
                "circumstances": "aggravating",
            },
        ).status_code
        == 201
    )

    row = wait_for(
        lambda: (items := ledger(served)["items"]) and items[0]["accountability"] and items[0],
        30,
        "accountability on the ledger",
    )
    assert row["number"] == case.number
    assert (row["channel"], row["channel_label"]) == ("mayor_hotline", "市长专线")
    assert (row["track"], row["category"], row["district"]) == ("supervised", "乱收费", "武昌区")
    assert row["summary"] == "反映某局乱收费问题"
    assert row["lead_unit"] == {"code": "WC-JYQ", "name": "武昌区教育局"}
    assert row["co_units"] == [{"code": "WC-SWJ", "name": "武昌区商务局"}]
    assert datetime.fromisoformat(row["handle_deadline"]) == later
    assert row["handle_deadline_provisional"] is True
    assert row["sign_deadline"] is not None
    assert (row["status"], row["status_label"], row["overdue"]) == (
        "awaiting_feedback",
        "待反馈",
        False,
    )
    assert row["extensions"] == {"requested": 1, "granted": 1}
    assert (row["returns"], row["pass_no"], row["second_pass"]) == (1, 1, False)
    assert row["required_feedback"] == ["direct_reply", "online_publication"]
    assert row["delivered_feedback"] == ["online_publication"]
    assert row["latest_evaluation"] is None
    assert row["accountability_summary"] == "直接责任人 张某(科员):诫勉谈话(从重)"
    assert row["closed_out_at"] is None
    assert row["result"]["findings"] == "经查,反映问题属实"
    assert "content" not in row  # the list stays light; the case view has it


@pytest.mark.calendar
def test_filters_search_and_pages_are_exact_and_validated(served: Served) -> None:
    directory(served)
    fee = Case(served, channel="mayor_hotline", summary="反映某局乱收费问题").triage()
    fee.dispatch("WC-JYQ").sign()
    late = Case(
        served, channel="media", summary="道路长期积水", content="暴雨后积水 50%_以上"
    ).triage(track="immediate")
    late.dispatch("WC-CZJ", ("WC-JYQ",), handle_in=timedelta(days=-1)).sign()
    plain = Case(served, channel="petition", summary="噪声扰民")
    everyone = {fee.number, late.number, plain.number}
    wait_for(lambda: ledger(served, overdue="true")["total"] == 1, 30, "the overdue case")

    assert numbers(ledger(served)) == everyone
    assert numbers(ledger(served, q="", status=" ", unit="")) == everyone  # a blank form
    assert numbers(ledger(served, q="乱收费")) == {fee.number}
    assert numbers(ledger(served, q="收费")) == {fee.number}  # two characters: a scan
    assert numbers(ledger(served, q="积水")) == {late.number}  # summary or content
    assert numbers(ledger(served, q="50%_")) == {late.number}  # % and _ are literal
    assert numbers(ledger(served, q="60%")) == set()
    assert numbers(ledger(served, channel="media")) == {late.number}
    assert numbers(ledger(served, unit="WC-JYQ")) == {fee.number, late.number}  # lead or co
    assert numbers(ledger(served, unit="WC-CZJ")) == {late.number}
    assert numbers(ledger(served, status="registered")) == {plain.number}
    assert numbers(ledger(served, status="in_progress", overdue="false")) == {fee.number}
    assert numbers(ledger(served, overdue="true")) == {late.number}
    overdue = ledger(served, overdue="true")["items"][0]
    assert overdue["working_days_left"] < 0  # never 0 beside 超期, whatever day it is
    assert overdue["countdown"]["label"] == f"超期 {-overdue['working_days_left']} 个工作日"
    days = sorted(registered_day(c) for c in (fee, late, plain))
    assert numbers(ledger(served, **{"from": str(days[0]), "to": str(days[-1])})) == everyone
    assert numbers(ledger(served, to=str(days[0] - timedelta(days=1)))) == set()

    pages = [ledger(served, page=p, page_size=2) for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 1, 0]
    assert all(counted(p) == (3, True) for p in pages)
    ordered = [i["number"] for p in pages for i in p["items"]]
    assert ordered == sorted(everyone, reverse=True)  # newest first, stable across pages

    office = served.api.auth("office")
    for bad in (
        {"page_size": 201},
        {"page": 0},
        {"status": "lost"},
        {"overdue": "maybe"},
        {"from": "2026-02-30"},
        {"from": "2026-03-02", "to": "2026-03-01"},
    ):
        body = problem(served.api.get("/api/v1/ledger", params=bad, headers=office), 422)
        assert body["errors"] or "from" in body["detail"]


def test_a_unit_with_a_status_lists_the_cases_it_leads_or_assists_in_that_status(
    served: Served,
) -> None:
    """The unit filter with a status reads the status kept in ``case_units`` (t0004): it
    must follow the case, and a unit that only returned the case is not one of its units."""
    directory(served)
    returned = Case(served, summary="退回后改派的问题").triage()
    returned.dispatch("WC-CZJ")
    returned_by(returned, "WC-CZJ")
    returned.dispatch("WC-JYQ", ("WC-SWJ",)).sign()
    assisted = Case(served, summary="协办的问题").triage()
    assisted.dispatch("WC-CZJ", ("WC-JYQ",)).sign()
    waiting = Case(served, summary="未签收的问题").triage()
    waiting.dispatch("WC-JYQ")
    wait_for(lambda: ledger(served, status="in_progress")["total"] == 2, 30, "both signed")

    def listed(**params: Any) -> set[str]:
        return numbers(ledger(served, **params))

    def liaison_lists(unit: str, status: str) -> set[str]:
        return numbers(ledger(served, "unit_liaison", unit, status=status))

    both = {returned.number, assisted.number}
    assert listed(unit="WC-JYQ", status="in_progress") == both  # lead and co-unit
    assert listed(unit="WC-JYQ", status="dispatched") == {waiting.number}
    assert listed(unit="WC-CZJ", status="in_progress") == {assisted.number}  # not the returned
    assert listed(unit="WC-CZJ", status="returned") == set()  # the case moved on
    assert listed(unit="WC-SWJ", status="in_progress") == {returned.number}
    assert listed(unit="WC-SWJ", status="dispatched") == set()
    assert liaison_lists("WC-JYQ", "in_progress") == both
    assert liaison_lists("WC-CZJ", "in_progress") == {assisted.number}
    # the count looks the status up in case_units alone (the page tests ledger.status)
    assert counted(ledger(served, unit="WC-JYQ", status="in_progress")) == (2, True)
    assert counted(ledger(served, unit="WC-CZJ", status="in_progress")) == (1, True)
    assert counted(ledger(served, "unit_liaison", "WC-JYQ", status="dispatched")) == (1, True)

    returned.submit()  # only the status moves: the unit rows must follow it
    returned.wait_status("result_submitted")
    assert listed(unit="WC-JYQ", status="in_progress") == {assisted.number}
    assert listed(unit="WC-SWJ", status="result_submitted") == {returned.number}
    assert counted(ledger(served, unit="WC-JYQ", status="in_progress")) == (1, True)
    assert counted(ledger(served, "unit_liaison", "WC-SWJ", status="in_progress")) == (0, True)
    assert liaison_lists("WC-JYQ", "result_submitted") == {returned.number}


def counted(page: dict[str, Any]) -> tuple[int, bool]:
    return page["total"], page["total_exact"]


def test_the_total_is_exact_up_to_the_count_limit_and_says_when_more_match(
    capped: Served,
) -> None:
    directory(capped)
    fees = [Case(capped, summary=f"反映乱收费问题{n}").triage() for n in range(3)]
    floods = [Case(capped, summary=f"道路积水{n}").triage() for n in range(2)]
    for case in fees:
        case.dispatch("WC-JYQ")
    for case in floods:
        case.dispatch("WC-CZJ")

    everything = ledger(capped, page_size=50)
    assert counted(everything) == (COUNT_LIMIT, False)
    assert numbers(everything) == {c.number for c in fees + floods}  # only the count stops
    assert counted(ledger(capped, page=3, page_size=2)) == (COUNT_LIMIT, False)
    assert counted(ledger(capped, q="乱收费")) == (3, True)  # exactly the limit is exact
    assert counted(ledger(capped, q="积水")) == (2, True)
    assert counted(ledger(capped, q="无此问题")) == (0, True)
    # A liaison's count is of its unit's cases: counting others too would pass the limit.
    assert counted(ledger(capped, "unit_liaison", "WC-JYQ")) == (3, True)
    assert counted(ledger(capped, "unit_liaison", "WC-CZJ", q="乱收费")) == (0, True)

    def per_status(role: str, unit: str | None = None) -> dict[str, int]:
        r = capped.api.get("/api/v1/stats/statuses", headers=capped.api.auth(role, unit=unit))
        assert r.status_code == 200, r.text
        return {item["status"]: item["cases"] for item in r.json()["items"]}

    assert per_status("office") == {"dispatched": 5}  # statistics stay exact
    assert per_status("unit_liaison", "WC-CZJ") == {"dispatched": 2}

    def audit(**params: Any) -> tuple[int, bool, int]:
        r = capped.api.get("/api/v1/audit", params=params, headers=capped.api.auth("supervisor"))
        assert r.status_code == 200, r.text
        body = r.json()
        return body["total"], body["total_exact"], len(body["items"])

    # The audit trail is counted the same way (several entries per case): the page is whole.
    # Reads are audited too, by a writer that gathers them for a moment: the trail may grow
    # between two looks, so the page is held between what was there before and after.
    before = len(audit_entries(capped))
    total, exact, shown = audit(page_size=50)
    assert (total, exact) == (COUNT_LIMIT, False)
    assert min(50, before) <= shown <= min(50, len(audit_entries(capped)))
    assert audit(type="TipRegistered", page_size=50) == (COUNT_LIMIT, False, 5)
    assert audit(type="NoSuchEvent") == (0, True, 0)


def test_the_excel_export_is_the_office_sheet_with_dates_as_dates(served: Served) -> None:
    directory(served)
    served.dispatch_event(  # the lead unit's responsible person (单位负责人), named later
        d.UnitUpdated(
            code="WC-JYQ",
            name="武昌区教育局",
            kind="department",
            parent=None,
            liaisons=[],
            responsible_person={"name": "张某", "position": "局长"},
        ),
        stream_id=uuid.uuid5(uuid.NAMESPACE_URL, "unit:WC-JYQ"),
    )
    subject = {"unit": "某区教育局", "person": "张某", "position": "科长"}
    first = Case(served, summary="反映某局乱收费问题", subject=subject)
    first.handled("WC-JYQ", ("WC-CZJ",))
    second = Case(served, summary="道路积水").triage()
    second.dispatch("WC-CZJ")
    first.wait_status("awaiting_feedback")
    wait_for(lambda: ledger(served, unit="WC-CZJ")["total"] == 2, 30, "both cases")

    def export() -> Any:
        return served.api.get(
            "/api/v1/ledger.xlsx", params={"unit": "WC-JYQ"}, headers=served.api.auth("office")
        )

    def feedback_column(response: Any) -> Any:
        rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
        return len(rows) == 3 and rows[2][HEADERS.index("反馈情况")]

    # 待反馈 comes from dispatch's review, the feedback log from tracking's follow-up (two
    # consumers of one event): wait for the follow-up's part too, not only the status.
    r = wait_for(
        lambda: (resp := export()).status_code == 200 and feedback_column(resp) and resp,
        30,
        "the feedback log",
    )
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].startswith("问题台账")
    assert list(rows[1]) == HEADERS
    assert sheet.freeze_panes == "A3"
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:U1"]  # the title spans the sheet
    assert sheet.column_dimensions["F"].width == 40
    head = HEADERS.index("责任单位负责人")
    assert head == HEADERS.index("责任单位") + 1  # beside the lead unit
    assert sheet.column_dimensions[get_column_letter(head + 1)].width == 16
    # printed as offices file it: landscape A4, one page wide, title and header on every page
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4  # "9"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$1:$2"
    assert len(rows) == 3  # the filter applies: only the case WC-JYQ leads
    line = dict(zip(HEADERS, rows[2], strict=True))
    assert line["序号"] == 1
    assert line["编号"] == first.number
    assert line["来源渠道"] == "12388举报投诉热线"
    assert isinstance(line["受理时间"], datetime)
    assert isinstance(line["办理时限"], datetime)  # a date cell reads back as midnight
    assert line["被反映单位及人员"] == "某区教育局 张某(科长)"
    assert line["办理类别"] == "普遍性问题"
    assert isinstance(line["签收时间"], datetime)
    assert sheet.cell(3, HEADERS.index("反映内容摘要") + 1).alignment.wrap_text is True
    assert line["责任单位"] == "武昌区教育局"
    assert line["责任单位负责人"] == "张某(局长)"
    assert line["协办单位"] == "武昌区财政局"
    assert line["办理状态"] == "待反馈"
    assert line["是否超期"] == "否"
    assert line["反馈情况"] == "待反馈:直接反馈"
    assert line["二次办理"] == "否"
    registered = datetime.fromisoformat(first.view()["registered_at"]).astimezone(SHANGHAI)
    assert line["受理时间"] == registered.replace(
        tzinfo=None, microsecond=line["受理时间"].microsecond
    )


def test_a_liaison_sees_only_its_units_cases_everywhere(served: Served) -> None:
    directory(served)
    ours = Case(served, summary="反映某局乱收费问题").handled("WC-JYQ", ("WC-SWJ",))
    theirs = Case(served, summary="另一单位的乱收费问题").handled("WC-CZJ")
    theirs.wait_status("awaiting_feedback")
    ours.wait_status("awaiting_feedback")
    api = served.api

    def as_unit(unit: str) -> dict[str, str]:
        return api.auth("unit_liaison", unit=unit)

    assert numbers(ledger(served, "unit_liaison", "WC-JYQ")) == {ours.number}
    assert numbers(ledger(served, "unit_liaison", "WC-SWJ", q="乱收费")) == {ours.number}
    assert numbers(ledger(served, "unit_liaison", "WC-JYQ", unit="WC-CZJ")) == set()
    assert api.get(f"/api/v1/cases/{ours.id}", headers=as_unit("WC-JYQ")).status_code == 200
    for path in (f"/api/v1/cases/{theirs.id}", f"/api/v1/cases/{theirs.id}/history"):
        problem(api.get(path, headers=as_unit("WC-JYQ")), 404)
    sheet = openpyxl.load_workbook(
        io.BytesIO(api.get("/api/v1/ledger.xlsx", headers=as_unit("WC-JYQ")).content)
    ).active
    assert [r[1] for r in sheet.iter_rows(min_row=3, values_only=True)] == [ours.number]
    units = api.get("/api/v1/stats/units", headers=as_unit("WC-JYQ")).json()["items"]
    assert [u["unit"]["code"] for u in units] == ["WC-JYQ"]
    channels = api.get("/api/v1/stats/channels", headers=as_unit("WC-JYQ")).json()["items"]
    assert sum(c["cases"] for c in channels) == 1


def test_operators_and_evaluators_see_only_their_cases(served: Served) -> None:
    mine = Case(served, summary="话务员甲登记的问题")  # registered by 话务员甲
    ready = Case(served, channel="self_inspection", summary="待评价的问题").handled("WC-JYQ")
    ready.wait_status("awaiting_evaluation")
    api = served.api
    operator = api.auth("operator", "话务员甲")
    # Tokens name the subject "operator:<name>", so another name is another operator.
    assert api.get(f"/api/v1/cases/{mine.id}", headers=operator).status_code == 200
    problem(api.get(f"/api/v1/cases/{mine.id}", headers=api.auth("operator", "话务员乙")), 404)
    evaluator = api.auth("evaluator", "李代表")
    problem(api.get(f"/api/v1/cases/{mine.id}", headers=evaluator), 404)
    assert api.get(f"/api/v1/cases/{ready.id}", headers=evaluator).status_code == 200
    problem(api.get("/api/v1/ledger", headers=evaluator), 403)


@pytest.mark.parametrize("query", ["乱收费", "收"])
def test_search_finds_chinese_text_inside_longer_words(served: Served, query: str) -> None:
    case = Case(served, summary="反映某局乱收费问题", content="群众反映办证时被额外收取费用")
    Case(served, summary="路灯不亮", content="夜间照明不足")
    assert numbers(ledger(served, q=query)) == {case.number}


@pytest.mark.calendar
def test_countdowns_use_the_loaded_calendar_and_units_show_their_current_names(
    served: Served,
) -> None:
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, summary="倒计时").triage()
    case.dispatch("WC-JYQ", handle_in=timedelta(days=20)).sign()
    view = wait_for(
        lambda: (v := case.view())["working_days_left"] is not None and v, 30, "countdown"
    )
    deadline = datetime.fromisoformat(view["handle_deadline"]).astimezone(SHANGHAI).date()
    today = served.tracking.now().astimezone(SHANGHAI).date()
    builtin = WorkingCalendar()
    assert view["working_days_left"] == builtin.working_days_between(today, deadline)

    # The office loads the deadline's year with two more days off than the built-in calendar.
    year = deadline.year
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
    days = [day for day in days if day.year == year]
    holidays = {day for day in days if day.weekday() < 5 and not builtin.is_working_day(day)}
    workdays = {day for day in days if day.weekday() >= 5 and builtin.is_working_day(day)}
    # Two ordinary weekdays of the window become days off (not a make-up working day, which
    # the loaded year keeps as one).
    window = [d for d in days if today < d <= deadline and d.weekday() < 5 and d not in holidays]
    loaded = YearCalendar(year, frozenset(holidays | set(window[:2])), frozenset(workdays))
    served.dispatch_event(
        d.CalendarYearLoaded(
            year=year, holidays=sorted(loaded.holidays), workdays=sorted(workdays)
        ),
        stream_id=uuid.uuid5(uuid.NAMESPACE_URL, f"calendar:{year}"),
    )
    served.dispatch_event(
        d.UnitUpdated(
            code="WC-JYQ", name="武昌区教育和体育局", kind="department", parent=None, liaisons=[]
        ),
        stream_id=uuid.uuid5(uuid.NAMESPACE_URL, "unit:WC-JYQ"),
    )
    after = case.view()
    assert after["working_days_left"] == view["working_days_left"] - 2
    assert after["lead_unit"] == {"code": "WC-JYQ", "name": "武昌区教育和体育局"}
