"""``summary.json``: a run's outcome as versioned data, and the rows every rendering shares.

The document is built from a ``RunResult`` once; ``summary.md``, the console table and
``batchscribe report`` all render from this dict, so they cannot disagree. Keys are written
sorted; ``schema_version`` changes only when a key changes meaning or disappears (adding one is
compatible). ``counts`` holds every ``RunCounts`` field plus what the run itself produced
(succeeded, failed, retried, cancelled).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from batchscribe import __version__
from batchscribe.names import shown
from batchscribe.outputs.quality import LOW_CONFIDENCE_BELOW, LOW_CONFIDENCE_WARNING, low_confidence_warning
from batchscribe.outputs.sanitize import public_settings
from batchscribe.outputs.timefmt import human_seconds, utc_iso
from batchscribe.report.digest import digest_rows
from batchscribe.report.morning import morning_rows
from batchscribe.secrets import Redactor

if TYPE_CHECKING:
    from batchscribe.resources.rotation import ResourceStats
    from batchscribe.results import FileResult, RunResult

# 2: ``cost`` is null for an emulated run and has a ``currency``; ``quality`` (the triage) added.
SCHEMA_VERSION = 2
SLOWEST_COUNT = 10
UNKNOWN_FAILURE_HINT = "see the run log for this file"


def summary_document(result: RunResult) -> dict[str, Any]:
    """The content of ``summary.json`` (JSON values only, no secrets)."""
    mask = Redactor()  # no known secret here; masks anything shaped like a key header
    counts = {
        **asdict(result.counts),
        "succeeded": result.succeeded_count,
        "failed": result.failed_count,
        "retried": result.retried_count,
        "cancelled": result.cancelled_count,
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "version": __version__,
        "run_id": result.run_id,
        "started_at": utc_iso(result.started_at),
        "ended_at": utc_iso(result.ended_at),
        "settings": public_settings(result.settings),
        "counts": counts,
        "audio_seconds": round(result.audio_seconds, 3),
        "wall_seconds": round(result.wall_seconds, 3),
        "throughput": round(result.throughput, 3),
        "aborted": shown(mask(result.aborted)),
        "interrupted": result.interrupted,
        "stop_reason": shown(result.stop_reason),
        "at_service": shown(result.at_service),
        "exit_code": result.exit_code,
        "failures": [failure_row(f, mask) for f in sorted(result.failed, key=lambda f: f.source)],
        "cancelled": sorted(shown(f.source) for f in result.cancelled),
        "warnings": [
            {"source": shown(f.source), "warning": warning}
            for f in sorted(result.files, key=lambda f: f.source)
            for warning in file_warnings(f)
        ],
        "slowest": [slow_row(f) for f in slowest(result.files)],
        **({"resources": [resource_row(r, mask) for r in result.resources]} if result.resources else {}),
        **morning_rows(result),
        **digest_rows(result),  # --summarize (issue 21)
    }


def resource_row(stats: ResourceStats, mask: Redactor) -> dict[str, Any]:
    """One Speech resource's share of the run (several resources only)."""
    return {
        "name": stats.name,
        "state": stats.state,
        "sessions": stats.sessions,
        "audio_seconds": round(stats.audio_seconds, 3),
        "throttled": stats.throttled,
        "failures": dict(sorted(stats.failures.items())),
        "quarantines": stats.quarantines,
        "quarantined_s": round(stats.quarantined_s, 3),
        "reasons": [mask(reason) for reason in stats.reasons],
        "peak_active": stats.peak_active,
    }


RESOURCE_HEADER = ("Resource", "Sessions", "Audio", "Throttled", "Failed", "Out of rotation", "Why")


def resource_table(summary: Mapping[str, Any]) -> list[list[str]]:
    """The rows every rendering shows under ``RESOURCE_HEADER`` (none with one resource)."""
    rows = []
    for row in summary.get("resources", ()):
        failed = sum(row["failures"].values())
        kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in row["failures"].items())
        out = human_seconds(row["quarantined_s"]) if row["quarantines"] else "-"
        if row["state"] == "disabled":
            out += " (left out for the run)"
        rows.append([
            row["name"], str(row["sessions"]), human_seconds(row["audio_seconds"]), str(row["throttled"]),
            f"{failed} ({kinds})" if failed else "0", out, "; ".join(row["reasons"]) or "-",
        ])  # fmt: skip
    return rows


def render_summary_json(summary: Mapping[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def failure_row(file: FileResult, mask: Redactor) -> dict[str, Any]:
    failure = file.failure
    if failure is None:  # a failed file should carry its Failure; never lose the row if not
        return {
            "source": shown(file.source), "code": "unknown", "class": "unknown", "sdk_code": "",
            "message": "failed without a recorded cause", "detail": "",
            "attempts": file.attempts, "hint": UNKNOWN_FAILURE_HINT,
        }  # fmt: skip
    return {
        "source": shown(file.source),
        "code": failure.code,
        "class": failure.error_class,
        "sdk_code": failure.sdk_code,
        "message": shown(mask(failure.message)),
        "detail": shown(mask(failure.detail)),
        "attempts": file.attempts,
        "hint": failure.hint or UNKNOWN_FAILURE_HINT,
    }


def file_warnings(file: FileResult) -> tuple[str, ...]:
    """The file's warnings, plus low confidence when only the number was recorded."""
    warnings = list(file.warnings)
    confidence = file.average_confidence
    already = any(w.startswith(LOW_CONFIDENCE_WARNING) for w in warnings)
    if confidence is not None and confidence < LOW_CONFIDENCE_BELOW and not already:
        warnings.append(low_confidence_warning(confidence))
    return tuple(warnings)


def slowest(files: Sequence[FileResult], count: int = SLOWEST_COUNT) -> list[FileResult]:
    ran = [f for f in files if f.elapsed_s > 0]
    return sorted(ran, key=lambda f: (-f.elapsed_s, f.source))[:count]


def slow_row(file: FileResult) -> dict[str, Any]:
    return {
        "source": shown(file.source),
        "status": file.status,
        "elapsed_s": round(file.elapsed_s, 3),
        "audio_seconds": round(file.audio_seconds, 3),
        "attempts": file.attempts,
    }


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def headline(summary: Mapping[str, Any]) -> str:
    """One sentence a reviewer reads first (and one more on the summaries, with ``--summarize``)."""
    clause = _summaries_clause(summary)
    sentence = _transcripts_headline(summary, summaries_did_something=bool(clause))
    return f"{sentence} {clause}" if clause else sentence


def _summaries_clause(summary: Mapping[str, Any]) -> str:
    """What the summaries stage did, when it did anything: made, failed, refused, left, stopped."""
    block = summary.get("summaries")
    if not isinstance(block, Mapping):
        return ""
    if block.get("stopped"):
        return "Summaries stopped for this run; see why below."
    parts = [f"{block[key]} {label}" for key, label in (
        ("made", "made"), ("failed", "failed"), ("refused", "refused by the content filter"),
        ("not_scheduled", "left for the next run"),
    ) if block.get(key)]  # fmt: skip
    if not parts:
        return ""
    return f"Summaries: {', '.join(parts)}."


def _transcripts_headline(summary: Mapping[str, Any], *, summaries_did_something: bool) -> str:
    counts = summary["counts"]
    if summary["interrupted"]:
        return "Interrupted: unfinished files are picked up by the next run."
    if summary["aborted"]:
        return f"Aborted: {summary['aborted']}"
    ran = counts["succeeded"] + counts["failed"] + counts["cancelled"]
    if counts["failed"]:
        return f"{counts['failed']} of {plural(ran, 'file')} failed; see what to do below."
    if ran == 0 and summary["audio_seconds"] > 0:
        return (f"No recording finished: {human_seconds(summary['audio_seconds'])} of long recordings "
                "were sent in chunks; the next run sends the rest.")  # fmt: skip
    if ran == 0 and summary["stop_reason"]:  # e.g. batch jobs still at the service at --max-runtime
        return "No file finished in this run yet; see why it stopped."
    if ran == 0 and summary.get("at_service"):  # --no-wait: submitted, collected by the next run
        return "Nothing came back from the service yet; the next run collects it."
    if ran == 0:
        still = len(summary.get("still_failing", ()))
        known = f" ({plural(still, 'file')} still failing from earlier runs)" if still else ""
        what = "Nothing to transcribe" if summaries_did_something else "Nothing to do"
        return f"{what}: every file was already transcribed or not ready{known}."
    if counts["cancelled"]:
        return f"{plural(counts['succeeded'], 'file')} transcribed, {counts['cancelled']} cancelled."
    return f"All {plural(counts['succeeded'], 'file')} transcribed." if ran > 1 else "1 file transcribed."


def failure_causes(failures: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Failures grouped by code, most frequent first: one fix often clears many files."""
    causes: dict[str, dict[str, Any]] = {}
    for row in failures:
        cause = causes.setdefault(
            row["code"], {"code": row["code"], "class": row["class"], "files": 0, "hint": row["hint"]}
        )
        cause["files"] += 1
    return sorted(causes.values(), key=lambda c: (-c["files"], c["code"]))


COUNT_LABELS = (
    ("discovered", "Discovered"),
    ("new", "New"),
    ("changed", "Changed since done"),
    ("failed_before", "Failed before, tried again"),
    ("known_failures", "Still failing (not sent again)"),
    ("forced", "Done, redone (--force)"),
    ("skipped_done", "Already done (skipped)"),
    ("not_settled", "Still being written (skipped)"),
    ("changed_during_run", "Changed during the run"),
    ("not_scheduled", "Not scheduled"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("retried", "Retried"),
    ("cancelled", "Cancelled"),
    ("rerendered", "Outputs rendered from the JSON"),
    ("throttled", "Throttled by the service (times)"),
    ("peak_concurrency", "Peak sessions open"),
    ("final_concurrency", "Session limit at the end"),
)


ALWAYS_SHOWN = frozenset({"discovered", "skipped_done", "succeeded", "failed", "retried", "cancelled"})


def count_rows(summary: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(label, number) for the totals tables: the main counts always, the others when not 0."""
    counts: Mapping[str, int] = summary["counts"]
    known = dict(COUNT_LABELS)
    rows = [
        (label, counts[key])
        for key, label in COUNT_LABELS
        if key in counts and (key in ALWAYS_SHOWN or counts[key])
    ]
    rows += [
        (key.replace("_", " ").capitalize(), value)
        for key, value in counts.items()
        if key not in known and value
    ]
    return rows
