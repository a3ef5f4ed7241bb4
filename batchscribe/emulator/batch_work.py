"""What the emulator's batch API does with one recording: fetch it, hear it, write its result.

A recording is read from the URL it was given (only ``127.0.0.1``, as Azurite serves it in tests:
the emulator never reaches the network), decoded to 16 kHz mono like every engine's audio,
identified by its sound among the scripts (``scripts.Transcripts.identify``) and answered in the
shape Azure's batch transcription writes (``contenturl_N.json``): scripted phrases where the
script has them, placeholder words (marked ``BatchscribeEmulatorPlaceholder``) otherwise. A job
hears each channel it asks for (``channels``: ``[0, 1]``, or ``[0]``) of a multi-channel
recording on its own, its phrases marked with their channel, and no other, as the service does.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from batchscribe.audio import BYTES_PER_SECOND, open_pcm, probe
from batchscribe.emulator import fingerprint as fp
from batchscribe.emulator.answers import WORDS_PER_SECOND
from batchscribe.emulator.scripts import ScriptPhrase, Transcripts
from batchscribe.engines.base import EMULATOR_PLACEHOLDER_FIELD, TICKS_PER_SECOND
from batchscribe.errors import AudioError

_PLACEHOLDER_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


@dataclass(frozen=True)
class FileOutcome:
    """One recording's result document, or why it failed (the report's ``errorKind``)."""

    source: str
    document: dict[str, Any] | None = None
    error_kind: str = ""
    error_message: str = ""


def transcribe_url(
    url: str, transcripts: Transcripts, *, locale: str, channels: Sequence[int] = (0,)
) -> FileOutcome:
    """Fetch, decode and answer one content URL: each of ``channels`` it has on its own (a
    stereo recording in a job asking for channel 0 only: its left channel only, as the
    service hears it), or a mono one whole, as channel 0."""
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        return FileOutcome(url, error_kind="InvalidUri", error_message="the emulator reads 127.0.0.1 only")
    with tempfile.TemporaryDirectory(prefix="batchscribe-emu-") as folder:
        path = Path(folder) / "audio"
        try:
            with urllib.request.urlopen(url, timeout=30) as answer, path.open("wb") as out:
                while block := answer.read(1 << 20):
                    out.write(block)
        except (urllib.error.URLError, OSError) as exc:
            return FileOutcome(
                url, error_kind="InvalidUri", error_message=f"cannot read the recording: {exc}"
            )
        try:
            count = probe(path).channels  # mono: heard whole; else only the channels asked for
            heard = [c for c in channels if c < count] if count > 1 else []
            tracks = [(c, _samples(path, c)) for c in heard] or [(0, _samples(path, None))]
        except AudioError as exc:
            return FileOutcome(url, error_kind="InvalidData", error_message=f"invalid audio: {exc.message}")
    duration = max(samples.size for _, samples in tracks) / (BYTES_PER_SECOND // 2)
    if duration <= 0:
        return FileOutcome(url, error_kind="InvalidData", error_message="the audio has no samples")
    phrases: list[dict[str, Any]] = []
    for channel, samples in tracks:
        phrases += [{**p, "channel": channel} for p in _heard(samples, transcripts, locale)]
    phrases.sort(key=lambda p: (p["offsetInTicks"], p["channel"]))
    return FileOutcome(url, document=_document(url, duration, phrases, [c for c, _ in tracks]))


def _heard(
    samples: np.ndarray[Any, np.dtype[np.float32]], transcripts: Transcripts, locale: str
) -> list[dict[str, Any]]:
    """One track's phrases: its script's, or a placeholder."""
    duration = samples.size / (BYTES_PER_SECOND // 2)
    envelope = fp.envelope_of(samples, BYTES_PER_SECOND // 2)
    entry = transcripts.identify(envelope, ended_at=duration)
    if entry is not None:
        return [_phrase(p, i, len(entry.phrases), duration, locale) for i, p in enumerate(entry.phrases)]
    return [_placeholder(fp.digest(envelope), duration, locale)]


def _samples(path: Path, channel: int | None) -> np.ndarray[Any, np.dtype[np.float32]]:
    with open_pcm(path, channel=channel) as reader:
        pcm = bytearray()
        while block := reader.read(1 << 20):
            pcm += block
    return np.frombuffer(bytes(pcm), dtype="<i2").astype(np.float32) / 32768.0


def _timing(start_s: float, end_s: float) -> dict[str, Any]:
    offset, duration = round(start_s * TICKS_PER_SECOND), round(max(end_s - start_s, 0.0) * TICKS_PER_SECOND)
    return {
        "offset": f"PT{start_s:.2f}S",
        "duration": f"PT{max(end_s - start_s, 0.0):.2f}S",
        "offsetInTicks": float(offset),
        "durationInTicks": float(duration),
    }


def _phrase(phrase: ScriptPhrase, index: int, count: int, duration: float, locale: str) -> dict[str, Any]:
    start = phrase.start if phrase.start is not None else duration * index / max(count, 1)
    end = phrase.end if phrase.end is not None else duration * (index + 1) / max(count, 1)
    best: dict[str, Any] = {
        "confidence": phrase.confidence if phrase.confidence is not None else 0.9,
        "lexical": phrase.text.lower(),
        "itn": phrase.text.lower(),
        "maskedITN": phrase.text.lower(),
        "display": phrase.text,
    }
    entry: dict[str, Any] = {
        "recognitionStatus": "Success",
        "channel": 0,
        **_timing(start, end),
        "nBest": [best],
    }
    if phrase.language:
        entry["locale"] = phrase.language
    if phrase.speaker:
        digits = "".join(c for c in phrase.speaker if c.isdigit())
        entry["speaker"] = int(digits) if digits else 1
    del locale
    return entry


def _placeholder(key: str, duration: float, locale: str) -> dict[str, Any]:
    seed = hashlib.sha256(key.encode()).digest()
    count = max(1, min(len(seed), round(duration * WORDS_PER_SECOND)))
    text = " ".join(_PLACEHOLDER_WORDS[b % len(_PLACEHOLDER_WORDS)] for b in seed[:count]).capitalize() + "."
    entry = _phrase(ScriptPhrase(text=text, start=0.0, end=duration), 0, 1, duration, locale)
    entry[EMULATOR_PLACEHOLDER_FIELD] = True
    return entry


def _document(
    source: str, duration: float, phrases: list[dict[str, Any]], channels: Sequence[int]
) -> dict[str, Any]:
    ticks = round(duration * TICKS_PER_SECOND)
    combined = []
    for channel in channels:
        own = [p for p in phrases if p["channel"] == channel]
        display = " ".join(p["nBest"][0]["display"] for p in own)
        lexical = " ".join(p["nBest"][0]["lexical"] for p in own)
        combined.append({"channel": channel, "lexical": lexical, "itn": lexical, "maskedITN": lexical,
                         "display": display})  # fmt: skip
    return {
        "source": source,
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "durationInTicks": ticks,
        "durationMilliseconds": round(duration * 1000),
        "duration": f"PT{duration:.2f}S",
        "combinedRecognizedPhrases": combined,
        "recognizedPhrases": phrases,
    }
