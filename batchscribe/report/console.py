"""The rich tables printed at the end of a run, and again by ``batchscribe report``.

Totals first, then failures (file, class, code, what to do), then cancelled files; long lists are
cut with a pointer to ``summary.md``. Every cell is a ``Text``, never markup, so a file named
``[bold]x[/].wav`` prints as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.summary import count_rows, headline, plural, summary_document
from batchscribe.results import RunResult

MAX_ROWS = 20


def render_console_summary(result: RunResult | Mapping[str, Any], console: Console) -> None:
    """Print a run's summary: from a fresh ``RunResult`` or a loaded ``summary.json`` dict."""
    summary = summary_document(result) if isinstance(result, RunResult) else result
    style = "red" if summary["counts"]["failed"] or summary["aborted"] else "green"
    if summary["interrupted"] or (summary["stop_reason"] and style == "green"):
        style = "yellow"
    console.print(Text(f"Run {summary['run_id']}: {headline(summary)}", style=f"bold {style}"))
    if summary["stop_reason"]:
        console.print(Text(f"Stopped early: {summary['stop_reason']}", style="yellow"))
    console.print(_totals(summary))
    if summary["failures"]:
        console.print(_failures(summary["failures"]))
    if summary["cancelled"]:
        console.print(_cancelled(summary["cancelled"]))
    if summary["warnings"]:
        files = len({w["source"] for w in summary["warnings"]})
        console.print(
            Text(f"{plural(files, 'file')} with warnings: see summary.md or report.html", style="yellow")
        )


def _totals(summary: Mapping[str, Any]) -> Table:
    table = Table(title="Totals", show_header=False, title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    for label, value in count_rows(summary):
        table.add_row(Text(label), Text(str(value)))
    table.add_row(Text("Audio transcribed"), Text(human_seconds(summary["audio_seconds"])))
    table.add_row(Text("Wall time"), Text(human_seconds(summary["wall_seconds"])))
    table.add_row(Text("Throughput"), Text(f"{summary['throughput']:.2f}x"))
    return table


def _failures(failures: list[Mapping[str, Any]]) -> Table:
    table = Table(title=f"Failures ({len(failures)})", title_justify="left", title_style="bold red")
    for header in ("File", "Class", "Code", "What to do"):
        table.add_column(header, overflow="fold")
    for row in failures[:MAX_ROWS]:
        table.add_row(Text(row["source"]), Text(row["class"]), Text(row["code"]), Text(row["hint"]))
    if len(failures) > MAX_ROWS:
        table.add_row(
            Text(f"... and {len(failures) - MAX_ROWS} more: see summary.md"), Text(""), Text(""), Text("")
        )
    return table


def _cancelled(sources: list[str]) -> Table:
    table = Table(
        title=f"Cancelled ({len(sources)})",
        caption="the next run picks them up",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("File", overflow="fold", min_width=40)
    for source in sources[:MAX_ROWS]:
        table.add_row(Text(source))
    if len(sources) > MAX_ROWS:
        table.add_row(Text(f"... and {len(sources) - MAX_ROWS} more: see summary.md"))
    return table
