"""Charts as inline SVG drawn on the server: no script, no external library.

Each chart carries a ``<title>`` and ``<desc>`` and labels its values in text, so
nothing depends on colour alone; highlighted bars or points also get a text marker.
Colours come from classes in ``app.css`` (the content security policy forbids inline
styles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "Point", "bar_chart", "column_chart", "scatter_chart"]

_W = 640
_ROW = 26
_LABEL_W = 180


@dataclass(frozen=True)
class Bar:
    """One bar.

    Attributes:
        label: What the bar is (a person, a template, a week).
        value: Its length, in the chart's unit.
        text: The value as shown beside the bar.
        highlight: Drawn as an outlier, with a "(!)" marker.
    """

    label: str
    value: float
    text: str
    highlight: bool = False


@dataclass(frozen=True)
class Point:
    """One point of a scatter chart.

    Attributes:
        x: Horizontal value.
        y: Vertical value.
        label: Shown on hover and, if highlighted, beside the point.
        highlight: Drawn as an outlier (a larger, outlined square).
    """

    x: float
    y: float
    label: str
    highlight: bool = False


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def bar_chart(
    chart_id: str, title: str, bars: Sequence[Bar], maximum: float | None = None
) -> Markup:
    """Horizontal bars, one row per label, with the value written at the end.

    Args:
        chart_id: The SVG element's id (tests and links find the chart by it).
        title: The chart's accessible title.
        bars: The bars, top to bottom.
        maximum: The value of a full-length bar; the largest value by default.
    """
    if not bars:
        return Markup('<p class="hint">No data for this chart with these filters.</p>')
    top = maximum or max((b.value for b in bars), default=0) or 1
    height = _ROW * len(bars) + 10
    desc = "; ".join(f"{b.label}: {b.text}{' (outlier)' if b.highlight else ''}" for b in bars)
    out = _open(chart_id, title, desc, _W, height)
    span = _W - _LABEL_W - 90
    for i, bar in enumerate(bars):
        y = 5 + i * _ROW
        length = max(1.0, span * min(bar.value, top) / top) if bar.value > 0 else 0
        css = "bar outlier" if bar.highlight else "bar"
        label = bar.label if len(bar.label) <= 26 else bar.label[:25] + "…"
        out.append(
            f'<g class="row" data-label="{escape(bar.label)}" data-value="{bar.value:g}">'
            f'<text class="label" x="{_LABEL_W - 6}" y="{y + 16}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="{css}" x="{_LABEL_W}" y="{y + 3}" width="{length:.1f}" height="18">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
            f'<text class="value" x="{_LABEL_W + length + 6:.1f}" y="{y + 16}">'
            f"{escape(bar.text)}{' (!)' if bar.highlight else ''}</text></g>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value in it was escaped above


def column_chart(chart_id: str, title: str, bars: Sequence[Bar]) -> Markup:
    """Vertical columns (for counts over time), labelled underneath and on top."""
    if not bars:
        return Markup('<p class="hint">No data for this chart with these filters.</p>')
    height, base, left = 240, 200, 30
    step = min(80.0, (_W - left) / len(bars))
    top = max(b.value for b in bars) or 1
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    out = _open(chart_id, title, desc, _W, height)
    out.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{_W}" y2="{base}"/>')
    for i, bar in enumerate(bars):
        x = left + i * step + step * 0.15
        h = 170 * bar.value / top
        out.append(
            f'<g class="row" data-label="{escape(bar.label)}" data-value="{bar.value:g}">'
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
            f'<text class="value" x="{x + step * 0.35:.1f}" y="{base - h - 4:.1f}" '
            f'text-anchor="middle">{escape(bar.text)}</text>'
            f'<text class="label small" x="{x + step * 0.35:.1f}" y="{base + 16}" '
            f'text-anchor="middle">{escape(bar.label)}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value in it was escaped above


def scatter_chart(
    chart_id: str,
    title: str,
    points: Sequence[Point],
    x_label: str,
    y_label: str,
    x_max: float,
    y_max: float = 100.0,
) -> Markup:
    """Points on two axes; highlighted points are squares with their label written."""
    if not points:
        return Markup('<p class="hint">No data for this chart with these filters.</p>')
    height, left, bottom, right, top_pad = 300, 50, 260, _W - 20, 20
    desc = "; ".join(
        f"{p.label}: {p.x:.0f} and {p.y:.0f}{' (outlier)' if p.highlight else ''}" for p in points
    )
    out = _open(chart_id, title, desc, _W, height)
    out.append(
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
        f'<line class="axis" x1="{left}" y1="{top_pad}" x2="{left}" y2="{bottom}"/>'
        f'<text class="label small" x="{(left + right) / 2}" y="{height - 8}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="label small" x="14" y="{(top_pad + bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top_pad + bottom) / 2})">{escape(y_label)}</text>'
        f'<text class="label small" x="{left - 4}" y="{top_pad + 4}" text-anchor="end">'
        f"{y_max:g}</text>"
        f'<text class="label small" x="{right}" y="{bottom + 14}" text-anchor="end">'
        f"{x_max:g}</text>"
    )
    for p in points:
        x = left + (right - left) * min(p.x, x_max) / (x_max or 1)
        y = bottom - (bottom - top_pad) * min(p.y, y_max) / (y_max or 1)
        tip = f"<title>{escape(p.label)}</title>"
        if p.highlight:
            out.append(
                f'<g class="point outlier" data-label="{escape(p.label)}">'
                f'<rect class="dot outlier" x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" '
                f'height="12">{tip}</rect><text class="value small" x="{x + 9:.1f}" '
                f'y="{y + 4:.1f}">{escape(p.label)} (!)</text></g>'
            )
        else:
            out.append(
                f'<g class="point" data-label="{escape(p.label)}"><circle class="dot" '
                f'cx="{x:.1f}" cy="{y:.1f}" r="4">{tip}</circle></g>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every value in it was escaped above
