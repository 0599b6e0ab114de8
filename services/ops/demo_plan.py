"""What ``taizhang demo`` does, planned before anything is sent: a year of a 区's tips, each
with the end it comes to (its *fate*) and the steps on the way, at moments relative to
``as_of``. Pure: the same seed and moment give the same plan (``demo.py`` carries it out).

Fates cover every state of SPEC §3: on the desk, not accepted, merged, dispatched (some past
the sign-for deadline), returned, in progress (some overdue, some extended), result submitted,
awaiting feedback, awaiting evaluation, in a second pass, closed out (some after a second pass,
some with accountability decided and reported back to a higher level).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# (fate, weight, youngest and oldest age in days at as_of)
FATES: tuple[tuple[str, int, float, float], ...] = (
    ("desk", 4, 0.1, 2),
    ("not_accepted", 3, 5, 330),
    ("merged", 3, 5, 330),
    ("dispatched", 6, 0.3, 8),
    ("returned", 3, 1.5, 6),
    ("in_progress", 12, 2, 90),
    ("extended", 4, 8, 60),
    ("result_submitted", 5, 10, 40),
    ("awaiting_feedback", 5, 11, 40),
    ("awaiting_evaluation", 6, 13, 50),
    ("second_pass", 4, 14, 45),
    ("closed", 35, 15, 360),
    ("closed_second_pass", 5, 30, 360),
    ("accountability", 5, 16, 360),
)

# (what is reported, summary, category code, channel)
TOPICS: tuple[tuple[str, str, str, str], ...] = (
    (
        "办理营业执照时窗口人员推诿扯皮,让我多次跑腿仍未办结",
        "办照多次跑",
        "buck_passing",
        "mayor_hotline",
    ),
    ("社区医院收取不明检查费用,拒不出具收费明细", "医院乱收费", "medical", "hotline_12388"),
    (
        "学校老师组织有偿补课,不参加的学生被区别对待",
        "老师有偿补课",
        "education",
        "district_hotline",
    ),
    (
        "城管执法人员对流动摊贩态度粗暴,随意没收物品",
        "城管态度粗暴",
        "city_management",
        "conduct_hotline",
    ),
    ("某单位公务接待超标准,工作日中午饮酒", "公务接待饮酒", "extravagance", "petition"),
    ("小区楼下餐馆油烟噪音扰民,多次反映无人处理", "油烟噪音扰民", "environment", "online_opinion"),
    ("低保申请材料交了三个月没有任何答复", "低保申请无答复", "social_security", "mayor_hotline"),
    ("施工工地夜间施工,工人反映被拖欠工资", "工地拖欠工资", "gb_wages", "district_hotline"),
    ("市场监管所检查时暗示商户送礼,刁难小店", "检查刁难商户", "bribe_seeking", "conduct_hotline"),
    ("物业擅自提高停车费,业主多次投诉无果", "物业乱涨停车费", "housing_property", "hotline_12388"),
    ("街道办工作人员上班时间离岗,办事群众排长队", "上班时间离岗", "idle_lax", "media"),
    ("公交线路调整后老人出行不便,反映后无人回应", "公交调整不便", "transport", "online_opinion"),
    (
        "企业办理审批材料反复被要求补正,标准不一",
        "审批反复补正",
        "business_environment",
        "tv_inquiry",
    ),
    ("社区摊派购买慰问品,每户强制收费五十元", "社区摊派收费", "arbitrary_levies", "petition"),
    ("某所执法人员开罚单不出示证件,罚款无依据", "罚款无依据", "arbitrary_fines", "hotline_12388"),
    ("菜市场售卖过期食品,投诉后仍在售卖", "售卖过期食品", "food_drug_safety", "mayor_hotline"),
    ("明察暗访发现服务大厅多个窗口无人值守", "窗口无人值守", "inaction", "undercover_visit"),
    ("巡查发现道路施工围挡破损,存在安全隐患", "施工围挡隐患", "work_safety", "inspection"),
)
# What no routing rule of the seed matches: the tips that wait on the office's desk.
UNROUTED_CATEGORIES = frozenset({"extravagance", "idle_lax", "arbitrary_levies", "arbitrary_fines"})
# A district of our own, for a deployment that starts without the seed (PostgreSQL): bureaus,
# street offices and a utility, and a few routing rules between them.
DISTRICT_UNITS: tuple[tuple[str, str, str], ...] = (
    ("DEMO-JYJ", "演示区教育局", "department"),
    ("DEMO-WJJ", "演示区卫生健康局", "department"),
    ("DEMO-SCJG", "演示区市场监督管理局", "department"),
    ("DEMO-CGJ", "演示区城市管理执法局", "department"),
    ("DEMO-RSJ", "演示区人力资源和社会保障局", "department"),
    ("DEMO-MZJ", "演示区民政局", "department"),
    ("DEMO-ZWFW", "演示区政务服务和大数据管理局", "department"),
    ("DEMO-JYQ", "演示区积玉桥街道办事处", "street_office"),
    ("DEMO-YY", "演示区杨园街道办事处", "street_office"),
    ("DEMO-ZHL", "演示区中华路街道办事处", "street_office"),
    ("DEMO-GS", "演示区供水服务中心", "company"),
)
# The units' heads (单位负责人), invented as every name in the demo is.
DEMO_SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡"
HEAD_TITLES = {"department": "局长", "street_office": "主任", "company": "经理"}
DISTRICT_RULES: tuple[dict[str, Any], ...] = (
    {
        "id": "r-demo-education",
        "name": "教育收费与师德师风交区教育局",
        "match": {"categories": ["education"]},
        "lead_unit": "DEMO-JYJ",
        "co_units": [],
        "track": "general",
    },
    {
        "id": "r-demo-medical",
        "name": "医疗服务与收费交区卫健局",
        "match": {"categories": ["medical"]},
        "lead_unit": "DEMO-WJJ",
        "co_units": ["DEMO-SCJG"],
        "track": "general",
    },
    {
        "id": "r-demo-wages",
        "name": "欠薪即查即办",
        "match": {"keywords": ["拖欠工资", "欠薪"]},
        "lead_unit": "DEMO-RSJ",
        "co_units": [],
        "track": "immediate",
    },
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
POSITIONS = ("科员", "副科长", "科长", "副所长", "所长", "窗口负责人", "执法队员", "副主任")
STREETS = (
    "积玉桥街道",
    "杨园街道",
    "徐家棚街道",
    "粮道街道",
    "中华路街道",
    "黄鹤楼街道",
    "紫阳街道",
)


@dataclass(frozen=True)
class Step:
    """One command, at one moment, for one case (``case`` is its place in the plan)."""

    at: datetime
    case: int
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Tip:
    case: int
    fate: str
    registered_at: datetime
    body: dict[str, Any]
    lead_unit: str
    merge_into: int | None = None


# Each fate's steps after registration: (days later, step kind).
_HANDLED = [(0.05, "triage"), (0.06, "dispatch"), (0.8, "sign"), (4, "progress")]
_RESULT = [(9, "result"), (10, "review")]
_ANSWERED = [(10.5, "feedback"), (12, "evaluate")]
_PATHS: dict[str, list[tuple[float, str]]] = {
    "desk": [],
    "not_accepted": [(0.1, "not_accept")],
    "merged": [(0.1, "merge")],
    "dispatched": _HANDLED[:2],
    "returned": [*_HANDLED[:2], (0.9, "return")],
    "in_progress": _HANDLED,
    "extended": [*_HANDLED, (5, "extend"), (5.2, "grant")],
    "result_submitted": [*_HANDLED, _RESULT[0]],
    "awaiting_feedback": [*_HANDLED, *_RESULT],
    "awaiting_evaluation": [*_HANDLED, *_RESULT, _ANSWERED[0]],
    "second_pass": [*_HANDLED, *_RESULT, _ANSWERED[0], (12, "dissatisfied")],
    "closed": [*_HANDLED, *_RESULT, *_ANSWERED, (13, "close")],
    "closed_second_pass": [
        *_HANDLED,
        *_RESULT,
        _ANSWERED[0],
        (12, "dissatisfied"),
        (20, "result"),
        (21, "review"),
        (21.5, "feedback"),
        (23, "evaluate"),
        (24, "close"),
    ],
    "accountability": [*_HANDLED, *_RESULT, *_ANSWERED, (13, "close")],
}


def plan(
    as_of: datetime, cases: int, units: list[str], seed: int = 22
) -> tuple[list[Tip], list[Step]]:
    """The tips and every step, the steps in the order of their moments."""
    rng = random.Random(seed)  # noqa: S311  (a demo's names and dates, not a secret)
    as_of = as_of.astimezone(UTC)
    fates = _fates(rng, cases)
    tips = sorted((_tip(rng, as_of, fate, units) for fate in fates), key=lambda t: t.registered_at)
    tips = [Tip(i, t.fate, t.registered_at, t.body, t.lead_unit) for i, t in enumerate(tips)]
    tips = [_with_target(rng, t, tips) for t in tips]
    steps = [s for t in tips for s in _steps(t, as_of)]
    return tips, sorted(steps, key=lambda s: (s.at, s.case))


def _fates(rng: random.Random, cases: int) -> list[str]:
    """Every fate at least once (when there are cases enough), the rest by weight."""
    names = [f[0] for f in FATES]
    chosen = names[: min(cases, len(names))]
    weights = [f[1] for f in FATES]
    return chosen + rng.choices(names, weights, k=max(cases - len(chosen), 0))


def _tip(rng: random.Random, as_of: datetime, fate: str, units: list[str]) -> Tip:
    _, _, youngest, oldest = next(f for f in FATES if f[0] == fate)
    day = as_of - timedelta(days=rng.uniform(youngest, oldest))
    at = day.replace(hour=rng.randint(1, 8), minute=rng.randint(0, 59))  # 09:00–16:59 +08:00
    if at >= as_of:
        at = as_of - timedelta(hours=2)
    waiting = [t for t in TOPICS if t[2] in UNROUTED_CATEGORIES]
    content, summary, category, channel = rng.choice(waiting if fate == "desk" else TOPICS)
    if fate == "accountability":
        channel = "higher_referral"  # a higher level's referral opens the procedure
    body: dict[str, Any] = {
        "channel": channel,
        "content": content,
        "summary": summary,
        "category": category,
        "location": {"district": "武昌区", "street": rng.choice(STREETS)},
        "subject": {
            "person": f"{rng.choice(SURNAMES)}某",
            "position": rng.choice(POSITIONS),
        },
    }
    if rng.random() < 0.3:
        phone = f"139{rng.randint(10_000_000, 99_999_999)}"
        body["reporter"] = {
            "anonymous": False,
            "name": f"{rng.choice(SURNAMES)}先生",
            "phone": phone,
        }
    return Tip(0, fate, at, body, rng.choice(units))


def _with_target(rng: random.Random, tip: Tip, tips: list[Tip]) -> Tip:
    """A merged tip is folded into an earlier case that is handled on."""
    if tip.fate != "merged":
        return tip
    earlier = [t.case for t in tips[: tip.case] if t.fate in ("closed", "in_progress")]
    if not earlier:
        return Tip(tip.case, "not_accepted", tip.registered_at, tip.body, tip.lead_unit)
    return Tip(tip.case, tip.fate, tip.registered_at, tip.body, tip.lead_unit, rng.choice(earlier))


def _steps(tip: Tip, as_of: datetime) -> list[Step]:
    path = [(0.0, "register"), *_PATHS[tip.fate]]
    return [
        Step(tip.registered_at + timedelta(days=days), tip.case, kind)
        for days, kind in path
        if tip.registered_at + timedelta(days=days) < as_of
    ]
