"""Pure scoring: is a new tip the same problem as an open case? (ADR 23)

Text similarity is TF-IDF cosine over jieba words plus character bigrams (bigrams catch the
words jieba splits differently in two tellings: 加急费/加急 费). The score adds what the
office would check by hand — the same subject unit, the same category, reported close in time.
Every part is explained in Chinese in :attr:`Suggestion.reason`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache

from services.insight.particulars import agreements, conflicts, particulars

# Words every tip uses: they say nothing about which problem it is.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "在",
        "是",
        "我",
        "我们",
        "说",
        "要",
        "就",
        "也",
        "都",
        "又",
        "被",
        "把",
        "和",
        "与",
        "及",
        "其",
        "时",
        "对",
        "这个",
        "那个",
        "一个",
        "到底",
        "还",
        "才",
        "给",
        "去",
        "市民",
        "反映",
        "投诉",
        "举报",
        "来电人",
        "称",
        "请",
        "希望",
        "问题",
        "情况",
        "核实",
        "处理",
        "一下",
        "一直",
        "已经",
        "没有",
        "什么",
    ]
)
_KEEP = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]+")


@cache
def _cut() -> Callable[[str], list[str]]:
    """jieba, imported when insight first scores a tip: every process imports this module
    (the registry), few ever segment a word, and jieba costs a fifth of a second to import."""
    import jieba

    jieba.setLogLevel(60)  # jieba announces its dictionary on stderr; logs carry no text
    return jieba.lcut


def tokens(text: str) -> list[str]:
    """jieba words (stopwords out) and the character bigrams of every run of Chinese."""
    return list(_tokens(text))


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    # Every suggestion refits TF-IDF over the open cases, so the same texts are segmented
    # again and again (the triage desk asks for a page of cases at once): segment each once.
    words = [w for w in _cut()(text) if _KEEP.fullmatch(w) and w not in STOPWORDS]
    grams = [run[i : i + 2] for run in _KEEP.findall(text) for i in range(len(run) - 1)]
    return (*words, *("§" + g for g in grams))


@dataclass(frozen=True)
class Tip:
    """What insight knows of a case: no reporter, only the problem."""

    case_id: str
    content: str
    category: str | None
    street: str | None
    subject_unit: str | None
    registered_at: datetime
    number: str = ""
    subject_person: str | None = None


class Vectoriser:
    """TF-IDF over the open cases' texts (refit as cases open; small: a few thousand tips)."""

    def __init__(self, texts: Iterable[str]) -> None:
        docs = [set(tokens(t)) for t in texts]
        self.n = len(docs)
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d)
        self.idf = {w: math.log((1 + self.n) / (1 + c)) + 1 for w, c in df.items()}
        self._default = math.log(1 + self.n) + 1
        self._vectors: dict[str, dict[str, float]] = {}

    def vector(self, text: str) -> dict[str, float]:
        # The new tip is set against every open case: its vector once, not once a candidate.
        if (known := self._vectors.get(text)) is not None:
            return known
        self._vectors[text] = found = self._vector(text)
        return found

    def _vector(self, text: str) -> dict[str, float]:
        idf, default = self.idf, self._default
        v = {w: tf * idf.get(w, default) for w, tf in _term_weights(text)}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}


@lru_cache(maxsize=8192)
def _term_weights(text: str) -> tuple[tuple[str, float], ...]:
    """A text's words and their sublinear term frequencies: the part of its TF-IDF vector that
    does not depend on the other texts, so kept across suggestions."""
    return tuple((w, 1 + math.log(c)) for w, c in Counter(tokens(text)).items())


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


@dataclass(frozen=True)
class Weights:
    """The score's parts; chosen on the tuning part only (docs/BENCHMARKS.md)."""

    text: float = 1.0
    same_unit: float = 0.10
    same_category: float = 0.05
    within_30_days: float = 0.05
    other_unit: float = 0.10  # both name a unit and they differ
    conflict: float = 0.40  # per particular both name differently
    agreement: float = 0.0  # per particular both name alike
    threshold: float = 0.45


DEFAULT = Weights()


@dataclass(frozen=True)
class Suggestion:
    case_id: str
    number: str
    score: float
    text_similarity: float
    reason: str


def score(new: Tip, old: Tip, vec: Vectoriser, w: Weights = DEFAULT) -> Suggestion:
    sim = cosine(vec.vector(new.content), vec.vector(old.content))
    days = abs((new.registered_at - old.registered_at).total_seconds()) / 86400
    same_unit = bool(new.subject_unit and new.subject_unit == old.subject_unit)
    same_cat = bool(new.category and new.category == old.category)
    near = days <= 30
    other_unit = bool(new.subject_unit and old.subject_unit and not same_unit)
    clash = conflicts(new.content, old.content)
    alike = agreements(new.content, old.content)
    total = (
        w.text * sim
        + (w.same_unit if same_unit else 0.0)
        + (w.same_category if same_cat else 0.0)
        + (w.within_30_days if near else 0.0)
        - (w.other_unit if other_unit else 0.0)
        - w.conflict * len(clash)
        + w.agreement * len(alike)
    )
    parts = [f"内容相似度{sim:.0%}"]
    if same_unit:
        parts.append(f"同一被反映单位（{old.subject_unit}）")
    if same_cat:
        parts.append("同一问题类别")
    if new.street and new.street == old.street:
        parts.append(f"同在{old.street}")
    if other_unit:
        parts.append(f"被反映单位不同（{old.subject_unit}）")
    parts.extend(alike)
    parts.extend(clash)
    parts.append(f"相隔{days:.0f}天" if days >= 1 else "同一天反映")
    return Suggestion(old.case_id, old.number, round(total, 4), round(sim, 4), "；".join(parts))


def suggest(
    new: Tip,
    open_cases: Sequence[Tip],
    w: Weights = DEFAULT,
    limit: int = 5,
    corpus: Vectoriser | None = None,
) -> list[Suggestion]:
    """The open cases most likely the same problem as ``new``, best first, above the threshold.
    ``corpus``: a Vectoriser fitted on exactly ``open_cases``, given when ``new`` is one of them
    — the one its own would be — so that several cases asked at once share it and its vectors."""
    others = [t for t in open_cases if t.case_id != new.case_id]
    vec = corpus or Vectoriser([t.content for t in others] + [new.content])
    reach = _most_besides_text(w)
    mine = vec.vector(new.content)
    found = []
    for old in others:
        # Most open cases are plainly another problem: when even every other part at its best
        # could not lift the text's share to the threshold, the full score (its particulars,
        # its reason in words) is not worked out. The scores of the rest are the same.
        if reach is not None and w.text * cosine(mine, vec.vector(old.content)) + reach < (
            w.threshold - 1e-4
        ):
            continue
        if (s := score(new, old, vec, w)).score >= w.threshold:
            found.append(s)
    return sorted(found, key=lambda s: -s.score)[:limit]


def _most_besides_text(w: Weights) -> float | None:
    """The most the parts other than the text can add; None if a weight is negative (then
    there is no such bound and every candidate is scored in full)."""
    adds = (w.text, w.same_unit, w.same_category, w.within_30_days, w.agreement)
    if min(adds) < 0 or min(w.other_unit, w.conflict) < 0:
        return None
    return w.same_unit + w.same_category + w.within_30_days + w.agreement * len(particulars(""))


def baseline_same(new: Tip, old: Tip) -> bool:
    """The simple rule the office uses by hand: same subject unit, same category, ≤ 30 days."""
    days = abs((new.registered_at - old.registered_at).total_seconds()) / 86400
    return bool(
        new.subject_unit
        and new.subject_unit == old.subject_unit
        and new.category == old.category
        and days <= 30
    )
