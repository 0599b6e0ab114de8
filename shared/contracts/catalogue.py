"""问题分类 — the category catalogue: a tree of codes with Chinese names, shipped with the code
as static data (``SEED``, versioned by ``SEED_VERSION``) and changed by the office.

Only the office's changes are events (ADR 25): intake's one catalogue aggregate records them and
publishes :class:`shared.contracts.intake.CategoryCatalogueChanged`; every service folds them over
this seed with :meth:`Catalogue.changed`. Nothing is written when a service starts, so the seed
cannot delay case opening. A new seed entry is a new ``SEED_VERSION`` and a release; codes are
never removed from it (retire a category instead — old cases keep reading its name).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from shared.contracts.categories import BY_CODE, CATEGORIES, CONDUCT_GROUPS, TipCategory

SEED_VERSION = 1
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
CHANGES = ("added", "renamed", "retired", "reinstated", "moved")

# The groups of the first release's categories, as the tree's top level.
_GROUPS = {
    "作风问题": "conduct",
    "营商环境": "business",
    "民生服务": "livelihood",
    "城市管理": "urban",
}


@dataclass(frozen=True)
class Category:
    """One entry of the catalogue: a code, its Chinese name, its parent's code, and whether new
    tips may still be filed under it. ``aliases`` are other names people use for it."""

    code: str
    name: str
    parent: str | None = None
    active: bool = True
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


def _first_release() -> list[Category]:
    nodes = [Category(code, name) for name, code in _GROUPS.items()]
    for c in CATEGORIES:
        parent = _GROUPS.get(c.group)
        nodes.append(Category(c.code, c.name, parent, keywords=c.keywords))
    return nodes


def _kinds() -> list[Category]:
    """The problem kinds of the office's own documents (the seeds): 四风, 庸懒散奢, 十个突出问题."""
    return [
        Category("four_winds", "四风问题", "conduct", aliases=("四风",)),
        Category("formalism", "形式主义", "four_winds"),
        Category("bureaucratism", "官僚主义", "four_winds"),
        Category("hedonism", "享乐主义", "four_winds"),
        Category("extravagance", "奢靡之风", "four_winds"),
        Category("idle_lax", "庸懒散奢", "conduct", keywords=("庸", "懒", "散", "奢")),
        Category("ten_problems", "十个突出问题", "conduct"),
        Category("misconduct", "乱作为", "conduct"),
        Category("public_funds", "违规使用三公经费", "conduct", aliases=("三公经费",)),
    ]


def _hotline() -> list[Category]:
    """A 政府热线服务分类 tree in the manner of GB/T 39666-2020 (its top classes and a few
    subclasses under codes of our own; the standard's numeric codes are not reproduced)."""
    tree = {
        ("gb_urban_rural", "城乡建设"): [
            ("gb_construction", "建设施工"),
            ("gb_demolition", "拆迁安置"),
        ],
        ("gb_transport", "交通运输"): [("gb_public_transit", "公共交通"), ("gb_roads", "道路设施")],
        ("gb_education", "教育"): [("gb_schools", "学校管理"), ("gb_admissions", "招生入学")],
        ("gb_health", "卫生健康"): [("gb_hospitals", "医疗机构"), ("gb_epidemic", "疾病防控")],
        ("gb_labour", "劳动和社会保障"): [("gb_wages", "劳动报酬"), ("gb_pensions", "养老保险")],
        ("gb_market", "市场监管"): [("gb_prices", "价格监管"), ("gb_consumer", "消费维权")],
        ("gb_ecology", "生态环境"): [("gb_air", "大气污染"), ("gb_noise", "噪声污染")],
        ("gb_safety", "公共安全"): [("gb_fire", "消防安全"), ("gb_gas", "燃气安全")],
        ("gb_civil", "民政"): [("gb_relief", "社会救助"), ("gb_elderly", "养老服务")],
        ("gb_government", "政务服务"): [("gb_approval", "行政审批"), ("gb_hotline", "热线服务")],
    }
    nodes = [Category("gb_hotline_tree", "政府热线服务分类")]
    for (code, name), children in tree.items():
        nodes.append(Category(code, name, "gb_hotline_tree"))
        nodes += [Category(c, n, code) for c, n in children]
    return nodes


def _with_aliases(nodes: list[Category]) -> tuple[Category, ...]:
    extra = {"buck_passing": ("推诿扯皮",), "inaction": ("庸懒散拖", "不作为", "慢作为")}
    return tuple(replace(n, aliases=n.aliases + extra.get(n.code, ())) for n in nodes)


SEED: tuple[Category, ...] = _with_aliases(_first_release() + _kinds() + _hotline())


class CatalogueError(ValueError):
    """An office change the catalogue cannot take (its message is Chinese, for the office)."""


@dataclass(frozen=True)
class Change:
    """One office change, as the contract and the aggregate's events carry it."""

    change: str  # one of CHANGES
    code: str
    name: str | None = None
    parent: str | None = None


class Catalogue:
    """The catalogue as it stands: the seed with the office's changes folded over it."""

    def __init__(self, nodes: Mapping[str, Category]) -> None:
        self.nodes = dict(nodes)
        self._names = {n.name: n.code for n in self.nodes.values()}
        for n in self.nodes.values():
            for alias in n.aliases:
                self._names.setdefault(alias, n.code)

    @classmethod
    def seeded(cls, changes: Iterable[Change] = ()) -> Catalogue:
        catalogue = cls({n.code: n for n in SEED})
        for change in changes:
            catalogue = catalogue.changed(change)
        return catalogue

    # --- reading ---------------------------------------------------------------------------

    def find(self, code: str | None) -> Category | None:
        return self.nodes.get(code) if code else None

    def name_of(self, code: str | None) -> str | None:
        """The Chinese name of a code (retired ones too); an unknown value as it was stored."""
        found = self.find(code)
        return found.name if found else code

    def lookup(self, value: str) -> str | None:
        """The code a value names, retired categories included (to read and filter old cases)."""
        code = value if value in self.nodes else self._names.get(value.strip())
        return code if code in self.nodes else None

    def subtree(self, code: str) -> list[str]:
        """The code and every code below it."""
        found, todo = [], [code]
        while todo:
            current = todo.pop()
            if current not in found:
                found.append(current)
                todo += [c.code for c in self.children(current)]
        return found

    def resolve(self, value: str) -> str | None:
        """The code a value names — a code or a Chinese name/alias of an active category."""
        code = value if value in self.nodes else self._names.get(value.strip())
        found = self.find(code)
        return found.code if found is not None and found.active else None

    def close_matches(self, value: str, n: int = 5) -> list[str]:
        """Active categories a mistyped value may have meant, as "名称 (code)"."""
        active = [c for c in self.nodes.values() if c.active]
        value = value.strip()
        near = [c for c in active if value and (value in c.name or c.name in value)]
        by_name = {c.name: c for c in active}
        by_code = {c.code: c for c in active}
        near += [by_name[x] for x in difflib.get_close_matches(value, by_name, n, 0.4)]
        near += [by_code[x] for x in difflib.get_close_matches(value, by_code, n, 0.6)]
        unique = list(dict.fromkeys(near))[:n]
        return [f"{c.name} ({c.code})" for c in unique]

    def ancestors(self, code: str) -> list[Category]:
        chain, seen = [], set()
        node = self.find(self.nodes[code].parent)
        while node is not None and node.code not in seen:
            chain.append(node)
            seen.add(node.code)
            node = self.find(node.parent)
        return chain

    def group_of(self, code: str) -> str:
        """The top-level name above a category (its own name at the top)."""
        chain = self.ancestors(code)
        return chain[-1].name if chain else self.nodes[code].name

    def children(self, code: str | None) -> list[Category]:
        return [c for c in self.nodes.values() if c.parent == code]

    def services(self) -> list[TipCategory]:
        """Active leaves, as Open311 services: the first release's first, in their order."""
        leaves = [c for c in self.nodes.values() if c.active and not any(self.children(c.code))]
        return [self.tip_category(c.code) for c in leaves]

    def tip_category(self, code: str) -> TipCategory:
        node = self.nodes[code]
        seeded = BY_CODE.get(code)
        group = seeded.group if seeded else self.group_of(code)
        keywords = node.keywords or (node.name, *node.aliases)
        return TipCategory(node.code, node.name, group, tuple(keywords))

    def names_an_office(self, code: str) -> bool:
        return self.tip_category(code).group in CONDUCT_GROUPS

    # --- changing --------------------------------------------------------------------------

    def check(self, change: Change) -> None:
        """Raise :class:`CatalogueError` unless the office may make this change."""
        node = self.find(change.code)
        if change.change == "added":
            if not CODE_PATTERN.match(change.code):
                raise CatalogueError("类别代码须为小写字母开头的字母、数字或下划线 (2–48 位)")
            if node is not None:
                raise CatalogueError(f"类别代码 {change.code} 已存在")
        elif node is None:
            raise CatalogueError(f"没有类别代码 {change.code}")
        if change.change in ("added", "renamed"):
            name = (change.name or "").strip()
            if not name:
                raise CatalogueError("类别名称不能为空")
            owner = self._names.get(name)
            if owner is not None and owner != change.code:
                raise CatalogueError(f"名称“{name}”已用于类别 {owner}")
        if change.change in ("added", "moved"):
            self._check_parent(change.code, change.parent)

    def _check_parent(self, code: str, parent: str | None) -> None:
        if parent is None:
            return
        if parent not in self.nodes:
            raise CatalogueError(f"上级类别 {parent} 不存在")
        if parent == code or (
            code in self.nodes and code in {a.code for a in self.ancestors(parent)}
        ):
            raise CatalogueError("上级类别不能是本类别或其下级")

    def changed(self, change: Change) -> Catalogue:
        """The catalogue after a change (already checked: a change from the past is applied as
        recorded)."""
        nodes = dict(self.nodes)
        node = nodes.get(change.code)
        if change.change == "added":
            nodes[change.code] = Category(change.code, change.name or change.code, change.parent)
        elif node is None:
            return self
        elif change.change == "renamed":
            aliases = tuple(a for a in (*node.aliases, node.name) if a != change.name)
            nodes[change.code] = replace(node, name=change.name or node.name, aliases=aliases)
        elif change.change == "retired":
            nodes[change.code] = replace(node, active=False)
        elif change.change == "reinstated":
            nodes[change.code] = replace(node, active=True)
        elif change.change == "moved":
            nodes[change.code] = replace(node, parent=change.parent)
        return Catalogue(nodes)

    def listing(self) -> list[dict[str, object]]:
        """Every entry, in tree order (parents before children), for the API and the page."""
        out: list[dict[str, object]] = []

        def walk(parent: str | None, depth: int) -> None:
            for c in self.children(parent):
                out.append(
                    {
                        "code": c.code,
                        "name": c.name,
                        "parent": c.parent,
                        "active": c.active,
                        "aliases": list(c.aliases),
                        "depth": depth,
                    }
                )
                walk(c.code, depth + 1)

        walk(None, 0)
        return out
