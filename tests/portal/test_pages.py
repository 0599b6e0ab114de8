"""The portal's typical cases and 红黑榜 pages (issue 20 point 3, issue 18 point 6): what the
office published, masked once more, nothing before it is published, and a wrong month refused
in Chinese."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.infra import wait_for
from tests.support.tracking import Case, Served, served_fixture  # noqa: F401
from tests.tracking.test_accountability import PERSON, opened, posted

SHANGHAI = ZoneInfo("Asia/Shanghai")


def page(served: Served, path: str, status: int = 200) -> str:
    r = served.api.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_a_published_typical_case_is_on_the_portal_without_the_names_withheld(
    served: Served,
) -> None:
    assert "暂无通报的典型案例" in page(served, "/portal/typical-cases")
    served.unit("WC-JYQ", "武昌区教育局")
    case = Case(served, channel="higher_referral", summary="市纪委转办:某局乱收费")
    opened(case, "higher_source")
    posted(case, "accountability", PERSON)
    typical = {
        "title": "某局乱收费被问责",
        "text": "经查属实,举报电话13912345678所反映问题已整改。",
        "keep_names": False,
    }
    posted(case, "accountability/typical-case", typical)

    shown = wait_for(
        lambda: "某局乱收费被问责" in (text := page(served, "/portal/typical-cases")) and text,
        30,
        "the typical case on the portal",
    )
    assert f"典型案例 · 编号 {case.number}" in shown
    assert "有关责任人(直接责任):诫勉谈话" in shown
    assert "张某" not in shown and "基础教育科科长" not in shown  # removed by decision
    assert "13912345678" not in shown and "139****5678" in shown  # masked by pattern


@pytest.mark.calendar
def test_the_months_honours_are_shown_once_published_and_a_wrong_month_refused(
    served: Served,
) -> None:
    served.unit("D1", "区教育局")
    Case(served, channel="mayor_hotline", summary="逾期未签收").triage().dispatch(
        "D1", sign_in=timedelta(hours=-1)
    )
    now = served.tracking.now().astimezone(SHANGHAI)
    month = f"{now.year}-{now.month:02d}"
    office = served.api.auth("office")
    assert "该月红黑榜尚未发布" in page(served, f"/portal/honours?month={month}")

    assert served.api.post(f"/api/v1/circulars/{month}", headers=office).status_code == 201
    r = served.api.post(f"/api/v1/circulars/{month}/honours", headers=office)
    assert r.status_code == 201, r.text
    shown = page(served, f"/portal/honours?month={month}")
    assert f"{now.year}年{now.month}月红黑榜" in shown
    black = shown[shown.index("<h2>黑榜</h2>") :]
    assert "<td>区教育局</td><td>1</td><td>暂无评价</td>" in black
    assert "本月无上红榜的单位" in shown

    assert "月份格式应为" in page(served, "/portal/honours?month=2026-13", 400)
    default = page(served, "/portal/honours")  # last month by the office's clock
    last = (now.replace(day=1) - timedelta(days=1)).strftime("%Y年%-m月")
    assert f"{last}红黑榜" in default
