"""The circular's chart (issue 19): a PNG drawn with a CJK font, the same bytes for the same
figures (a reprint matches its first print), and a rate with nothing to measure drawn as none."""

from __future__ import annotations

import io

from matplotlib import font_manager
from PIL import Image

from shared.platform.charts import CJK_FAMILIES, rate_bars

SERIES = {"按期签收率": [0.5, None], "按期办结率": [1.0, 0.25]}


def test_a_chart_is_a_png_drawn_with_a_chinese_font_and_the_same_each_time() -> None:
    found = font_manager.findfont(
        font_manager.FontProperties(family=CJK_FAMILIES), fallback_to_default=False
    )
    assert found  # CI installs fonts-wqy-microhei: no tofu boxes in the labels
    png = rate_bars("各责任单位按期签收率与按期办结率", ["区教育局", "区民政局"], SERIES)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width > 600 and image.height > 100
    assert rate_bars("各责任单位按期签收率与按期办结率", ["区教育局", "区民政局"], SERIES) == png
    other = rate_bars(
        "各责任单位按期签收率与按期办结率", ["区教育局", "区民政局"], {"x": [0.9, 0.1]}
    )
    assert other != png
