"""Charts as inline SVG, drawn on the server: no script, no CDN, readable offline and by screen readers.

Each chart is an `<svg role="img">` with a `<title>` and a `<desc>` (what it shows, in words); the page puts
the numbers beside it in a table and offers them as CSV. Colours come from classes in `app.css`-free inline
styles so the SVG prints the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

__all__ = ["hbars", "stacked_columns"]

COLOURS = ("#2e7d32", "#ef6c00", "#1565c0", "#6a1b9a", "#c62828", "#00838f", "#795548")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _head(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px" aria-labelledby="{chart_id}-t {chart_id}-d" data-chart="{escape(chart_id)}">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]


def _legend(names: Sequence[str], x: int, y: int) -> list[str]:
    parts, offset = [], x
    for i, name in enumerate(names):
        parts.append(f'<rect x="{offset}" y="{y - 10}" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{offset + 16}" y="{y}" {_FONT}>{escape(name)}</text>')
        offset += 24 + 7 * len(name)
    return parts


def hbars(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    unit: str = "",
    width: int = 640,
) -> Markup:
    """Horizontal bars: one group per label, one bar per series (`(name, values)`), values written at the end."""
    label_w, row_h, bar_h = 190, 8 + 16 * len(series), 14
    top = 28
    height = top + row_h * max(1, len(labels)) + 8
    peak = max((v for _n, values in series for v in values), default=0) or 1
    scale = (width - label_w - 70) / peak
    parts = _head(chart_id, title, desc, width, height)
    parts += _legend([name for name, _ in series], label_w, 16)
    for i, label in enumerate(labels):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h}" text-anchor="end" {_FONT}>{escape(label[:28])}</text>')
        for j, (_name, values) in enumerate(series):
            v = values[i] if i < len(values) else 0
            by = y + 2 + j * 16
            w = max(0.0, v * scale)
            colour = COLOURS[j % len(COLOURS)]
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
            text = f"{v:,.1f}{unit}" if unit else f"{int(v):,}"
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{by + 11}" {_FONT}>{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def stacked_columns(
    chart_id: str,
    title: str,
    desc: str,
    days: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 720,
    height: int = 260,
) -> Markup:
    """One column per day, its series stacked (bottom first); the first and last days labelled."""
    left, bottom, top = 64, 28, 28
    plot_h = height - top - bottom
    n = max(1, len(days))
    step = (width - left - 8) / n
    peak = max((sum(vals[i] for _name, vals in series) for i in range(len(days))), default=0) or 1
    parts = _head(chart_id, title, desc, width, height)
    parts += _legend([name for name, _ in series], left, 16)
    for tick in (0, 0.5, 1):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccc"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{int(peak * tick):,}</text>')
    for i in range(len(days)):
        base = 0
        for j, (_name, values) in enumerate(series):
            v = values[i]
            h = plot_h * v / peak
            y = top + plot_h * (1 - (base + v) / peak)
            colour = COLOURS[j % len(COLOURS)]
            parts.append(
                f'<rect x="{left + i * step + step * 0.1:.1f}" y="{y:.1f}" width="{max(step * 0.8, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(days[i])}: {v:,}</title></rect>'
            )
            base += v
    if days:
        parts.append(f'<text x="{left}" y="{height - 8}" {_FONT}>{escape(days[0])}</text>')
        if len(days) > 1:
            parts.append(f'<text x="{width - 8}" y="{height - 8}" text-anchor="end" {_FONT}>{escape(days[-1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
