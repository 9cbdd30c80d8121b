"""Charts as inline SVG, written by hand: horizontal bars, and columns over time.

Why not a library: pygal 3.1.3, the small well-kept choice, adds 1.9 MB to the layer with its dependencies
(importlib_metadata, zipp, lazy_importer), ~130-190 ms to the import on a cold start, and links a script on a
CDN unless told not to. Two chart shapes take less code than configuring it. Every chart carries its numbers as
real `<text>`, has a `<title>` and `<desc>`, and the page shows a table of the same data beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13"'
INK = "#1a202c"
GRID = "#cbd5e0"


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: what it is, how long it is, the text written after it, and its colour."""

    label: str
    value: float
    text: str
    colour: str = "#2b6cb0"


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], width: int = 640) -> str:
    """Horizontal bars, one a line, each with its label before it and its text after it."""
    label_w, text_w, row_h, top = 150, 110, 28, 6
    height = top * 2 + row_h * len(bars)
    peak = max((b.value for b in bars), default=0)
    scale = (width - label_w - text_w) / peak if peak else 0.0
    rows = []
    for i, bar in enumerate(bars):
        y = top + i * row_h
        length = max(bar.value * scale, 1.0) if bar.value else 0.0
        rows.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.text)}</title>"
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end" fill="{INK}">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{length:.1f}" height="{row_h - 10}" fill="{bar.colour}" rx="2"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 18}" fill="{INK}">{escape(bar.text)}</text></g>'
        )
    return _svg(chart_id, title, width, height, "".join(rows))


def column_chart(chart_id: str, title: str, points: Sequence[tuple[str, int]], width: int = 640) -> str:
    """Columns left to right (e.g. rows recorded per minute), a scale at 0 and at the top, a few x labels."""
    left, right, top, bottom, height = 48, 8, 10, 26, 200
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, v in points), default=0) or 1
    step = min(plot_w / max(len(points), 1), 40.0)  # a few columns stay columns, not one wide block
    every = max(1, -(-len(points) // 8))  # at most about 8 labels under the columns
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{GRID}"/>',
        f'<line x1="{left}" y1="{top}" x2="{width - right}" y2="{top}" stroke="{GRID}" stroke-dasharray="3 3"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="{INK}">{peak:,}</text>',
        f'<text x="{left - 6}" y="{top + plot_h + 4}" text-anchor="end" fill="{INK}">0</text>',
    ]
    for i, (label, value) in enumerate(points):
        x, h = left + i * step, value / peak * plot_h
        parts.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step * 0.8, 0.5):.1f}" '
            f'height="{h:.1f}" fill="#2b6cb0"><title>{escape(label)}: {value:,}</title></rect>'
        )
        if i % every == 0:
            anchor = f'x="{x + step / 2:.1f}" y="{height - 8}" text-anchor="middle"'
            parts.append(f'<text {anchor} fill="{INK}">{escape(label)}</text>')
    return _svg(chart_id, title, width, height, "".join(parts))


def _svg(chart_id: str, title: str, width: int, height: int, body: str) -> str:
    ids = f"{chart_id}-title {chart_id}-desc"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" role="img" aria-labelledby="{ids}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(title)}; the table after the chart holds the same numbers.</desc>'
        f"{body}</svg>"
    )
