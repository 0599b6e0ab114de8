"""问题类别 — the tip categories every channel files under, with the words people search by.

The codes, names and groups are dispatch's seed (``services/dispatch/seed/categories.json``,
which its routing rules match on); a test keeps the two equal. Intake's Open311 catalogue
publishes one service per category; the keywords are what 311 clients show as synonyms.
"""

from __future__ import annotations

from dataclasses import dataclass

# Groups whose tips are about how a particular office behaved: they must name it.
CONDUCT_GROUPS = frozenset({"作风问题", "营商环境"})


@dataclass(frozen=True)
class TipCategory:
    """问题类别: one kind of problem a tip may report."""

    code: str
    name: str
    group: str
    keywords: tuple[str, ...]

    @property
    def names_an_office(self) -> bool:
        return self.group in CONDUCT_GROUPS


CATEGORIES: tuple[TipCategory, ...] = (
    TipCategory("arbitrary_charges", "乱收费", "作风问题", ("乱收费", "违规收费", "收费")),
    TipCategory("arbitrary_fines", "乱罚款", "作风问题", ("乱罚款", "罚款", "罚单")),
    TipCategory("arbitrary_levies", "乱摊派", "作风问题", ("乱摊派", "摊派", "集资")),
    TipCategory("bribe_seeking", "吃拿卡要", "作风问题", ("吃拿卡要", "索贿", "刁难", "红包")),
    TipCategory(
        "inaction",
        "庸懒散拖(不作为、慢作为)",
        "作风问题",
        ("不作为", "慢作为", "庸懒散拖", "拖延"),
    ),
    TipCategory("service_attitude", "服务态度", "作风问题", ("态度", "服务态度", "冷硬横推")),
    TipCategory(
        "buck_passing", "办事效率与推诿扯皮", "作风问题", ("推诿", "扯皮", "效率", "多次跑")
    ),
    TipCategory(
        "irregular_handling", "违规办事与优亲厚友", "作风问题", ("违规办事", "优亲厚友", "插队")
    ),
    TipCategory(
        "business_environment", "损害营商环境", "营商环境", ("营商环境", "企业", "审批", "涉企")
    ),
    TipCategory("education", "教育收费与师德师风", "民生服务", ("教育", "学校", "补课", "师德")),
    TipCategory("medical", "医疗服务与收费", "民生服务", ("医疗", "医院", "看病", "药费")),
    TipCategory("food_drug_safety", "食品药品安全", "民生服务", ("食品", "药品", "安全")),
    TipCategory("housing_property", "住房与物业", "民生服务", ("住房", "物业", "房产")),
    TipCategory(
        "social_security", "社会保障与民生待遇", "民生服务", ("社保", "低保", "养老", "待遇")
    ),
    TipCategory("transport", "交通出行", "民生服务", ("交通", "公交", "出租车", "道路")),
    TipCategory("utilities", "水电气供应", "民生服务", ("停水", "停电", "燃气", "供暖")),
    TipCategory(
        "city_management", "城市管理与市容环境", "城市管理", ("城管", "市容", "占道", "垃圾")
    ),
    TipCategory("environment", "生态环境", "城市管理", ("污染", "噪音", "排污", "环境")),
    TipCategory("work_safety", "安全生产", "城市管理", ("安全生产", "隐患", "事故")),
    TipCategory("other", "其他", "其他", ("其他",)),
)

BY_CODE: dict[str, TipCategory] = {c.code: c for c in CATEGORIES}
