"""Where run reports live: ``<out>/_runs/<run_id>/`` holds summary.json, summary.md, report.html.

``summary.json`` is written last, atomically like the others, so a run folder with a
``summary.json`` has a complete report. Run ids start with their UTC start time
(``20261121T020000Z-3f2a``), so the latest run is the greatest name.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from batchscribe.errors import RunAbortedError, UsageError
from batchscribe.names import shown
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.layout import RUNS_DIR, OutFolder
from batchscribe.report.excerpts import transcript_excerpts
from batchscribe.report.html_page import render_html
from batchscribe.report.markdown import render_markdown
from batchscribe.report.summary import SCHEMA_VERSION, render_summary_json, summary_document
from batchscribe.results import RunResult

RUNS_FOLDER = RUNS_DIR
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
REPORT_HTML = "report.html"


def run_dir_for(out_dir: Path, run_id: str) -> Path:
    return OutFolder(out_dir).run_dir(run_id)


def write_report(result: RunResult, out_dir: Path) -> Path:
    """Write the three report files of a run; returns the run's report folder."""
    from batchscribe.report.history import history_rows  # it reads the run folders kept here

    folder = run_dir_for(out_dir, result.run_id)
    summary = summary_document(result)
    flagged = {row["source"] for row in summary["quality"]["recordings"]}
    excerpts = transcript_excerpts(result.files, also=flagged)
    history = history_rows(out_dir, current=summary)
    write_atomic(folder / SUMMARY_MD, render_markdown(summary, excerpts))
    write_atomic(folder / REPORT_HTML, render_html(result, summary, excerpts, history))
    write_atomic(folder / SUMMARY_JSON, render_summary_json(summary))
    return folder


def report_run(result: RunResult, out: Path) -> RunResult:
    """A run's report, written by whoever ran it (``run_batch(report=report_run)``), when the run
    did something: a night with nothing to do leaves the last real run the latest. When the disk
    cannot take it, the result says so (exit 3): the whole report first; if that fails,
    ``summary.json`` alone (the smallest part, the one ``batchscribe report`` reads) if any space
    is left for it."""
    if not did_something(result):
        return result
    try:
        write_report(result, out)
        return result
    except (RunAbortedError, OSError) as exc:
        reason = exc.message if isinstance(exc, RunAbortedError) else f"{exc.strerror or exc}"
    folder = OutFolder(out).run_dir(result.run_id)

    def noted(note: str) -> RunResult:
        return replace(result, aborted=f"{result.aborted}; {note}" if result.aborted else note)

    partial = noted(f"only the run's summary.json could be written ({reason})")
    try:
        write_atomic(folder / SUMMARY_JSON, render_summary_json(summary_document(partial)))
    except (RunAbortedError, OSError):
        return noted(f"the run's report could not be written in {shown(str(folder))} ({reason})")
    return partial


def did_something(result: RunResult) -> bool:
    """Whether the run sent, failed, rendered or stopped anything: only then it gets a report."""
    ran = result.succeeded_count + result.failed_count + result.cancelled_count
    if result.summaries is not None and result.summaries.did_something:
        return True
    return bool(ran or result.files or result.counts.rerendered or result.counts.not_scheduled
                or result.counts.changed_during_run or result.aborted or result.interrupted)  # fmt: skip


def load_summary(run_dir: Path) -> dict[str, Any]:
    """Read a run's ``summary.json``; a missing, damaged or too new one is a ``UsageError``."""
    path = run_dir / SUMMARY_JSON
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(
            f"no run summary at {path}", hint="pass a folder under <out>/_runs or a run id from there"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"cannot read the run summary {path}: {exc}",
            hint="the run's summary.md and report.html may still help",
        ) from exc
    version = summary.get("schema_version") if isinstance(summary, dict) else None
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(f"{path} is not a batchscribe run summary", hint="pass a folder under <out>/_runs")
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{path} was written by a newer batchscribe (summary schema {version})",
            hint="upgrade batchscribe to read it",
        )
    return dict(summary)


def latest_run_dir(out_dir: Path) -> Path | None:
    """The report folder of the latest run with a complete report, or None when there is none."""
    # Same-second run ids (rare) fall back to when their summary was written.
    complete = run_dirs(out_dir)
    return complete[-1] if complete else None


_RUN_ID = re.compile(r"^\d{8}T\d{6}\d{3}Z-[0-9a-f]{4}$")


def run_dirs(out_dir: Path) -> list[Path]:
    """Report folders with a complete report, oldest first."""
    runs = OutFolder(out_dir).runs_dir
    if not runs.is_dir():
        return []
    complete = [d for d in runs.iterdir() if d.is_dir() and (d / SUMMARY_JSON).is_file()]
    return sorted(complete, key=lambda d: (d.name, (d / SUMMARY_JSON).stat().st_mtime_ns))


def prune_runs(out_dir: Path, keep: int) -> list[Path]:
    """Remove the oldest report folders beyond ``keep``: only the files a run writes, and the
    folder when nothing else is left in it. Returns the folders removed."""
    if keep <= 0:
        return []
    removed = []
    for folder in [d for d in run_dirs(out_dir) if _RUN_ID.match(d.name)][:-keep]:
        for name in (SUMMARY_JSON, SUMMARY_MD, REPORT_HTML):  # summary.json first: incomplete at once
            (folder / name).unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            continue  # something else lives there: left alone
        removed.append(folder)
    return removed
