"""The office's documents as .docx (``shared.platform.officialdoc``): the monthly circular
(from its issued, frozen figures, with its chart), the annual assessment report and the
告知与整改通知书."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.tracking.assessment.domain import Circular
from shared.platform.charts import rate_bars
from shared.platform.officialdoc import Chart, OfficialDocument, Table, chinese_date

ISSUER = "纠风办"


def _day(at: datetime, timezone: str) -> Any:
    return at.astimezone(ZoneInfo(timezone)).date()


def circular(c: Circular, timezone: str) -> OfficialDocument:
    return OfficialDocument(
        title=c.title,
        number=c.number,
        issued_on=_day(c.issued_at, timezone),
        issuer=ISSUER,
        addressee="各责任单位",
        body=[f"现将{c.period}纠风问题办理情况通报如下。"],
        tables=[Table(s["heading"], s["columns"], s["rows"], s.get("note")) for s in c.sections],
        charts=_unit_charts(c.sections),
    )


RATES = ("按期签收率", "按期办结率")


def _unit_charts(sections: Sequence[dict[str, Any]]) -> list[Chart]:
    """The units' on-time rates as bars, drawn from the circular's frozen table."""
    units = next((s for s in sections if s["columns"][:1] == ["责任单位"]), None)
    if units is None or not units["rows"] or not set(RATES) <= set(units["columns"]):
        return []
    rows = units["rows"]
    series = {r: [_rate(row[units["columns"].index(r)]) for row in rows] for r in RATES}
    png = rate_bars("各责任单位按期签收率与按期办结率", [row[0] for row in rows], series)
    return [Chart("附图 各责任单位按期签收、办结情况", png)]


def _rate(cell: str) -> float | None:
    """A rate as the table shows it ("50.0%", or — for nothing to measure)."""
    return float(cell.rstrip("%")) / 100 if cell.endswith("%") else None


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def annual_report(
    year: int, assessed: dict[str, Any], at: datetime, timezone: str
) -> OfficialDocument:
    rows = [
        [
            i["group"],
            _text(i["rank"]),
            i["unit"]["name"],
            _text(i["score"]),
            (i["computed_grade"] or {}).get("label", "—"),
            (i["final_grade"] or {}).get("label", "—"),
            "是" if i["vetoes"] else "",
            "是" if i["last_two_years"] else "",
        ]
        for i in assessed["items"]
    ]
    counts: dict[str, int] = {}
    for i in assessed["items"]:
        label = (i["final_grade"] or {}).get("label")
        if label:
            counts[label] = counts.get(label, 0) + 1
    summary = "、".join(f"{k}{v}个" for k, v in counts.items()) or "无"
    return OfficialDocument(
        title=f"{year}年度责任制检查考核情况报告",
        number=f"纠风考〔{year}〕1号",
        issued_on=_day(at, timezone),
        issuer=ISSUER,
        addressee="领导小组",
        body=[
            f"根据年度考核标准,结合日常工作掌握情况并参考第三方评估结果,"
            f"对{len(rows)}个单位进行了检查考核。考核结果:{summary}。",
            "主要负责人被问责的单位实行一票否决;连续两年考核列小组末位的单位,"
            "对主要负责人启动问责程序。",
        ],
        tables=[
            Table(
                "附件:考核结果排名",
                [
                    "考核小组",
                    "名次",
                    "单位",
                    "得分",
                    "计算档次",
                    "确定档次",
                    "一票否决",
                    "连续两年末位",
                ],
                rows,
            )
        ],
    )


def notice(year: int, unit: dict[str, Any], timezone: str) -> OfficialDocument:
    n = unit["notice"]
    deadline = chinese_date(_day(n["reply_deadline"], timezone))
    return OfficialDocument(
        title="党风廉政问题告知与整改通知书",
        number=n["number"],
        issued_on=_day(n["issued_at"], timezone),
        issuer=ISSUER,
        addressee=unit["unit"]["name"],
        body=[
            f"经{year}年度检查考核,你单位存在以下突出问题,现予告知,请限期整改,"
            f"并于{deadline}前将整改情况书面回告。",
            *(f"{i}. {issue}" for i, issue in enumerate(n["issues"], start=1)),
        ],
        tables=[
            Table(
                "附件:考核情况",
                ["得分", "确定档次"],
                [[_text(unit["score"]), (unit["final_grade"] or {}).get("label", "—")]],
            )
        ],
    )
