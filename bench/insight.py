"""Insight's figures (issue 25, ADR 23): duplicate suggestions on the frozen held-out part
beside the baseline, and early warnings over a generated surge and a simulated ordinary year.

    python -m bench.insight            # held-out (default); --split tuning to see the other part
    python -m bench.insight --strict   # exit 1 if a target is missed

Deterministic: no timing, no network; the same figures every run.
"""

from __future__ import annotations

import argparse
import sys

from bench.insight_labelled import evaluate
from services.insight.domain import DEFAULT
from services.insight.warning import WARNING_DEFAULT, ordinary_year, surge_warnings

TARGET = 0.8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.insight")
    parser.add_argument("--split", choices=("heldout", "tuning"), default="heldout")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    ours, base = evaluate(args.split, DEFAULT)
    print(f"重复线索建议 — {args.split} part, threshold {DEFAULT.threshold}")
    print("  " + ours.line("insight"))
    print("  " + base.line("baseline"))
    dup_ok = (
        ours.precision >= TARGET
        and ours.recall >= TARGET
        and ours.precision > base.precision
        and ours.recall > base.recall
    )
    print(
        f"  target: precision and recall ≥ {TARGET} and above the baseline → "
        f"{'met' if dup_ok else 'MISSED'}"
    )
    surge = surge_warnings()
    year = ordinary_year()
    print(f"苗头预警 — rule: {WARNING_DEFAULT.describe()}")
    print(f"  surge of one street's 乱收费: {len(surge)} warning(s) (target exactly 1)")
    print(
        f"  simulated ordinary year: {len(year)} warning(s)"
        f" (target ≤ {WARNING_DEFAULT.year_budget})"
    )
    warn_ok = len(surge) == 1 and len(year) <= WARNING_DEFAULT.year_budget
    return 1 if args.strict and not (dup_ok and warn_ok) else 0


if __name__ == "__main__":
    sys.exit(main())
