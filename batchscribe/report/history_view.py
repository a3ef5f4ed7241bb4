"""``batchscribe report --history``: the kept runs side by side, with small bars, or as JSON.

On a terminal a rich table (Unicode bars in eighths of a cell when the locale is UTF-8); without
one (cron mail, a pipe) plain columns with ``#`` bars, in ASCII. ``--json`` prints the rows of
``history.history_rows``, oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchscribe.errors import UsageError
from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.charts import bar
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
        return human_seconds(float(value))
    if key == "throughput":
        return f"{value:.1f}x"
    if key == "audio_hours":
        return f"{value:.2f}"
    return str(value)


COLUMNS = (  # (key, header, with a bar): what the terminal shows per run
    ("started_at", "Started (UTC)", False),
    ("recordings", "Recordings", True),
    ("audio_hours", "Audio h", True),
    ("failures", "Failed", True),
    ("still_failing", "Still failing", False),
    ("flagged", "Flagged", True),
    ("cost", "Cost", False),
    ("throughput", "Throughput", False),
    ("wall_seconds", "Wall", False),
)
BAR_WIDTH = 8


def history_table(
    rows: Sequence[Mapping[str, Any]], *, ascii_only: bool
) -> tuple[list[str], list[list[str]]]:
    """Header and rows (newest first), numbers with a small bar scaled to the column's largest."""
    tops = {
        key: max((float(r[key]) for r in rows if r.get(key) is not None), default=0.0) for key, *_ in COLUMNS
    }
    header = [title for _, title, _ in COLUMNS]
    body = []
    for row in reversed(rows):
        cells = []
        for key, _, with_bar in COLUMNS:
            text = _cell(key, row)
            if with_bar:
                drawn = bar(row.get(key), tops[key], BAR_WIDTH, ascii_only=ascii_only)
                text = f"{text:>6} {drawn}".rstrip()
            cells.append(text)
        body.append(cells)
    return header, body


def _rows(out: Path) -> list[dict[str, Any]]:
    rows = history_rows(out)
    if not rows:
        raise UsageError(f"no runs found under {out}", hint="pass --out with the folder a run wrote to")
    return rows


def render_history(out: Path, console: Console) -> None:
    """A table with bars on a terminal, plain ASCII otherwise; newest run first."""
    rows = _rows(out)
    terminal = console.is_terminal
    header, body = history_table(rows, ascii_only=not (terminal and utf8_locale()))
    if not terminal:
        for line in plain_table(header, body, indent=""):
            console.print(Text(line), soft_wrap=True)
        return
    table = Table(title=f"Runs under {out} (newest first)", title_justify="left",
                  box=box.HEAVY_HEAD if utf8_locale() else box.ASCII)  # fmt: skip
    for _, title, _ in COLUMNS:
        table.add_column(title, no_wrap=True)
    for cells in body:
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


def history_json(out: Path) -> str:
    """``--history --json``: the rows, oldest first."""
    return json.dumps({"runs": _rows(out)}, ensure_ascii=False, indent=2) + "\n"
