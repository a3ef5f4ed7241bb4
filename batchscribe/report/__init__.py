"""Run reports: ``RunResult`` -> summary.json, summary.md, report.html; rich tables at the end.

- ``summary``: the versioned summary.json document every other rendering is made from
- ``markdown``, ``html_page`` (its sections; ``html_parts``: style and cells; ``timeline``, the
  worker timeline in SVG; ``charts``, the history's bar charts), ``console``
- ``triage``: which transcripts are probably wrong (summary.json's ``quality``)
- ``history``: one row per kept run; ``history_view``: ``batchscribe report --history``
- ``store``: the ``<out>/_runs/<run_id>/`` folder, reading a summary back, finding the latest run
- ``writer``: a run's report written there (``report_run``, for whoever runs the batch)

The public names load on first use (PEP 562 ``__getattr__``, from ``_WHERE``) so that the CLI
starts without loading every renderer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchscribe.report.console import render_console_summary
    from batchscribe.report.html_page import render_html
    from batchscribe.report.markdown import render_markdown
    from batchscribe.report.store import (
        REPORT_HTML,
        RUNS_FOLDER,
        SUMMARY_JSON,
        SUMMARY_MD,
        latest_run_dir,
        load_summary,
        prune_runs,
        run_dir_for,
        run_dirs,
    )
    from batchscribe.report.summary import SCHEMA_VERSION, render_summary_json, summary_document
    from batchscribe.report.writer import write_report

_WHERE = {
    "render_console_summary": "console",
    "render_html": "html_page",
    "render_markdown": "markdown",
    "REPORT_HTML": "store",
    "RUNS_FOLDER": "store",
    "SUMMARY_JSON": "store",
    "SUMMARY_MD": "store",
    "latest_run_dir": "store",
    "load_summary": "store",
    "prune_runs": "store",
    "run_dir_for": "store",
    "run_dirs": "store",
    "write_report": "writer",
    "SCHEMA_VERSION": "summary",
    "render_summary_json": "summary",
    "summary_document": "summary",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "REPORT_HTML",
    "RUNS_FOLDER",
    "SCHEMA_VERSION",
    "SUMMARY_JSON",
    "SUMMARY_MD",
    "latest_run_dir",
    "load_summary",
    "prune_runs",
    "render_console_summary",
    "render_html",
    "render_markdown",
    "render_summary_json",
    "run_dir_for",
    "run_dirs",
    "summary_document",
    "write_report",
]
