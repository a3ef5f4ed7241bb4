"""``batchscribe report --list``: the runs that have a report, newest first, one line each."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from batchscribe.errors import BatchscribeError, UsageError
from batchscribe.report.console import plain_table
from batchscribe.report.store import REPORT_HTML, load_summary, run_dirs
from batchscribe.report.summary import headline


def list_reports(out: Path, console: Console) -> None:
    folders = run_dirs(out)
    if not folders:
        raise UsageError(f"no runs found under {out}", hint="pass --out with the folder a run wrote to")
    rows = []
    for folder in reversed(folders):
        try:
            summary = load_summary(folder)
            started, code = str(summary["started_at"]), str(summary["exit_code"])
            rows.append([folder.name, started, code, headline(summary)])
        except (BatchscribeError, KeyError, TypeError):
            rows.append([folder.name, "", "", "unreadable summary.json"])
    for line in plain_table(("RUN", "STARTED", "EXIT", "RESULT"), rows, indent=""):
        console.print(Text(line), soft_wrap=True)
    console.print(Text(f"reports: {folders[-1].parent}/<run>/{REPORT_HTML}"), soft_wrap=True)
