"""Fast transcription's request and answer, in batchscribe's terms (AZURE_REST.md, "Fast").

- ``definition(options, channels)``: the ``definition`` part of the multipart request from the
  recognition settings (``locales``, ``diarization``, ``channels``, ``profanityFilterMode``,
  ``phraseList``).
- ``limitations(options)``: what the fast API cannot do with these settings, said once in ``plan``
  and in each file's warnings; ``refusal(options)``: a setting it cannot honour at all (exit 2).
- ``transcript_phrases(document, channel)``: the 200 answer as ``Phrase``s in 100-ns ticks, so the
  writers produce the same JSON, text and subtitles as for the real-time engine.
- ``FastLimits``: the service's limits and the engine's pacing, as settings so tests can shrink
  them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchscribe.audio import BYTES_PER_SECOND
from batchscribe.engines.base import EMULATOR_PLACEHOLDER_FIELD, Phrase, RecognitionOptions, Word
from batchscribe.errors import UsageError

API_VERSION = "2025-10-15"
TRANSCRIBE_PATH = "/speechtotext/transcriptions:transcribe"
TICKS_PER_MS = 10_000
DEFAULT_MAX_SPEAKERS = 2
WAV_HEADER_BYTES = 44
PROFANITY_MODES = {"masked": "Masked", "removed": "Removed", "raw": "None"}


@dataclass(frozen=True)
class FastLimits:
    """The fast API's limits per request and the engine's pacing per resource."""

    max_seconds: float = 2 * 3600.0  # "under 2 hours" (docs 2026-01)
    max_bytes: int = 300 * 1000 * 1000  # "under 300 MB"
    requests_per_minute: int = 600  # per resource, the service's default
    timeout_base_s: float = 60.0  # a request may take this long plus ...
    timeout_per_audio_s: float = 0.5  # ... this much per second of audio before it is given up

    def __post_init__(self) -> None:
        if self.max_seconds <= 0 or self.max_bytes <= WAV_HEADER_BYTES or self.requests_per_minute < 1:
            raise UsageError("fast transcription limits must be above 0")

    @property
    def part_seconds(self) -> float:
        """The longest part a request may carry: within both limits once sent as 16 kHz WAV."""
        by_size = (self.max_bytes - WAV_HEADER_BYTES) / BYTES_PER_SECOND
        return min(self.max_seconds, by_size)

    def timeout_s(self, audio_seconds: float) -> float:
        return self.timeout_base_s + self.timeout_per_audio_s * max(0.0, audio_seconds)


def refusal(options: RecognitionOptions) -> UsageError | None:
    """A setting fast transcription cannot honour at all, or None."""
    if options.endpoint_id:
        return UsageError(
            "--endpoint-id (a custom speech model) cannot be used with --engine fast",
            hint="use --engine realtime for a custom model, or drop --endpoint-id",
        )
    return None


def limitations(options: RecognitionOptions) -> tuple[str, ...]:
    """What the fast API leaves out with these settings (empty: nothing)."""
    notes = []
    if options.detailed:
        notes.append("the fast engine returns display text only: lexical, ITN and masked ITN forms are empty")
    if options.word_timestamps:
        notes.append("the fast engine gives word timings but no per-word confidence")
    return tuple(notes)


def definition(
    options: RecognitionOptions, *, channels: Sequence[int] = (), max_speakers: int = DEFAULT_MAX_SPEAKERS
) -> dict[str, Any]:
    """The request's ``definition`` JSON for these settings."""
    doc: dict[str, Any] = {"locales": list(options.languages) or [options.language]}
    if options.diarize:
        doc["diarization"] = {"enabled": True, "maxSpeakers": max_speakers}
    if channels:
        doc["channels"] = list(channels)
    doc["profanityFilterMode"] = PROFANITY_MODES.get(options.profanity, "Masked")
    if options.phrases:
        doc["phraseList"] = {"phrases": list(options.phrases)}
    return doc


def _ticks(value: Any) -> int:
    try:
        return max(0, round(float(value) * TICKS_PER_MS))
    except (TypeError, ValueError):
        return 0


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _speaker(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _word(data: Mapping[str, Any]) -> Word | None:
    text = str(data.get("text") or "").strip()
    if not text:
        return None
    return Word(text, _ticks(data.get("offsetMilliseconds")), _ticks(data.get("durationMilliseconds")))


def _phrase(data: Mapping[str, Any], channel: int | None, with_words: bool) -> Phrase | None:
    text = str(data.get("text") or "").strip()
    if not text:
        return None
    listed = data.get("words") or () if with_words else ()
    words = tuple(w for w in (_word(x) for x in listed if isinstance(x, Mapping)) if w)
    answered = data.get("channel")
    return Phrase(
        offset_ticks=_ticks(data.get("offsetMilliseconds")),
        duration_ticks=_ticks(data.get("durationMilliseconds")),
        display=text,
        confidence=_number(data.get("confidence")),
        words=words,
        channel=channel if channel is not None else int(answered or 0),
        speaker=_speaker(data.get("speaker")),
        locale=str(data["locale"]) if data.get("locale") else None,
        placeholder=bool(data.get(EMULATOR_PLACEHOLDER_FIELD)),
    )


class AnswerError(ValueError):
    """The 200 answer is not the document fast transcription returns."""


def transcript_phrases(
    document: Any, *, channel: int | None = None, words: bool = True
) -> tuple[Phrase, ...]:
    """The phrases of a 200 answer in time order; ``channel``: the one channel that was sent
    (None: the answer's own ``channel`` fields, 0 when absent); ``words``: keep word timings (as
    the real-time engine does only with ``--word-timestamps``)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("phrases", []), list):
        raise AnswerError("the answer has no list of phrases")
    phrases = [
        p
        for p in (_phrase(x, channel, words) for x in document.get("phrases") or () if isinstance(x, Mapping))
        if p
    ]
    return tuple(sorted(phrases, key=lambda p: (p.offset_ticks, p.channel)))
