"""Small charts as inline SVG, drawn on the server: no JavaScript library, no CDN, nothing to ship.

``bar_chart`` draws grouped bars per label (calls offered and answered per interval) with an optional line
on a 0..100 % axis (the service level); ``line_chart`` one series over the labels (the AHT trend). Every
text is escaped; a missing value (None) leaves a gap. The result is an ``<svg>`` element's text.

Pure: no I/O, no clock; stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "line_chart"]

_W, _H = 760, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 48, 28, 44
_CLASSES = ("bar", "bar2")


def _scale_max(values: Sequence[float]) -> float:
    """A round top for the axis: 1, 2 or 5 times a power of ten, at least the largest value."""
    top = max([0.0, *values])
    if top <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= top:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= top:
            return step * factor
    return step * 10


def _frame(title: str, labels: Sequence[str], top: float, unit: str, right_axis: str = "") -> list[str]:
    inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="{_LEFT}" y="16">{escape(title)}</text>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + inner_h}" x2="{_LEFT + inner_w}" y2="{_TOP + inner_h}"/>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + inner_h}"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _TOP + inner_h * (1 - fraction)
        parts.append(f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:g}{escape(unit)}</text>')
        if right_axis:
            parts.append(
                f'<text x="{_LEFT + inner_w + 4}" y="{y + 4:.1f}">{fraction * 100:g}{escape(right_axis)}</text>'
            )
    every = max(1, len(labels) // 12)  # at most a dozen labels under the axis
    slot = inner_w / max(1, len(labels))
    for index, label in enumerate(labels):
        if index % every == 0:
            x = _LEFT + slot * (index + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{_TOP + inner_h + 16}" text-anchor="middle">{escape(label)}</text>')
    return parts


def _line_points(values: Sequence[float | None], top: float) -> list[str]:
    """Polylines (one per unbroken run of values) of ``values`` scaled to ``top``."""
    inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = inner_w / max(1, len(values))
    runs: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        x = _LEFT + slot * (index + 0.5)
        y = _TOP + inner_h * (1 - min(value, top) / top)
        runs[-1].append(f"{x:.1f},{y:.1f}")
    drawn = []
    for run in runs:
        if len(run) > 1:
            drawn.append(f'<polyline class="line" points="{" ".join(run)}"/>')
        elif run:  # a value alone between gaps: a dot
            cx, cy = run[0].split(",")
            drawn.append(f'<circle class="line" cx="{cx}" cy="{cy}" r="2"/>')
    return drawn


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    line: tuple[str, Sequence[float | None]] | None = None,
) -> str:
    """Grouped bars (at most two series) per label; ``line`` (shares 0..1) on the right-hand 0..100 % axis."""
    top = _scale_max([value for _, values in series for value in values])
    parts = _frame(title, labels, top, "", "%" if line is not None else "")
    inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = inner_w / max(1, len(labels))
    width = slot * 0.8 / max(1, len(series))
    for number, (name, values) in enumerate(series):
        for index, value in enumerate(values):
            height = inner_h * value / top
            x = _LEFT + slot * index + slot * 0.1 + width * number
            parts.append(
                f'<rect class="{_CLASSES[number % 2]}" x="{x:.1f}" y="{_TOP + inner_h - height:.1f}" '
                f'width="{width:.1f}" height="{height:.1f}"><title>{escape(labels[index])} {escape(name)}: '
                f"{value:g}</title></rect>"
            )
    legend = [(name, _CLASSES[number % 2]) for number, (name, _) in enumerate(series)]
    if line is not None:
        parts.extend(_line_points(line[1], 1.0))
        legend.append((line[0], "line"))
    for number, (name, css) in enumerate(legend):  # under the axis labels: a long title never runs into it
        x = _LEFT + number * 180
        parts.append(f'<rect class="{css}" x="{x}" y="{_H - 16}" width="10" height="10"/>')
        parts.append(f'<text x="{x + 14}" y="{_H - 7}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, labels: Sequence[str], values: Sequence[float | None], unit: str = "") -> str:
    top = _scale_max([value for value in values if value is not None])
    parts = _frame(title, labels, top, unit)
    parts.extend(_line_points(values, top))
    parts.append("</svg>")
    return "".join(parts)
