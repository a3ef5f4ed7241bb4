"""A batch result file (``contenturl_N.json``) read back into a ``Transcript``, checked as it is
read: a file that is not in the shape Azure documents is a per-recording failure, never a
transcript with holes. Ticks may come as numbers with a decimal point; they are rounded."""

from __future__ import annotations

import json
from typing import Any

from batchscribe.engines.base import EMULATOR_PLACEHOLDER_FIELD, Phrase, Transcript, Word
from batchscribe.errors import PermanentEngineError

MAX_TICKS = 10**7 * 3600 * 24 * 7  # a week of audio in 100 ns ticks: far beyond any recording
MAX_CHANNEL = 32


class BadResult(PermanentEngineError):
    default_hint = (
        "the service's result file was not in the documented shape; run again to retry the recording"
    )


def transcript_from_result(data: bytes) -> Transcript:
    """The recording's transcript; ``BadResult`` when the file is not a result."""
    try:
        document = json.loads(data)
        phrases = document["recognizedPhrases"]
        if not isinstance(phrases, list):
            raise TypeError("recognizedPhrases is not a list")
        return Transcript(
            phrases=tuple(
                sorted(
                    (_phrase(p) for p in phrases if _recognized(p)), key=lambda p: (p.offset_ticks, p.channel)
                )
            )
        )
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        raise BadResult(f"the result file is not a transcription result ({exc})", code="bad_result") from exc


def _recognized(phrase: Any) -> bool:
    return isinstance(phrase, dict) and phrase.get("recognitionStatus", "Success") == "Success"


def _ticks(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_TICKS:
        raise TypeError(f"not a tick count: {value!r}")
    return round(value)


def _channel(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CHANNEL:
        raise TypeError(f"not a channel: {value!r}")
    return value


def _optional_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _phrase(data: dict[str, Any]) -> Phrase:
    best = data["nBest"][0]
    display = best["display"]
    if not isinstance(display, str):
        raise TypeError("nBest[0].display is not text")
    words = tuple(
        Word(
            str(w["word"]),
            _ticks(w["offsetInTicks"]),
            _ticks(w["durationInTicks"]),
            _optional_float(w.get("confidence")),
        )
        for w in best.get("words") or ()
    )
    speaker = data.get("speaker")
    return Phrase(
        offset_ticks=_ticks(data["offsetInTicks"]),
        duration_ticks=_ticks(data["durationInTicks"]),
        display=display,
        lexical=str(best.get("lexical", "")),
        itn=str(best.get("itn", "")),
        masked_itn=str(best.get("maskedITN", "")),
        confidence=_optional_float(best.get("confidence")),
        words=words,
        channel=_channel(data.get("channel", 0)),
        speaker=int(speaker) if isinstance(speaker, int) else None,
        locale=str(data["locale"]) if data.get("locale") else None,
        placeholder=data.get(EMULATOR_PLACEHOLDER_FIELD) is True,
    )
