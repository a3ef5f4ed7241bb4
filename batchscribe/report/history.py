"""How tonight compares with the nights before: one row per kept run, from its summary.json.

``history_rows`` reads every run folder under ``<out>/_runs`` (oldest first) into the numbers a
reviewer compares: recordings, audio hours, failures, still failing, cost, throughput, wall time
and flagged recordings. Summaries written before a number existed give ``None`` for it (shown as
"-", drawn as no bar), never a made-up 0. ``charts`` draws them (SVG for report.html, text bars for
the terminal).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from batchscribe.errors import BatchscribeError
from batchscribe.outputs.layout import KEEP_RUNS
from batchscribe.report.morning import is_emulated
from batchscribe.report.store import load_summary, run_dirs

MAX_RUNS = KEEP_RUNS  # as many as ``prune_runs`` keeps by default


def history_row(summary: Mapping[str, Any]) -> dict[str, Any]:
    """One run's numbers (``None`` where its summary does not say)."""
    counts = summary.get("counts", {})
    cost = summary.get("cost")
    quality = summary.get("quality")
    emulated = is_emulated(summary.get("settings", {}))
    return {
        "run_id": summary.get("run_id"),
        "started_at": summary.get("started_at"),
        "exit_code": summary.get("exit_code"),
        "recordings": sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "cancelled")),
        "audio_hours": round(float(summary.get("audio_seconds", 0)) / 3600, 4),
        "failures": int(counts.get("failed", 0)),
        "still_failing": len(summary.get("still_failing", ())),
        "cost": None if emulated or not cost else cost.get("estimated"),
        "currency": None if emulated or not cost else cost.get("currency"),
        "throughput": summary.get("throughput"),
        "wall_seconds": summary.get("wall_seconds"),
        "flagged": quality.get("flagged") if isinstance(quality, Mapping) else None,
        "emulated": emulated,
    }


def history_rows(
    out: Path, current: Mapping[str, Any] | None = None, *, skipped: list[dict[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Every kept run under ``out``, oldest first; ``current`` (a summary not written yet) last.
    A run whose summary.json is damaged or edited into something else is left out, not guessed,
    and named in ``skipped`` (run id and why) when a list is given."""
    rows = []
    for folder in run_dirs(out):
        if current is not None and folder.name == current.get("run_id"):
            continue
        try:
            rows.append(history_row(load_summary(folder)))
        except (BatchscribeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            if skipped is not None:
                skipped.append({"run_id": folder.name, "reason": _why_unreadable(exc)})
    if current is not None:
        rows.append(history_row(current))
    return rows[-MAX_RUNS:]


def _why_unreadable(exc: Exception) -> str:
    if isinstance(exc, BatchscribeError):
        return exc.message
    return f"summary.json has a missing or wrong-typed value ({type(exc).__name__}: {str(exc)[:120]})"
