"""``batchscribe report --history``: the kept runs side by side, with small bars, or as JSON.

On a terminal a rich table of the numbers, then a small bar chart per number over the runs
(Unicode when the locale is UTF-8); without one (cron mail, a pipe) plain columns with ``#``
bars, in ASCII, one line per run however wide. ``--json`` prints the rows of
``history.history_rows``, oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchscribe.errors import UsageError
from batchscribe.names import shown
from batchscribe.report.charts import CHARTED, bar, spark
from batchscribe.report.console import plain_table, utf8_locale
from batchscribe.report.history import history_rows


def _cell(key: str, row: Mapping[str, Any]) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    if key == "started_at":
        return str(value)[:16].replace("T", " ")
    if key == "cost":
        return f"{value:.2f} {row.get('currency') or ''}".strip()
    if key == "wall_seconds":
        seconds = round(float(value))
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if key == "throughput":
        return f"{value:.1f}x"
    if key == "audio_hours":
        return f"{value:.2f}"
    return str(value)


COLUMNS = (  # (key, header, with a bar): what the terminal shows per run
    ("started_at", "Started UTC", False),
    ("recordings", "Recordings", True),
    ("audio_hours", "Audio h", True),
    ("failures", "Failed", True),
    ("still_failing", "Still failing", False),
    ("flagged", "Flagged", True),
    ("cost", "Cost", False),
    ("throughput", "Speed", False),
    ("wall_seconds", "Wall", False),
)
BAR_WIDTH = 8  # cells of the largest bar in plain lines


def history_table(
    rows: Sequence[Mapping[str, Any]], *, ascii_only: bool, bar_width: int = BAR_WIDTH
) -> tuple[list[str], list[list[str]]]:
    """Header and rows (newest first), numbers with a small bar scaled to the column's largest."""
    tops = {
        key: max((float(r[key]) for r in rows if r.get(key) is not None), default=0.0)
        for key, _, with_bar in COLUMNS
        if with_bar
    }
    header = [title for _, title, _ in COLUMNS]
    body = []
    for row in reversed(rows):
        cells = []
        for key, _, with_bar in COLUMNS:
            text = _cell(key, row)
            if with_bar and bar_width:
                drawn = bar(row.get(key), tops[key], bar_width, ascii_only=ascii_only)
                text = f"{text:>5} {drawn}".rstrip()
            cells.append(text)
        body.append(cells)
    return header, body


def _rows(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    skipped: list[dict[str, str]] = []
    rows = history_rows(out, skipped=skipped)
    if not rows:
        unreadable = f"{len(skipped)} unreadable: {', '.join(shown(s['run_id']) for s in skipped)}"
        raise UsageError(f"no runs found under {out}{f' ({unreadable})' if skipped else ''}",
                         hint="pass --out with the folder a run wrote to")  # fmt: skip
    return rows, skipped


def render_history(out: Path, console: Console, errors: Console | None = None) -> None:
    """Piped: one plain line per run with ``#`` bars. On a terminal: the numbers (newest first),
    then one small bar chart per number over the runs (oldest to newest), which fit 80 columns.
    A run whose summary cannot be read is named on ``errors`` (stderr), and the others shown."""
    rows, skipped = _rows(out)
    errors = errors or Console(stderr=True, highlight=False)
    for run in skipped:
        errors.print(Text(f"skipped run {shown(run['run_id'])}: {shown(run['reason'])}"), soft_wrap=True)
    if not console.is_terminal:
        header, body = history_table(rows, ascii_only=True)
        for line in plain_table(header, body, indent=""):
            console.print(Text(line), soft_wrap=True)
        return
    unicode = utf8_locale()
    header, body = history_table(rows, ascii_only=not unicode, bar_width=0)
    table = Table(title=f"Runs under {out} (newest first)", title_justify="left", box=None,
                  padding=(0, 1), pad_edge=False, collapse_padding=True, header_style="bold")  # fmt: skip
    for _, title, _ in COLUMNS:  # two-line headers: the table fits 80 columns
        table.add_column(title.replace(" ", "\n", 1), no_wrap=True, justify="right")
    years = {r[0][:4] for r in body}
    for cells in body:
        when = cells[0][5:] if len(years) == 1 else cells[0]  # the year once, in the title
        table.add_row(*(Text(c) for c in [when, *cells[1:]]))
    if len(years) == 1:
        table.title = f"Runs under {out} in {years.pop()} (newest first)"
    console.print(table)
    shown_runs = rows[-max(8, console.width - 40) :]
    console.print(Text(f"Over the last {len(shown_runs)} runs, oldest to newest:"))
    for key, title in CHARTED:
        values = [None if r.get(key) is None else float(r[key]) for r in shown_runs]
        if all(v is None for v in values):
            continue
        latest = next((_cell(key, r) for r in reversed(shown_runs) if r.get(key) is not None), "-")
        label = title.split(" (")[0]
        console.print(Text(f"  {label:<19}{spark(values, ascii_only=not unicode)}  {latest}"), soft_wrap=True)


def history_json(out: Path) -> str:
    """``--history --json``: the rows, oldest first, and the runs whose summary could not be read."""
    rows, skipped = _rows(out)
    return json.dumps({"runs": rows, "skipped": skipped}, ensure_ascii=False, indent=2) + "\n"
