"""Build the JSON bodies the service sends, honouring what the client asked for.

``OutputOptions`` merges the connection's URL query with the turn's ``speech.context``: simple or
detailed format, word timings and confidences, profanity handling, language, language
identification candidates and diarization. Offsets and durations are 100-ns ticks relative to the
turn's first PCM byte; phrase ends are rounded up to whole milliseconds so that the SDK's
acknowledgement (kept in ms) covers every byte (USP_PROTOCOL.md section 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from batchscribe.emulator.answers import Answer
from batchscribe.engines.base import EMULATOR_PLACEHOLDER_FIELD

TICKS_PER_SECOND = 10_000_000
TICKS_PER_MS = 10_000
DEFAULT_CONFIDENCE = 0.92
PROFANE = frozenset({"damn", "shit", "fuck", "fucking", "crap", "bastard", "bitch", "asshole"})
_WORD_EDGE = re.compile(r"^[^\w']+|[^\w']+$")


def ceil_ms(ticks: int) -> int:
    return -(-ticks // TICKS_PER_MS) * TICKS_PER_MS


def floor_ms(ticks: int) -> int:
    return ticks // TICKS_PER_MS * TICKS_PER_MS


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def dig(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class OutputOptions:
    detailed: bool = False
    word_timings: bool = False
    word_confidence: bool = False
    profanity: str = "masked"  # masked | removed | raw
    language: str = "en-US"
    lid_languages: tuple[str, ...] = ()
    diarization: bool = False

    @classmethod
    def from_request(
        cls, path: str, query: Mapping[str, str], context: Mapping[str, Any] | None
    ) -> OutputOptions:
        ctx = context or {}
        detailed_opts = dig(ctx, "phraseOutput", "detailed", "options") or []
        lid = [s for s in (query.get("lidEnabled") or "").split(",") if s and s != "true"]
        lid = lid or list(dig(ctx, "languageId", "languages") or [])
        profanity = dig(ctx, "phraseDetection", "enrichment", "profanity") or query.get("profanity")
        return cls(
            detailed=(query.get("format", "").lower() == "detailed")
            or str(dig(ctx, "phraseOutput", "format") or "").lower() == "detailed",
            word_timings=_truthy(query.get("wordLevelTimestamps")) or "WordTimings" in detailed_opts,
            word_confidence=_truthy(query.get("wordLevelConfidence")) or "WordConfidence" in detailed_opts,
            profanity=str(profanity or "masked").lower(),
            language=str(dig(ctx, "phraseDetection", "language") or query.get("language") or "en-US"),
            lid_languages=tuple(str(x) for x in lid),
            diarization=dig(ctx, "phraseDetection", "speakerDiarization") is not None
            or (path.rstrip("/").endswith("/speech/universal/v2") and not ctx),
        )


def _lexical(word: str) -> str:
    return _WORD_EDGE.sub("", word).lower()


def _is_profane(word: str) -> bool:
    return _lexical(word) in PROFANE


def _mask(word: str) -> str:
    return re.sub(r"[\w']", "*", word)


def display_text(text: str, profanity: str) -> str:
    words = text.split(" ")
    if profanity == "raw":
        return text
    if profanity == "removed":
        return " ".join(w for w in words if not _is_profane(w))
    return " ".join(_mask(w) if _is_profane(w) else w for w in words)


def _extras(answer: Answer | None, options: OutputOptions) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if options.lid_languages:
        language = (answer.language if answer else None) or options.lid_languages[0]
        extras["PrimaryLanguage"] = {"Language": language, "Confidence": "High"}
    if options.diarization:
        extras["SpeakerId"] = (answer.speaker if answer else None) or "Guest-1"
    return extras


def _words(answer: Answer, offset: int, duration: int, options: OutputOptions) -> list[dict[str, Any]]:
    """Word timings spread over the phrase in proportion to word length, inside the phrase."""
    tokens = [w for w in (answer.words or tuple(answer.text.split())) if _lexical(w)]
    if not tokens:
        return []
    weights = [len(_lexical(w)) + 1 for w in tokens]
    total, words, done = sum(weights), [], 0
    for token, weight in zip(tokens, weights, strict=True):
        start = offset + duration * done // total
        done += weight
        end = offset + duration * done // total
        word: dict[str, Any] = {"Word": _lexical(token), "Offset": start, "Duration": end - start}
        if options.word_confidence:
            word["Confidence"] = answer.confidence or DEFAULT_CONFIDENCE
        words.append(word)
    return words


def phrase(answer: Answer, offset: int, end: int, options: OutputOptions) -> dict[str, Any]:
    """A Success ``speech.phrase`` covering [offset, end) ticks (end rounded up to ms)."""
    offset, end = floor_ms(offset), ceil_ms(end)
    display = display_text(answer.text, options.profanity)
    body: dict[str, Any] = {
        "RecognitionStatus": "Success",
        "Offset": offset,
        "Duration": end - offset,
        "DisplayText": display,
    }
    if options.detailed:
        lexical = " ".join(x for x in (_lexical(w) for w in answer.text.split()) if x)
        best: dict[str, Any] = {
            "Confidence": answer.confidence or DEFAULT_CONFIDENCE,
            "Lexical": lexical,
            "ITN": lexical,
            "MaskedITN": display_text(lexical, "masked"),
            "Display": display,
        }
        if options.word_timings:
            best["Words"] = _words(answer, offset, end - offset, options)
        body["NBest"] = [best]
    body.update(_extras(answer, options))
    body["Channel"] = 0
    if answer.placeholder:  # not a field of the live service: only the emulator says this
        body[EMULATOR_PLACEHOLDER_FIELD] = True
    return body


def no_match(offset: int, end: int, options: OutputOptions, status: str = "NoMatch") -> dict[str, Any]:
    """A phrase without text that still acknowledges [offset, end) ticks."""
    offset, end = floor_ms(offset), ceil_ms(end)
    body: dict[str, Any] = {"RecognitionStatus": status, "Offset": offset, "Duration": end - offset}
    body.update(_extras(None, options))
    return body


def hypothesis(
    text: str, offset: int, end: int, options: OutputOptions, answer: Answer | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Text": display_text(text, options.profanity),
        "Offset": floor_ms(offset),
        "Duration": end - floor_ms(offset),
    }
    body.update(_extras(answer, options))
    return body
