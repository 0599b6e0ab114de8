"""Static charts for official documents (issue 19: the circular's charts as images), drawn off
screen by matplotlib with a free CJK font found through fontconfig (the same fonts the PDF
embeds). The same figures always give the same PNG: a reprint matches its first print."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

CJK_FAMILIES = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Serif CJK SC"]
COLOURS = ("#8b1a1a", "#0b4f8a", "#2e7d32", "#6b6b6b")


def rate_bars(
    title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]
) -> bytes:
    """Horizontal bars, one group per label (a unit), one bar per series (a rate in [0, 1];
    None — nothing to measure — is drawn as no bar and written as —). PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    style: Any = {"font.family": "sans-serif", "font.sans-serif": [*CJK_FAMILIES, "DejaVu Sans"]}
    with matplotlib.rc_context(style):
        height = 0.6 + 0.32 * max(1, len(labels)) * max(1, len(series))
        figure = Figure(figsize=(6.3, min(height, 9.0)), dpi=150)
        axes = figure.subplots()
        step = 0.8 / max(1, len(series))
        for n, (name, values) in enumerate(series.items()):
            places = [i + n * step for i in range(len(labels))]
            shown = [0.0 if v is None else v * 100 for v in values]
            bars = axes.barh(places, shown, height=step * 0.9, label=name, color=COLOURS[n % 4])
            texts = ["—" if v is None else f"{v * 100:.1f}%" for v in values]
            axes.bar_label(bars, labels=texts, padding=2, fontsize=7)
        axes.set_yticks([i + step * (len(series) - 1) / 2 for i in range(len(labels))], labels)
        axes.invert_yaxis()  # the table's order, top down
        axes.set_xlim(0, 110)
        axes.set_xlabel("%")
        axes.set_title(title)
        axes.legend(loc="lower right", fontsize=8)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
