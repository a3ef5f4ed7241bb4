"""The worker timeline: which file ran on which worker when, as inline SVG.

One lane per worker, one bar per attempt (``FileResult.timeline``), coloured by outcome: an
attempt that succeeded, one that was retried, one that failed, one cancelled. Each bar has a
``<title>`` (file, chunk, outcome, error code, times) that browsers show on hover, and says on
itself which chunk of a split recording it is (or the file's name) when that fits. Plain SVG, no script;
every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

from batchscribe.names import shown
from batchscribe.outputs.timefmt import human_seconds
from batchscribe.results import Attempt, AttemptOutcome, FileResult

OUTCOME_COLOURS: dict[AttemptOutcome, str] = {
    "succeeded": "#2e7d32",
    "retried": "#f9a825",
    "failed": "#c62828",
    "cancelled": "#78909c",
}
_WIDTH = 960
_LABEL_WIDTH = 80
_RIGHT_MARGIN = 16
_LANE_HEIGHT = 18
_LANE_GAP = 6
_TOP = 30  # room for the legend
_AXIS_HEIGHT = 28


def nice_step(span: float, ticks: int = 8) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= raw)


def timeline_svg(files: Sequence[FileResult], *, wall_seconds: float = 0.0) -> str:
    """The SVG element, or an empty string when no attempt was recorded."""
    attempts = [(f.source, a) for f in files for a in f.timeline]
    if not attempts:
        return ""
    workers = sorted({a.worker for _, a in attempts})
    lane_of = {worker: index for index, worker in enumerate(workers)}
    span = max([wall_seconds, *(a.ended_at for _, a in attempts)]) or 1.0
    plot_width = _WIDTH - _LABEL_WIDTH - _RIGHT_MARGIN
    height = _TOP + len(workers) * (_LANE_HEIGHT + _LANE_GAP) + _AXIS_HEIGHT

    def x(seconds: float) -> float:
        return _LABEL_WIDTH + max(seconds, 0.0) / span * plot_width

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" width="100%"'
        f' role="img" aria-label="worker timeline" font-family="sans-serif" font-size="11">',
        _legend(),
    ]
    for worker, lane in lane_of.items():
        y = _TOP + lane * (_LANE_HEIGHT + _LANE_GAP)
        label_y = y + _LANE_HEIGHT - 5
        parts.append(f'<text x="{_LABEL_WIDTH - 8}" y="{label_y}" text-anchor="end">worker {worker}</text>')
    for source, attempt in sorted(attempts, key=lambda item: item[1].started_at):
        y = _TOP + lane_of[attempt.worker] * (_LANE_HEIGHT + _LANE_GAP)
        left = x(attempt.started_at)
        width = max(x(attempt.ended_at) - left, 1.0)  # a blink of an attempt still shows
        parts.append(
            f'<rect class="{attempt.outcome}" x="{left:.1f}" y="{y}" width="{width:.1f}"'
            f' height="{_LANE_HEIGHT}" fill="{OUTCOME_COLOURS[attempt.outcome]}" stroke="#fff">'
            f"<title>{escape(_bar_title(source, attempt))}</title></rect>"
        )
        if label := _bar_label(source, attempt, width):
            parts.append(
                f'<text class="bar-label" x="{left + 3:.1f}" y="{y + _LANE_HEIGHT - 5}" fill="#fff"'
                f' font-size="10">{escape(label)}</text>'
            )
    parts += _axis(span, x, _TOP + len(workers) * (_LANE_HEIGHT + _LANE_GAP))
    parts.append("</svg>")
    return "\n".join(parts)


_CHAR_WIDTH = 6.0  # about, at font-size 10: a label is drawn only when it fits its bar


def _bar_label(source: str, attempt: Attempt, width: float) -> str:
    """What a bar says on it: its chunk (``c3`` when narrow), or the file's name; "" if none fits."""
    room = int((width - 6) / _CHAR_WIDTH)
    name = shown(source).rsplit("/", 1)[-1]
    candidates = [attempt.chunk, attempt.chunk.replace("chunk ", "c")] if attempt.chunk else [name]
    return next((text for text in candidates if 0 < len(text) <= room), "")


def _bar_title(source: str, attempt: Attempt) -> str:
    error = f" ({attempt.error_code})" if attempt.error_code else ""
    took = human_seconds(attempt.ended_at - attempt.started_at)
    name = shown(source) + (f", {attempt.chunk}" if attempt.chunk else "")
    return f"{name}: {attempt.outcome}{error}, {attempt.started_at:.1f}-{attempt.ended_at:.1f} s ({took})"


def _legend() -> str:
    items = []
    for index, (outcome, colour) in enumerate(OUTCOME_COLOURS.items()):
        left = _LABEL_WIDTH + index * 120
        items.append(
            f'<rect x="{left}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 17}" y="16">{outcome}</text>'
        )
    return f'<g class="legend">{"".join(items)}</g>'


def _axis(span: float, x: Callable[[float], float], top: int) -> list[str]:
    unit, unit_name = (3600.0, "h") if span >= 2 * 3600 else (60.0, "min") if span >= 120 else (1.0, "s")
    step = nice_step(span / unit) * unit
    lines = [f'<line x1="{_LABEL_WIDTH}" y1="{top}" x2="{_WIDTH - _RIGHT_MARGIN}" y2="{top}" stroke="#999"/>']
    for index in range(int(span / step + 1e-9) + 1):
        left = x(index * step)
        label = f"{index * step / unit:g} {unit_name}"
        lines.append(f'<line x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{top + 4}" stroke="#999"/>')
        lines.append(f'<text x="{left:.1f}" y="{top + 16}" text-anchor="middle">{label}</text>')
    return lines
