"""``batchscribe plan``: per job, what the next ``run`` does, file for file, and a total row.

The counts come from the same planner ``run`` uses, so they are what ``run`` then does:
``to_send`` recordings go to the service (new, changed, forced by ``--force``, failed before and
due again); ``not_audio`` files are recorded as failed without being sent; ``still_failing``
files failed permanently in an earlier run and are left alone until they or the transcript
settings change (or ``--retry-failed``). Audio is shown as ``h:mm:ss``, never as "0.00 hours".
``sessions`` is how many may run at once (over every resource of a job), ``wall_estimate`` the
night's length that allows. A batch job (``--engine batch``) has neither: its recordings are
transcribed at the service, best effort (shown as ``-`` and ``at the service``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from batchscribe.config.settings import RunSettings
from batchscribe.planning.planner import Plan
from batchscribe.planning.summaries import plan_columns, plan_lines
from batchscribe.report.console import plain_table, utf8_locale
from batchscribe.running.split_plan import SplitSummary

COLUMNS = (
    "job", "new", "changed", "forced", "failed_before", "to_send", "audio", "estimated_cost",
    "sessions", "wall_estimate", "done", "rerender", "still_failing", "not_audio", "not_settled", "split",
    "chunks",
)  # fmt: skip
ALWAYS_SHOWN = frozenset({"job", "to_send", "audio", "estimated_cost", "sessions", "wall_estimate", "done"})
SDK_SEND_RATE = 2.0  # the SDK sends file audio at about twice real time (SDK_FACTS.md)
AT_THE_SERVICE = "at the service"  # a batch job's wall time: the service's, best effort


def wall_estimate(settings: RunSettings, planned: Plan, split: SplitSummary | None = None) -> float:
    """The night's wall time from the resources' combined capacity: the audio spread over every
    session at the rate the SDK sends it, and never less than the longest session alone (a whole
    recording, or a chunk of one that ``run`` splits: ``split``)."""
    rate = settings.sdk_send_rate or SDK_SEND_RATE
    durations = [item.audio.duration_s for item in planned.items]
    if not durations:
        return 0.0
    longest = split.longest_session_s if split is not None else max(durations)
    return max(longest / rate, sum(durations) / rate / max(1, settings.capacity))


def resources_text(settings: RunSettings) -> str:
    """``name (N sessions), ...`` for a run over several resources, else ""."""
    if len(settings.resources) < 2:
        return ""
    return ", ".join(
        f"{e.name} ({e.resource.max_sessions if e.resource else settings.workers} sessions)"
        for e in settings.resources
    )


def hms(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def plan_row(settings: RunSettings, planned: Plan, split: SplitSummary | None = None) -> dict[str, Any]:
    """One job's row; ``split``: which recordings run as chunks (``split``, ``chunks``) and which
    stay one session though long (``one_session``: with --diarize)."""
    split = split or SplitSummary()
    counts = planned.counts
    seconds = planned.audio_seconds
    at_service = settings.engine == "batch"  # no sessions here, no wall time of ours
    wall = 0.0 if at_service else wall_estimate(settings, planned, split)
    return {
        "job": settings.job_name or ", ".join(str(p) for p in settings.inputs),
        "new": counts.new,
        "changed": counts.changed,
        "forced": counts.forced,
        "failed_before": counts.failed_before,
        "to_send": len(planned.items),
        "to_do": len(planned.items),  # the name before to_send; kept for scripts that read it
        "audio": hms(seconds),
        "audio_seconds": round(seconds, 3),
        "audio_hours": round(seconds / 3600, 4),
        "estimated_cost": round(seconds / 3600 * settings.price_per_hour, 2),
        "currency": settings.currency,
        "engine": settings.engine,
        "sessions": 0 if at_service else settings.capacity,
        "wall_estimate": AT_THE_SERVICE if at_service else hms(wall),
        "wall_estimate_seconds": round(wall, 1),
        "resources": [e.name for e in settings.resources] if len(settings.resources) > 1 else [],
        "resources_text": resources_text(settings),
        "done": counts.skipped_done,
        "rerender": counts.rerendered,
        "still_failing": counts.known_failures,
        "not_audio": len(planned.failed_probe),
        "not_settled": counts.not_settled,
        "split": split.split_files,
        "chunks": split.chunks,
        "one_session": split.one_session,
        **plan_columns(planned.summaries),  # --summarize (issue 21)
    }


def total_row(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {"job": "total"}
    for column in COLUMNS[1:]:
        if column == "audio":
            total[column] = hms(sum(r["audio_seconds"] for r in rows))
        elif column == "wall_estimate":  # the jobs run one after another
            ours = [r["wall_estimate_seconds"] for r in rows if r.get("wall_estimate") != AT_THE_SERVICE]
            total[column] = hms(sum(ours)) if ours else AT_THE_SERVICE
        elif column == "sessions":
            total[column] = max(r[column] for r in rows)
        elif column == "estimated_cost" and len({r.get("currency", "") for r in rows}) > 1:
            total[column] = None  # amounts in different currencies do not add up
        else:
            total[column] = round(sum(r[column] for r in rows), 2)
    currencies = {r.get("currency", "") for r in rows}
    total["currency"] = currencies.pop() if len(currencies) == 1 else ""
    return total


def _cell(row: Mapping[str, Any], column: str) -> str:
    if column == "estimated_cost":
        return _cost(row)
    if column == "sessions" and row.get("engine") == "batch":
        return "-"  # transcribed at the service: no sessions of ours
    return str(row[column])


def _cost(row: Mapping[str, Any]) -> str:
    """``12.40 USD``: the amount with its currency ("-" for a total over several currencies)."""
    if row["estimated_cost"] is None:
        return "-"
    return f"{row['estimated_cost']:.2f} {row.get('currency', '')}".strip()


def render_plan(rows: Sequence[dict[str, Any]], console: Console, *, as_json: bool) -> None:
    if as_json:
        console.print(Text(json.dumps(list(rows), indent=2)), soft_wrap=True)
        return
    _render_table(rows, console)
    for line in plan_lines(rows):  # --summarize (issue 21)
        console.print(Text(line), soft_wrap=True)


def _render_table(rows: Sequence[dict[str, Any]], console: Console) -> None:
    shown = [*rows, total_row(rows)] if len(rows) > 1 else list(rows)
    header = [c.replace("_", " ") for c in COLUMNS]
    cells = [[_cell(r, c) for c in COLUMNS] for r in shown]
    spread = [f"{r['job']}: {r['resources_text']}" for r in rows if r.get("resources_text")]
    if not console.is_terminal:  # cron, a pipe: plain columns that never wrap
        for line in plain_table(header, cells, indent=""):
            console.print(Text(line), soft_wrap=True)
        for line in spread:
            console.print(Text(f"resources of {line}"), soft_wrap=True)
        return
    # A terminal table shows only the columns with something in them, so it fits 120 columns.
    kept = [i for i, c in enumerate(COLUMNS) if c in ALWAYS_SHOWN or any(r[c] for r in shown)]
    table = Table(title="Plan", title_justify="left", box=box.HEAVY_HEAD if utf8_locale() else box.ASCII)
    for i in kept:
        table.add_column(header[i], justify="left" if i == 0 else "right", overflow="fold")
    for index, row in enumerate(cells):
        last_job = len(rows) > 1 and index == len(cells) - 2  # a rule above the total row
        table.add_row(*(Text(row[i]) for i in kept), end_section=last_job)
    console.print(table)
    for line in spread:
        console.print(Text(f"Resources of {line}"), soft_wrap=True)
