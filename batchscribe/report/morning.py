"""What a reviewer asks first the next morning, as summary.json rows every rendering shares.

The estimated cost (with its currency; none for an emulated run), the quality triage of each
transcript (``triage``), which service answered (an emulated run must not pass for a real one), the
settings in words, why each retried file was retried (attempt by attempt), which files were not
sent because they are not audio, where each transcript is, and which files still fail from
earlier nights (not sent again, not counted as tonight's failures).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from batchscribe.names import shown
from batchscribe.report.triage import thresholds_from, triage_outputs
from batchscribe.results import RunResult
from batchscribe.secrets import Redactor

EMULATOR_NOTE = "emulator: a local stand-in, transcripts are placeholders unless scripted"


DEFAULT_CURRENCY = "USD"  # the currency of Azure's list price that ``price_per_hour`` defaults to


def is_emulated(settings: Mapping[str, Any]) -> bool:
    return str(settings.get("endpoint", "")).startswith("emulator")


def cost_row(result: RunResult) -> dict[str, Any] | None:
    """The estimated cost, in the price's currency; None for an emulated run (nothing was paid)."""
    if is_emulated(result.settings):
        return None
    price = result.settings.get("price_per_hour")
    hours = result.audio_seconds / 3600
    per_hour = float(price) if isinstance(price, int | float) else 0.0
    return {
        "audio_hours": round(hours, 4),
        "price_per_hour": per_hour,
        "estimated": round(hours * per_hour, 2),
        "currency": str(result.settings.get("currency") or DEFAULT_CURRENCY),
    }


def money(cost: Mapping[str, Any] | None) -> str:
    """``12.40 USD``, or "" when the run had no cost (emulated, or summaries before currencies)."""
    if not cost:
        return ""
    return f"{cost['estimated']:.2f} {cost.get('currency', DEFAULT_CURRENCY)}"


def service_text(settings: Mapping[str, Any]) -> str:
    resources = settings.get("resources")
    if isinstance(resources, list) and len(resources) > 1:
        return f"{len(resources)} Speech resources: {', '.join(str(r) for r in resources)}"
    endpoint = str(settings.get("endpoint", ""))
    if is_emulated(settings):
        return EMULATOR_NOTE
    kind, _, where = endpoint.partition(":")
    names = {"region": "Azure AI Speech, region", "endpoint": "Azure AI Speech, endpoint",
             "host": "Speech container or host"}  # fmt: skip
    return f"{names.get(kind, kind)} {where}".strip() if where else endpoint


def retry_rows(result: RunResult, mask: Redactor) -> list[dict[str, Any]]:
    """Per retried file: each attempt with its outcome, class and reason."""
    return [
        {
            "source": shown(f.source),
            "status": f.status,
            "attempts": [
                {
                    "attempt": n,
                    "outcome": a.outcome,
                    "class": a.error_class,
                    "code": a.error_code,
                    "reason": mask(a.reason),
                }
                for n, a in enumerate(f.timeline, start=1)
            ],
        }
        for f in sorted(result.files, key=lambda f: f.source)
        if f.attempts > 1
    ]


def not_sent_rows(result: RunResult, mask: Redactor) -> list[dict[str, Any]]:
    """Files that failed before any session: not audio, unreadable, too long to diarize."""
    return [
        {"source": shown(f.source), "code": f.failure.code, "reason": shown(mask(f.failure.message))}
        for f in sorted(result.failed, key=lambda f: f.source)
        if f.attempts == 0 and f.failure is not None
    ]


def still_failing_rows(result: RunResult, mask: Redactor) -> list[dict[str, Any]]:
    return [
        {"source": shown(k.source), "code": k.code, "message": shown(mask(k.message)), "since": k.since}
        for k in sorted(result.still_failing, key=lambda k: k.source)
    ]


def transcript_rows(result: RunResult, out: Path) -> dict[str, list[str]]:
    """Each transcribed file (as shown) and its outputs, relative to the output folder, as URL paths:
    percent-encoded from the name's bytes on disk, so any name links right and stays valid UTF-8."""
    return {
        shown(source): [quote(_relative(p, out), errors="surrogateescape") for p in outputs]
        for source, outputs in result.transcript_outputs()
    }


def report_link(url_path: str) -> str:
    """A link from a run's report folder (``<out>/_runs/<id>/``) to an output (``transcript_rows``)."""
    return "../../" + url_path


def _relative(path: Path, out: Path) -> str:
    try:
        return Path(os.path.relpath(path, out)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def readable_settings(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value in words) for every setting, nested ones flattened: ``Recognition language``."""
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        label = key.replace("_", " ").capitalize()
        if isinstance(value, Mapping):
            rows += [(f"{label}: {sub.lower()}", text) for sub, text in readable_settings(value)]
        else:
            rows.append((label, _words(value)))
    return rows


def _words(value: object) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_words(v) for v in value) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if str(value) else "none"


def morning_rows(result: RunResult) -> dict[str, Any]:
    """The summary.json keys this module adds."""
    mask = Redactor()
    out = Path(str(result.settings.get("out", ".")))
    return {
        "cost": cost_row(result),
        "service": service_text(result.settings),
        "retries": retry_rows(result, mask),
        "not_sent": not_sent_rows(result, mask),
        "still_failing": still_failing_rows(result, mask),
        "transcripts": transcript_rows(result, out),
        "quality": triage_outputs(
            result.transcript_outputs(),
            thresholds_from(result.settings),
            lambda path: quote(_relative(path, out), errors="surrogateescape"),
        ),
    }
