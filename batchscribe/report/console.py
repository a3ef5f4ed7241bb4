"""The summary printed at the end of a run, and again by ``batchscribe report``.

On a terminal: rich tables (ASCII boxes when the locale is not UTF-8). Without one (cron mail, a
pipe): plain ``key: value`` lines and plain tables that never wrap, in ASCII. Totals first, then
failures (file, class, code, what to do), files still failing from earlier runs, then cancelled
files; long lists are cut with a pointer to ``summary.md``. ``quiet`` keeps only what failed.
Every cell is a ``Text``, never markup, so a file named ``[bold]x[/].wav`` prints as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchscribe.errors import UsageError
from batchscribe.outputs.layout import RUNS_DIR
from batchscribe.outputs.timefmt import human_seconds
from batchscribe.report.digest import digest_totals, summaries_failed
from batchscribe.report.morning import is_emulated, money
from batchscribe.report.summary import (
    RESOURCE_HEADER,
    count_rows,
    headline,
    plural,
    resource_table,
    summary_document,
)
from batchscribe.results import RunResult

MAX_ROWS = 20


def utf8_locale() -> bool:
    """Whether the user's locale (LC_ALL, LC_CTYPE, LANG, the first one set) is UTF-8."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "utf-8" in value.lower() or "utf8" in value.lower()
    return False


def render_saved_summary(run_dir: Path, console: Console) -> None:
    """``batchscribe report``: a kept run's summary.json printed again. One edited by hand into
    values of the wrong type is a ``UsageError`` naming it (nothing half printed), not a crash."""
    from batchscribe.report.store import SUMMARY_JSON, load_summary  # store renders through here

    summary = load_summary(run_dir)
    try:
        with console.capture() as captured:
            render_console_summary(summary, console)
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise UsageError(
            f"cannot show the run summary {run_dir / SUMMARY_JSON}: a value is missing or of the wrong "
            f"type ({type(exc).__name__}: {str(exc)[:120]})",
            hint="it was edited or damaged; the run's summary.md and report.html may still help",
        ) from exc
    console.file.write(captured.get())
    console.file.flush()


def render_console_summary(
    result: RunResult | Mapping[str, Any], console: Console, *, quiet: bool = False
) -> None:
    """Print a run's summary: from a fresh ``RunResult`` or a loaded ``summary.json`` dict."""
    summary = summary_document(result) if isinstance(result, RunResult) else result
    failed = bool(summary["counts"]["failed"] or summary["aborted"] or summaries_failed(summary))
    if quiet and not failed:
        return
    style = "red" if failed else "green"
    if summary["interrupted"] or (summary["stop_reason"] and style == "green"):
        style = "yellow"
    sections = _sections(summary, quiet=quiet)
    if not console.is_terminal:
        _plain(console, summary, sections, quiet=quiet)
        return
    console.print(Text(f"Run {summary['run_id']}: {headline(summary)}", style=f"bold {style}"))
    if summary["stop_reason"]:
        console.print(Text(f"Stopped early: {summary['stop_reason']}", style="yellow"))
    if summary.get("at_service"):
        console.print(Text(f"At the service: {summary['at_service']}"))
    shape = box.HEAVY_HEAD if utf8_locale() else box.ASCII
    if quiet and summaries_failed(summary):
        for label, value in digest_totals(summary):
            console.print(Text(f"{label}: {value}", style="red"))
    if not quiet:
        totals = Table(title="Totals", show_header=False, title_justify="left", box=shape)
        totals.add_column(no_wrap=True)
        totals.add_column(justify="right")
        for label, value in _totals(summary):
            totals.add_row(Text(label), Text(value))
        console.print(totals)
    for title, header, rows, caption in sections:
        table = Table(title=title, caption=caption or None, title_justify="left", caption_justify="left",
                      box=shape)  # fmt: skip
        for name in header:
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
    if summary["warnings"] and not quiet:
        for line in warning_lines(summary):
            console.print(Text(line, style="yellow"), soft_wrap=True)


Section = tuple[str, Sequence[str], list[list[str]], str]


def _sections(summary: Mapping[str, Any], *, quiet: bool) -> list[Section]:
    sections: list[Section] = []
    failures = summary["failures"]
    if failures:
        rows = [[r["source"], r["class"], r["code"], r["hint"]] for r in failures]
        sections.append(
            (f"Failures ({len(failures)})", ("File", "Class", "Code", "What to do"), _cut(rows), "")
        )
    resources = resource_table(summary)
    if resources and (not quiet or any(row[-1] != "-" for row in resources)):
        sections.append(("Speech resources", RESOURCE_HEADER, resources, ""))
    if quiet:
        return sections
    still = summary.get("still_failing", [])
    if still:
        rows = [[r["source"], r["since"][:10], r["code"], r["message"]] for r in still]
        caption = "failed in earlier runs, unchanged: not sent again (--retry-failed sends them)"
        sections.append(
            (f"Still failing ({len(still)})", ("File", "Since", "Code", "Why"), _cut(rows), caption)
        )
    cancelled = summary["cancelled"]
    if cancelled and not summary["aborted"]:  # an abort's cancelled files never got a chance
        rows = [[source] for source in cancelled]
        sections.append(
            (f"Cancelled ({len(cancelled)})", ("File",), _cut(rows), "the next run picks them up")
        )
    return sections


def _cut(rows: list[list[str]]) -> list[list[str]]:
    if len(rows) <= MAX_ROWS:
        return rows
    more = [f"... and {len(rows) - MAX_ROWS} more: see summary.md"] + [""] * (len(rows[0]) - 1)
    return [*rows[:MAX_ROWS], more]


def _totals(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = [(label, str(value)) for label, value in count_rows(summary)]
    rows.append(("Audio transcribed", human_seconds(summary["audio_seconds"])))
    if money(summary.get("cost")) and not is_emulated(summary["settings"]):  # an emulated run bills nothing
        rows.append(("Estimated cost", money(summary.get("cost"))))
    quality = summary.get("quality") or {}
    if quality.get("flagged"):
        rows.append(("Flagged for a look", f"{quality['flagged']} of {quality['checked']} (see report.html)"))
    rows.append(("Wall time", human_seconds(summary["wall_seconds"])))
    rows.append(("Throughput", f"{summary['throughput']:.2f}x"))
    return rows + digest_totals(summary)


def _plain(console: Console, summary: Mapping[str, Any], sections: list[Section], *, quiet: bool) -> None:
    lines = [f"run: {summary['run_id']}", f"result: {headline(summary)}"]
    if summary["stop_reason"]:
        lines.append(f"stopped early: {summary['stop_reason']}")
    if summary.get("at_service"):
        lines.append(f"at the service: {summary['at_service']}")
    if not quiet:
        lines += [f"{label.lower()}: {value}" for label, value in _totals(summary)]
    elif summaries_failed(summary):  # quiet, but summaries asked for were not made: say why
        lines += [f"{label.lower()}: {value}" for label, value in digest_totals(summary)]
    for title, header, rows, caption in sections:
        lines.append(f"{title.lower()}:" + (f" {caption}" if caption else ""))
        lines += plain_table(header, rows)
    if summary["warnings"] and not quiet:
        lines += [f"warnings: {line}" for line in warning_lines(summary)]
    for line in lines:
        console.print(Text(line), soft_wrap=True)


MAX_WARNING_KINDS = 5


def warning_lines(summary: Mapping[str, Any]) -> list[str]:
    """Identical warnings once each with how many files have them, most common first, then where
    the files are listed."""
    groups: dict[str, int] = {}
    for w in summary["warnings"]:
        groups[w["warning"]] = groups.get(w["warning"], 0) + 1
    common = sorted(groups.items(), key=lambda g: (-g[1], g[0]))
    lines = [f"{warning} ({plural(n, 'file')})" for warning, n in common[:MAX_WARNING_KINDS]]
    if len(common) > MAX_WARNING_KINDS:
        lines.append(f"... and {len(common) - MAX_WARNING_KINDS} more kinds")
    files = len({w["source"] for w in summary["warnings"]})
    folder = Path(str(summary["settings"].get("out", "."))) / RUNS_DIR / str(summary["run_id"])
    lines.append(f"{plural(files, 'file')} with warnings: listed in {folder / 'report.html'}")
    return lines


def plain_table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Columns padded with spaces, one line per row however long: for logs, mail and grep."""
    cells = [[" ".join(str(c).split()) for c in row] for row in [list(header), *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
