"""Server-side SVG charts (callcenter/web/charts.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from callcenter.web.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_scaled_to_a_round_top_and_the_line_to_100_percent() -> None:
    svg = bar_chart("Calls", ["10:00", "10:15"], [("offered", [4, 8]), ("answered", [2, 8])], ("SL", [0.5, 1.0]))
    root = ElementTree.fromstring(svg)  # well-formed XML
    bars = [
        rect
        for rect in root.iter(f"{SVG}rect")
        if rect.get("class") in ("bar", "bar2") and rect.find(f"{SVG}title") is not None
    ]
    heights = [float(rect.get("height", "0")) for rect in bars]
    assert len(bars) == 4
    assert heights[1] == heights[3] == max(heights)  # 8 of a top of 10
    assert abs(heights[0] / heights[1] - 0.5) < 1e-6
    [line] = list(root.iter(f"{SVG}polyline"))
    ys = [float(point.split(",")[1]) for point in line.get("points", "").split()]
    assert ys[0] > ys[1]  # 50 % is lower on the page than 100 %


def test_every_text_is_escaped() -> None:
    svg = bar_chart("<script>", ["<b>&"], [('x"y', [1])])
    assert "<script>" not in svg and "<b>" not in svg
    ElementTree.fromstring(svg)


def test_a_missing_value_leaves_a_gap_in_the_line() -> None:
    svg = line_chart("AHT", ["a", "b", "c", "d"], [100.0, None, 120.0, 130.0], " s")
    assert len(re.findall("<polyline", svg)) == 1 and len(re.findall("<circle", svg)) == 1
    assert line_chart("empty", [], []).startswith("<svg")
