"""Quality triage: which transcripts are probably wrong although the service returned them.

Each check reads what the service returned, from the per-file JSON (Azure's batch shape: phrases
with offsets, durations, confidences, words and locales) and the recording's length:

- ``no_speech``: not one phrase with text (high)
- ``confidence``: mean word confidence (phrase confidence when there are no words) below
  ``low_confidence`` (medium) or ``very_low_confidence`` (high)
- ``doubtful_words``: a large share of words below ``low_word_confidence`` (low)
- ``language``: the language identified for most of the speech is not one that was expected
  (high; medium when only the region differs, en-GB for en-US)
- ``ends_early``: the last phrase ends long before the audio does (medium)
- ``silence``: a long stretch inside the audio with no phrase on any channel (low)
- ``speech_rate``: words per minute of speech outside the usual range (low)

Thresholds are ``QualityThresholds`` (outputs/quality.py, the one place for the defaults; a run's
``quality:`` settings override them). Transcripts made of the emulator's placeholder text are
not triaged: they say nothing about the audio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchscribe.engines.base import TICKS_PER_SECOND
from batchscribe.names import shown
from batchscribe.outputs.azure_json import TranscriptDocumentError, read_transcript_document
from batchscribe.outputs.quality import (
    DEFAULT_THRESHOLDS,
    PLACEHOLDER_WARNING,
    TRIAGED_WARNINGS,
    QualityThresholds,
)
from batchscribe.outputs.timefmt import human_seconds

SEVERITIES = ("high", "medium", "low")  # most serious first
MAX_ROWS = 500  # flagged recordings listed in summary.json; the counts are always complete
MIN_WORDS_FOR_SHARE = 20


@dataclass(frozen=True)
class Flag:
    check: str
    severity: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "severity": self.severity, "detail": self.detail}


def thresholds_from(settings: Mapping[str, Any]) -> QualityThresholds:
    """The run's thresholds: the defaults, with what its ``quality`` settings block overrides."""
    block = settings.get("quality")
    if not isinstance(block, Mapping):
        return DEFAULT_THRESHOLDS
    known = DEFAULT_THRESHOLDS.as_dict()
    given = {k: float(v) for k, v in block.items() if k in known and isinstance(v, int | float)}
    return QualityThresholds(**{**known, **given})


def triage_document(
    document: Mapping[str, Any], limits: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[Flag]:
    """The flags one per-file JSON earns, most serious first (none: it looks fine)."""
    ours = document.get("batchscribe") or {}
    if any(str(w).startswith(PLACEHOLDER_WARNING[:16]) for w in ours.get("warnings", ())):
        return []
    phrases = [p for p in document.get("recognizedPhrases", ()) if _best(p).get("display", "").strip()]
    if not phrases:
        return [Flag("no_speech", "high", "no speech recognized")]
    audio_s = document.get("durationInTicks", 0) / TICKS_PER_SECOND
    flags = [
        *_confidence(phrases, limits),
        *_language(phrases, ours.get("settings") or {}),
        *_ends_early(phrases, audio_s, limits),
        *_silence(phrases, limits),
        *_rate(phrases, limits),
    ]
    return sorted(flags, key=lambda f: SEVERITIES.index(f.severity))


def _best(phrase: Mapping[str, Any]) -> Mapping[str, Any]:
    best = phrase.get("nBest") or [{}]
    return best[0] if isinstance(best[0], Mapping) else {}


def _words(phrases: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [w for p in phrases for w in _best(p).get("words", ()) if isinstance(w, Mapping)]


def _word_count(phrases: Sequence[Mapping[str, Any]]) -> int:
    timed = _words(phrases)
    return len(timed) or sum(len(str(_best(p).get("display", "")).split()) for p in phrases)


def _span(phrase: Mapping[str, Any]) -> tuple[int, int]:
    start = int(phrase.get("offsetInTicks", 0))
    return start, start + int(phrase.get("durationInTicks", 0))


def _confidence(phrases: Sequence[Mapping[str, Any]], limits: QualityThresholds) -> list[Flag]:
    scores = [float(w["confidence"]) for w in _words(phrases) if isinstance(w.get("confidence"), int | float)]
    if scores:
        mean = sum(scores) / len(scores)
    else:  # no word confidences: phrase confidences weighted by duration (an "uh" counts little)
        weighted = [
            (float(_best(p)["confidence"]), max(_span(p)[1] - _span(p)[0], 1))
            for p in phrases
            if isinstance(_best(p).get("confidence"), int | float)
        ]
        total = sum(w for _, w in weighted)
        if not total:
            return []
        mean = sum(c * w for c, w in weighted) / total
    flags = []
    if mean < limits.very_low_confidence:
        flags.append(Flag("confidence", "high", f"very low mean confidence {mean:.2f}"))
    elif mean < limits.low_confidence:
        flags.append(Flag("confidence", "medium", f"low mean confidence {mean:.2f}"))
    if len(scores) >= MIN_WORDS_FOR_SHARE:
        doubtful = sum(s < limits.low_word_confidence for s in scores) / len(scores)
        if doubtful >= limits.low_word_share:
            flags.append(Flag(
                "doubtful_words", "low",
                f"{doubtful:.0%} of words below confidence {limits.low_word_confidence:g}",
            ))  # fmt: skip
    return flags


def _language(phrases: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]) -> list[Flag]:
    heard: dict[str, int] = {}
    for p in phrases:
        if p.get("locale"):
            start, end = _span(p)
            heard[str(p["locale"])] = heard.get(str(p["locale"]), 0) + max(end - start, 1)
    expected = [str(x) for x in settings.get("languages") or ()] or [str(settings.get("language", ""))]
    expected = [x for x in expected if x]
    if not heard or not expected:
        return []
    main = max(heard, key=lambda k: (heard[k], k))
    lowered = {x.lower() for x in expected}
    if main.lower() in lowered:
        return []
    share = heard[main] / sum(heard.values())
    near = main.split("-")[0].lower() in {x.split("-")[0] for x in lowered}
    detail = f"identified {main} for {share:.0%} of the speech, expected {', '.join(expected)}"
    return [Flag("language", "medium" if near else "high", detail)]


def _ends_early(
    phrases: Sequence[Mapping[str, Any]], audio_s: float, limits: QualityThresholds
) -> list[Flag]:
    last = max(_span(p)[1] for p in phrases) / TICKS_PER_SECOND
    gap = audio_s - last
    if gap >= limits.ends_early_s and gap >= limits.ends_early_share * audio_s:
        return [Flag(
            "ends_early", "medium",
            f"transcript ends at {human_seconds(last)}, the audio runs to {human_seconds(audio_s)}",
        )]  # fmt: skip
    return []


def _silence(phrases: Sequence[Mapping[str, Any]], limits: QualityThresholds) -> list[Flag]:
    """The longest stretch from the start (or a phrase's end) to the next phrase on any channel;
    the tail after the last phrase is ``ends_early``'s."""
    longest, at, reached = 0, 0, 0
    for start, end in sorted(_span(p) for p in phrases):
        if start - reached > longest:
            longest, at = start - reached, reached
        reached = max(reached, end)
    seconds = longest / TICKS_PER_SECOND
    if seconds >= limits.silent_gap_s:
        where = human_seconds(at / TICKS_PER_SECOND)
        return [Flag("silence", "low", f"no speech recognized for {human_seconds(seconds)} from {where}")]
    return []


def _rate(phrases: Sequence[Mapping[str, Any]], limits: QualityThresholds) -> list[Flag]:
    speech_s = sum(_span(p)[1] - _span(p)[0] for p in phrases) / TICKS_PER_SECOND
    if speech_s < limits.rate_min_speech_s:
        return []
    per_minute = _word_count(phrases) / (speech_s / 60)
    if per_minute < limits.min_words_per_minute:
        return [Flag("speech_rate", "low", f"only {per_minute:.0f} words per minute of speech")]
    if per_minute > limits.max_words_per_minute:
        return [Flag("speech_rate", "low", f"{per_minute:.0f} words per minute of speech")]
    return []


def _readable(outputs: Sequence[Path], document: Path) -> Path:
    """What a reviewer opens: the plain text when it was written, else the JSON."""
    return next((p for p in outputs if p.suffix == ".txt"), document)


def triage_outputs(
    transcripts: Iterable[tuple[str, Sequence[Path]]], limits: QualityThresholds, link: Any
) -> dict[str, Any]:
    """summary.json's ``quality`` block: each transcribed recording's per-file JSON triaged.

    ``link(path)`` turns an output path (the .txt when there is one) into the URL path the
    report links to.
    """
    checked, rows = 0, []
    counts = dict.fromkeys(SEVERITIES, 0)
    for source, outputs in transcripts:
        document_path = next((p for p in outputs if p.suffix == ".json"), None)
        if document_path is None:
            continue
        try:
            document = read_transcript_document(document_path)
        except TranscriptDocumentError:
            continue  # moved or damaged since it was written: nothing to judge
        checked += 1
        flags = triage_document(document, limits)
        if not flags:
            continue
        counts[flags[0].severity] += 1
        rows.append({
            "source": shown(source), "severity": flags[0].severity,
            "flags": [f.as_dict() for f in flags], "link": link(_readable(outputs, document_path)),
        })  # fmt: skip
    rows.sort(key=lambda r: (SEVERITIES.index(r["severity"]), -len(r["flags"]), r["source"]))
    return {
        "checked": checked,
        "flagged": len(rows),
        "by_severity": counts,
        "recordings": rows[:MAX_ROWS],
        "thresholds": limits.as_dict(),
    }


def unflagged_warnings(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """summary.json's warnings less the quality ones of recordings the triage flagged (their flags
    say it, with the severity): what the reports list as warnings, so nothing shows twice."""
    quality = summary.get("quality") or {}
    flagged = {row["source"] for row in quality.get("recordings", ())}
    return [
        w for w in summary["warnings"]
        if not (w["source"] in flagged and str(w["warning"]).startswith(TRIAGED_WARNINGS))
    ]  # fmt: skip
