"""Particulars: the facts a telling names exactly (ADR 23, ADR 36).

Two tellings of one problem name the same sum, the same official, the same window, the same
number of trips — but not always in the same form: 3号窗口 / 三号窗口, 300元 / 三百块,
跑了四趟 / 来回四次. Each particular is kept normalised (a number as digits, an official as
surname + title) so that forms compare, and only what a telling names plainly counts: a
character before 工作人员 is an official's surname only when it is one (一名工作人员 names
nobody).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGIT |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
NUMERAL = r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?[百千万]?|[零〇一二两三四五六七八九十百千万]+)"

# Common surnames (百家姓 as used today) that are not also everyday words before a title
# (向工作人员反映, 担任主任, 治安民警: 向 任 安 … are left out): an official is one + a title.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜"
    "叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范贾夏韦邹孟熊秦邱尹薛闫段雷侯史陶黎贺顾毛郝龚邵钱覃"
    "武戴莫孔汤伍庞颜倪庄聂章鲁岳翟"
)
TITLES = "科长|副科长|所长|副所长|队长|主任|局长|站长|书记|镇长|村长|经理|民警|医生"
TITLES += "|窗口人员|工作人员"

_AMOUNT = re.compile(rf"({NUMERAL})\s*(?:元|块)")
_OFFICIAL = re.compile(rf"([\u4e00-\u9fff])(?:某+|姓)?({TITLES})")
_WINDOW = re.compile(rf"({NUMERAL})\s*号\s*窗口")
_TRIPS = re.compile(rf"({NUMERAL})\s*(?:趟|回|次)")


def number(text: str) -> str:
    """二百五十 → 250, 1,500 → 1500, 1.5万 → 15000, 十二 → 12: a numeral as digits."""
    if text[0].isdigit():
        scale = _UNIT.get(text[-1], 1)
        value = float(text.rstrip("百千万").replace(",", "")) * scale
        return f"{value:g}" if value != int(value) else str(int(value))
    total = section = digit = 0
    for ch in text:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch == "万":
            total, section, digit = (total + section + digit) * 10000, 0, 0
        else:
            section += (digit or 1) * _UNIT[ch]
            digit = 0
    return str(total + section + digit)


@lru_cache(maxsize=8192)
def particulars(text: str) -> Mapping[str, frozenset[str]]:
    """Facts a telling names exactly: sums of money, named officials, window numbers, trips.
    Cached: a new tip is set against every open case, and each case against every new tip."""
    return MappingProxyType(
        {
            "金额": frozenset(number(m) + "元" for m in _AMOUNT.findall(text) if number(m) != "0"),
            "涉及人员": frozenset(a + b for a, b in _OFFICIAL.findall(text) if a in SURNAMES),
            "窗口": frozenset(number(m) + "号窗口" for m in _WINDOW.findall(text)),
            "次数": frozenset(
                number(m) + "次" for m in _TRIPS.findall(text) if number(m) not in ("0", "1")
            ),
        }
    )


def agreements(a: str, b: str) -> list[str]:
    """Particulars both tellings name alike: the same sum, the same official, the same window."""
    pa, pb = particulars(a), particulars(b)
    return [f"{k}相同（{'、'.join(sorted(pa[k] & pb[k]))}）" for k in pa if pa[k] & pb[k]]


def conflicts(a: str, b: str) -> list[str]:
    """Particulars both tellings name and that differ: two problems, not one."""
    pa, pb = particulars(a), particulars(b)
    return [
        f"{k}不同（{'、'.join(sorted(pa[k]))}／{'、'.join(sorted(pb[k]))}）"
        for k in pa
        if pa[k] and pb[k] and not (pa[k] & pb[k])
    ]
