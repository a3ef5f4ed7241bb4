"""Writing a run's report: ``RunResult`` -> summary.md, report.html and summary.json in its folder
under ``<out>/_runs`` (``store``), ``summary.json`` last; ``report_run`` is what whoever runs the
batch passes as ``run_batch(report=...)``. The history of the runs kept there (``history``) is
drawn into report.html.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from batchscribe.errors import RunAbortedError
from batchscribe.names import shown
from batchscribe.outputs.atomic import write_atomic
from batchscribe.outputs.layout import OutFolder
from batchscribe.report.excerpts import transcript_excerpts
from batchscribe.report.history import history_rows
from batchscribe.report.html_page import render_html
from batchscribe.report.markdown import render_markdown
from batchscribe.report.store import REPORT_HTML, SUMMARY_JSON, SUMMARY_MD, run_dir_for
from batchscribe.report.summary import render_summary_json, summary_document
from batchscribe.results import RunResult


def write_report(result: RunResult, out_dir: Path) -> Path:
    """Write the three report files of a run; returns the run's report folder."""
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
    if result.stop_reason or result.at_service:  # e.g. batch jobs left at the service: say so
        return True
    if result.summaries is not None and result.summaries.did_something:
        return True
    return bool(ran or result.files or result.counts.rerendered or result.counts.not_scheduled
                or result.counts.changed_during_run or result.aborted or result.interrupted)  # fmt: skip
