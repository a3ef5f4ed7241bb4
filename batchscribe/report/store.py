"""Where run reports live: ``<out>/_runs/<run_id>/`` holds summary.json, summary.md, report.html.

``summary.json`` is written last, atomically like the others, so a run folder with a
``summary.json`` has a complete report. Run ids start with their UTC start time
(``20261121T020000Z-3f2a``), so the latest run is the greatest name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from batchscribe.errors import UsageError
from batchscribe.outputs.layout import RUNS_DIR, OutFolder
from batchscribe.report.summary import SCHEMA_VERSION

RUNS_FOLDER = RUNS_DIR
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
REPORT_HTML = "report.html"


def run_dir_for(out_dir: Path, run_id: str) -> Path:
    return OutFolder(out_dir).run_dir(run_id)


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
