"""Figures: each one measured against a baseline measured in the same run.

Printed one per line as ``measured / baseline = ratio  target  PASS|FAIL``, and kept
for ``--json`` (machine-readable) and ``--markdown`` (the table in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIGURE_MARK = "FIGURE"


@dataclass(frozen=True)
class Baseline:
    key: str  # "a", "b", … as in issue 10
    name: str
    value: float
    unit: str
    detail: str = ""


@dataclass(frozen=True)
class Figure:
    name: str
    measured: float
    unit: str
    baseline: Baseline
    op: str  # "≥", "≤", or "±" (the ratio within 1 ± factor)
    factor: float  # the target, as a ratio to the baseline
    detail: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline.value if self.baseline.value else float("inf")

    @property
    def passed(self) -> bool:
        if self.op == "±":
            return abs(self.ratio - 1) <= self.factor
        return self.ratio >= self.factor if self.op == "≥" else self.ratio <= self.factor

    @property
    def target(self) -> str:
        return f"1 ± {self.factor:g}" if self.op == "±" else f"{self.op} {self.factor:g}"

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        return (
            f"{FIGURE_MARK} {self.name}: {self.measured:,.1f} {self.unit} / "
            f"({self.baseline.key}) {self.baseline.value:,.1f} {self.baseline.unit} = "
            f"{self.ratio:.2f}  target {self.target}  {self.verdict}"
        )


@dataclass
class Report:
    title: str
    command: str
    context: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    baselines: list[Baseline] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def header(self) -> None:
        say(f"== {self.title} — {self.started:%Y-%m-%d %H:%M} UTC")
        say(f"   command: {self.command}")
        for key, value in self.context.items():
            say(f"   {key}: {value}")

    def baseline(self, baseline: Baseline) -> Baseline:
        self.baselines.append(baseline)
        b = baseline
        detail = f"  ({b.detail})" if b.detail else ""
        say(f"baseline ({b.key}) {b.name}: {b.value:,.1f} {b.unit}{detail}")
        return baseline

    def figure(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        say(figure.line() + (f"\n       {figure.detail}" if figure.detail else ""))
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        say(f"   note: {text}")

    def summary(self) -> bool:
        failed = [f for f in self.figures if not f.passed]
        say(f"== {len(self.figures) - len(failed)}/{len(self.figures)} targets met")
        return not failed

    def finish(self, args: Any) -> int:
        """Summary, then ``--json`` / ``--markdown`` files; exit status 1 under ``--strict``
        when a target is missed."""
        met = self.summary()
        if getattr(args, "json", None):
            self.write_json(args.json)
        if getattr(args, "markdown", None):
            args.markdown.write_text(self.markdown())
        return 1 if getattr(args, "strict", False) and not met else 0

    def write_json(self, path: Path) -> None:
        data = {
            "title": self.title,
            "command": self.command,
            "started": self.started.isoformat(),
            "context": self.context,
            "baselines": [asdict(b) for b in self.baselines],
            "figures": [asdict(f) | {"ratio": f.ratio, "passed": f.passed} for f in self.figures],
            "notes": self.notes,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2))

    def markdown(self) -> str:
        rows = [
            "| figure | measured | baseline | ratio | target | verdict |",
            "|---|---:|---|---:|---|---|",
        ]
        for f in self.figures:
            b = f.baseline
            rows.append(
                f"| {f.name} | {f.measured:,.1f} {f.unit} | ({b.key}) {b.name}: "
                f"{b.value:,.1f} {b.unit} | {f.ratio:.2f} | {f.target} | "
                f"{'**' + f.verdict + '**' if not f.passed else f.verdict} |"
            )
        rows += ["", "| baseline | value | how |", "|---|---:|---|"]
        rows += [
            f"| ({b.key}) {b.name} | {b.value:,.1f} {b.unit} | {b.detail} |" for b in self.baselines
        ]
        return "\n".join(rows) + "\n"


def say(text: str) -> None:
    print(text, flush=True)


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
