"""The frozen labelled set (tests/data/insight/pairs.json) scored: precision and recall."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services.insight.domain import DEFAULT, Tip, Vectoriser, Weights, baseline_same, score

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "insight" / "pairs.json"


def _tip(d: dict[str, Any]) -> Tip:
    return Tip(
        case_id=d["id"],
        content=d["content"],
        category=d["category"],
        street=d["street"],
        subject_unit=d["subject_unit"],
        registered_at=datetime.fromisoformat(d["registered_at"]),
    )


@dataclass(frozen=True)
class Figures:
    precision: float
    recall: float
    pairs: int

    def line(self, name: str) -> str:
        p, r = self.precision, self.recall
        return f"{name:<14} precision {p:.3f}  recall {r:.3f}  ({self.pairs} pairs)"


def _figures(predicted: list[bool], labels: list[int]) -> Figures:
    tp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels, strict=True) if not p and y)
    return Figures(tp / ((tp + fp) or 1), tp / ((tp + fn) or 1), len(labels))


def load(split: str, path: Path = PAIRS) -> list[tuple[Tip, Tip, int]]:
    pairs = json.loads(path.read_text(encoding="utf-8"))["pairs"]
    return [(_tip(p["a"]), _tip(p["b"]), p["label"]) for p in pairs if p["split"] == split]


def evaluate(split: str, w: Weights = DEFAULT) -> tuple[Figures, Figures]:
    """(scorer, baseline) on one part; IDF from that part's texts as if they were the open cases."""
    pairs = load(split)
    vec = Vectoriser([t.content for a, b, _ in pairs for t in (a, b)])
    labels = [y for _, _, y in pairs]
    ours = [score(b, a, vec, w).score >= w.threshold for a, b, _ in pairs]
    base = [baseline_same(b, a) for a, b, _ in pairs]
    return _figures(ours, labels), _figures(base, labels)
