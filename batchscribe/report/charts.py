"""Small bar charts of the run history: inline SVG for report.html, text bars for the terminal.

The SVG is plain shapes and text with a ``<title>`` per bar (browsers show it on hover): no
script, no font or anything else from outside, so report.html stays one self-contained file. It
scales to its box (``viewBox``), so a chart fits a phone as well as a desktop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

CHARTED = (  # (key, title) of the history numbers drawn as charts, in the order shown
    ("recordings", "Recordings"),
    ("audio_hours", "Audio hours"),
    ("failures", "Failures"),
    ("flagged", "Flagged recordings"),
    ("cost", "Cost"),
    ("throughput", "Throughput (audio s per wall s)"),
)


def bar(value: float | None, top: float, width: int = 20, *, ascii_only: bool = False) -> str:
    """A bar of ``width`` cells at most, in eighths of a cell (``#`` without Unicode)."""
    if value is None or top <= 0:
        return ""
    eighths = round(max(value, 0) / top * width * 8)
    if ascii_only:
        return "#" * ((eighths + 4) // 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


_CHART_W, _CHART_H, _PAD_TOP, _PAD_BOTTOM = 320, 110, 18, 16


def history_svg(rows: Sequence[Mapping[str, Any]], key: str, title: str) -> str:
    """One small bar chart: a bar per run, the latest dark; hover shows date and value."""
    values = [row.get(key) for row in rows]
    top = max((float(v) for v in values if v is not None), default=0.0)
    plot_h = _CHART_H - _PAD_TOP - _PAD_BOTTOM
    base = _CHART_H - _PAD_BOTTOM
    step = _CHART_W / max(len(rows), 1)
    latest = next((v for v in reversed(values) if v is not None), None)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_CHART_W} {_CHART_H}" class="chart"'
        f' role="img" aria-label="{escape(title)} per run" font-family="sans-serif" font-size="12">',
        f'<text x="0" y="12" font-weight="bold">{escape(title)}</text>',
        f'<text x="{_CHART_W}" y="12" text-anchor="end">{escape(_short(latest))}</text>',
        f'<line x1="0" y1="{base}" x2="{_CHART_W}" y2="{base}" stroke="#999"/>',
    ]
    for index, (row, value) in enumerate(zip(rows, values, strict=True)):
        if value is None:
            continue
        height = max(float(value) / top * plot_h, 1.0) if top > 0 and value else 0.0
        colour = "#1565c0" if index == len(rows) - 1 else "#90caf9"
        label = f"{str(row.get('started_at', ''))[:16].replace('T', ' ')}: {_short(value)}"
        parts.append(
            f'<rect x="{index * step + step * 0.1:.1f}" y="{base - height:.1f}" width="{step * 0.8:.1f}"'
            f' height="{height:.1f}" fill="{colour}"><title>{escape(label)}</title></rect>'
        )
    if rows:
        first, last = (str(rows[i].get("started_at", ""))[:10] for i in (0, -1))
        parts.append(f'<text x="0" y="{_CHART_H - 3}">{escape(first)}</text>')
        if len(rows) > 1:
            parts.append(f'<text x="{_CHART_W}" y="{_CHART_H - 3}" text-anchor="end">{escape(last)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _short(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


_LEVELS = "▁▂▃▄▅▆▇█"
_ASCII_LEVELS = "_.-=+*#@"


def spark(values: Sequence[float | None], *, ascii_only: bool = False) -> str:
    """One character per value, its height the value's share of the largest (a blank: unknown)."""
    levels = _ASCII_LEVELS if ascii_only else _LEVELS
    top = max((v for v in values if v is not None), default=0.0)
    return "".join(
        " " if v is None else levels[min(len(levels) - 1, int(max(v, 0) / top * (len(levels) - 1) + 0.5))]
        if top > 0 else levels[0]
        for v in values
    )  # fmt: skip
