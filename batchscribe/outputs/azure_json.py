"""The per-file JSON: Azure batch transcription's result shape, plus a ``batchscribe`` block.

Code that reads Azure's batch results reads these files unchanged (see OUTPUTS.md): same field
names, same units (ticks of 100 ns, ISO 8601 durations). Fields are emitted only when they mean
something: ``speaker`` only for diarized phrases, ``locale`` only with language identification,
``confidence`` only when the recognizer gave one, ``words`` only with word timings. With the simple
output format ``lexical``/``itn``/``maskedITN`` stay empty rather than invented.

The JSON file is written last of a recording's outputs, so ``read_transcript_document`` (which
checks the shape) doubles as the test that a recording's outputs are complete.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchscribe import __version__
from batchscribe.engines.base import Phrase, Transcript, Word
from batchscribe.names import text_of
from batchscribe.outputs.quality import transcript_warnings
from batchscribe.outputs.sanitize import public_settings
from batchscribe.outputs.timefmt import iso_duration, ticks_from_seconds, utc_iso
from batchscribe.secrets import public_endpoint

if TYPE_CHECKING:  # an annotation only: the CLI starts without PyAV
    from batchscribe.audio import AudioInfo

SCHEMA_VERSION = 1


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class TranscriptMeta:
    """What the runner knows about how a transcript was made (the ``batchscribe`` block)."""

    engine: str  # "azure" or "emulator"; with --engine fast "azure-fast" or "emulator-fast"
    endpoint: str  # Endpoint.describe(): never a key
    settings: Mapping[str, object] = field(hash=False)  # RecognitionOptions.as_dict()
    sha256: str  # of the source file
    attempts: int
    started_at: datetime
    elapsed_s: float
    run_id: str
    version: str = __version__
    timestamp: datetime = field(default_factory=_now)  # when the transcript was made


class TranscriptDocumentError(ValueError):
    """A per-file JSON is missing, unreadable, or not in the shape batchscribe writes."""


def transcript_document(
    *, source: str, transcript: Transcript, audio: AudioInfo, meta: TranscriptMeta
) -> dict[str, Any]:
    """The per-file JSON document, keys in Azure's order."""
    phrases = sorted(transcript.phrases, key=lambda p: (p.offset_ticks, p.channel))
    audio_ticks = ticks_from_seconds(audio.duration_s)
    if audio_ticks <= 0 and phrases:  # the probe could not tell; the speech bounds it from below
        audio_ticks = max(p.end_ticks for p in phrases)
    return {
        "source": text_of(source),  # undecodable bytes escaped: the file is UTF-8
        "timestamp": utc_iso(meta.timestamp),
        "durationInTicks": audio_ticks,
        "duration": iso_duration(audio_ticks),
        "combinedRecognizedPhrases": _combined(phrases),
        "recognizedPhrases": [_phrase(p) for p in phrases],
        "batchscribe": _our_block(phrases, transcript, audio, meta),
    }


def render_transcript_json(document: Mapping[str, Any]) -> str:
    return "".join(iter_transcript_json(document))


def iter_transcript_json(document: Mapping[str, Any]) -> Iterator[str]:
    """The JSON text in pieces, for ``write_atomic`` to stream (no whole-document string)."""
    yield from json.JSONEncoder(ensure_ascii=False, indent=2).iterencode(document)
    yield "\n"


def _combined(phrases: Sequence[Phrase]) -> list[dict[str, Any]]:
    by_channel: dict[int, list[Phrase]] = defaultdict(list)
    for phrase in phrases:
        by_channel[phrase.channel].append(phrase)

    def joined(texts: Sequence[str]) -> str:
        return " ".join(t.strip() for t in texts if t.strip())

    return [
        {
            "channel": channel,
            "lexical": joined([p.lexical for p in group]),
            "itn": joined([p.itn for p in group]),
            "maskedITN": joined([p.masked_itn for p in group]),
            "display": joined([p.display for p in group]),
        }
        for channel, group in sorted(by_channel.items())
    ]


def _timing(offset_ticks: int, duration_ticks: int) -> dict[str, Any]:
    return {
        "offset": iso_duration(offset_ticks),
        "duration": iso_duration(duration_ticks),
        "offsetInTicks": offset_ticks,
        "durationInTicks": duration_ticks,
    }


def _phrase(phrase: Phrase) -> dict[str, Any]:
    entry: dict[str, Any] = {"recognitionStatus": phrase.status, "channel": phrase.channel}
    if phrase.speaker is not None:
        entry["speaker"] = phrase.speaker
    if phrase.locale is not None:
        entry["locale"] = phrase.locale
    entry.update(_timing(phrase.offset_ticks, phrase.duration_ticks))
    best: dict[str, Any] = {}
    if phrase.confidence is not None:
        best["confidence"] = phrase.confidence
    best.update(lexical=phrase.lexical, itn=phrase.itn, maskedITN=phrase.masked_itn, display=phrase.display)
    if phrase.words:
        best["words"] = [_word(w) for w in phrase.words]
    entry["nBest"] = [best]
    return entry


def _word(word: Word) -> dict[str, Any]:
    entry: dict[str, Any] = {"word": word.word, **_timing(word.offset_ticks, word.duration_ticks)}
    if word.confidence is not None:
        entry["confidence"] = word.confidence
    return entry


def _our_block(
    phrases: Sequence[Phrase], transcript: Transcript, audio: AudioInfo, meta: TranscriptMeta
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "version": meta.version,
        "engine": meta.engine,
        "endpoint": public_endpoint(meta.endpoint),
        "settings": public_settings(meta.settings),
        "sha256": meta.sha256,
        "audio": {
            "codec": audio.codec,
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "duration_s": round(audio.duration_s, 3),
        },
        "attempts": meta.attempts,
        "started_at": utc_iso(meta.started_at),
        "elapsed_s": round(meta.elapsed_s, 3),
        "run_id": meta.run_id,
    }
    if transcript.chunks:
        block["chunks"] = [
            {
                "start_s": round(c.start_s, 3),
                "end_s": round(c.end_s, 3),
                "attempts": c.attempts,
                **({"channel": c.channel} if c.channel is not None else {}),
            }
            for c in transcript.chunks
        ]
    warnings = transcript_warnings(transcript, audio)
    if warnings:
        block["warnings"] = list(warnings)
    if meta.settings.get("languages") or any(p.locale for p in phrases):
        block["languages"] = language_shares(phrases)
    return block


def language_shares(phrases: Sequence[Phrase]) -> dict[str, float]:
    """Share of speech time per identified locale (``unknown`` when none was given), sums to 1."""
    time_by_locale: dict[str, int] = defaultdict(int)
    for phrase in phrases:
        # A zero-length phrase still says the language was heard; count it a tick.
        time_by_locale[phrase.locale or "unknown"] += max(phrase.duration_ticks, 1)
    total = sum(time_by_locale.values())
    return {locale: round(ticks / total, 4) for locale, ticks in sorted(time_by_locale.items())}


def read_transcript_document(path: Path) -> dict[str, Any]:
    """Load a per-file JSON and check its shape; raises ``TranscriptDocumentError`` if it is off."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TranscriptDocumentError(f"cannot read transcript {path}: {exc}") from exc
    try:
        _check_document(document)
    except TranscriptDocumentError as exc:
        raise TranscriptDocumentError(f"{path}: {exc}") from None
    return document  # type: ignore[no-any-return]


def _field(mapping: object, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(mapping, dict):
        raise TranscriptDocumentError(f"{where} is not an object")
    value = mapping.get(key)
    # bool is an int in Python but never a valid count or offset here.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise TranscriptDocumentError(f"{where}.{key} is missing or not {_names(kind)}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def _check_document(document: object) -> None:
    for key in ("source", "timestamp", "duration"):
        _field(document, key, str, "document")
    _field(document, "durationInTicks", int, "document")
    for i, combined in enumerate(_field(document, "combinedRecognizedPhrases", list, "document")):
        where = f"combinedRecognizedPhrases[{i}]"
        _field(combined, "channel", int, where)
        for key in ("lexical", "itn", "maskedITN", "display"):
            _field(combined, key, str, where)
    for i, phrase in enumerate(_field(document, "recognizedPhrases", list, "document")):
        where = f"recognizedPhrases[{i}]"
        _field(phrase, "recognitionStatus", str, where)
        for key in ("channel", "offsetInTicks", "durationInTicks"):
            _field(phrase, key, int, where)
        best = _field(phrase, "nBest", list, where)
        if not best:
            raise TranscriptDocumentError(f"{where}.nBest is empty")
        _field(best[0], "display", str, f"{where}.nBest[0]")
    block = _field(document, "batchscribe", dict, "document")
    version = _field(block, "schema_version", int, "batchscribe")
    if version > SCHEMA_VERSION:
        raise TranscriptDocumentError(
            f"written by a newer batchscribe (schema_version {version}, this one reads {SCHEMA_VERSION})"
        )
    for key in ("run_id", "sha256", "engine"):
        _field(block, key, str, "batchscribe")
