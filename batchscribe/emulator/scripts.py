"""The transcripts file: what the emulator says for which recording.

A YAML file (default ``emulator-transcripts.yaml``; ``BATCHSCRIBE_EMULATOR_TRANSCRIPTS``) maps
recordings, found by the fingerprint of their sound, to phrases::

    version: 1
    recordings:
      - id: interview-03            # the name stats use (default: the file name at `add`)
        source: interview-03.mp3    # informational
        duration: 12.48             # seconds
        fingerprint: "e1:..."       # see fingerprint.py
        phrases:
          - text: "Good morning."
            start: 0.52             # seconds, where the segmenter found it (optional)
            end: 1.90
            speaker: Guest-2        # optional: ConversationTranscriber SpeakerId
            language: fr-FR         # optional: PrimaryLanguage under language identification
            confidence: 0.87        # optional
            words: [Good, morning.] # optional: the words, if not split on spaces
        faults: ["close:1011:sessions=2"]   # optional, see faults.py

Phrases with ``start`` go to the live segment they fall in; phrases without are handed out one
per segment, the rest with the last.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from batchscribe.emulator import fingerprint as fp
from batchscribe.emulator.defaults import ENV_VAR
from batchscribe.emulator.faults import Fault, FaultSpecError, parse_recording_fault
from batchscribe.emulator.segmenter import Samples
from batchscribe.errors import UsageError

DEFAULT_FILE = "emulator-transcripts.yaml"


class TranscriptsFileError(UsageError):
    """The transcripts file cannot be read or is malformed."""

    default_hint = "fix the file, or re-create entries with `batchscribe emulator script add`"


@dataclass(frozen=True)
class ScriptPhrase:
    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    language: str | None = None
    confidence: float | None = None
    words: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ScriptEntry:
    id: str
    fingerprint: str
    duration: float
    phrases: tuple[ScriptPhrase, ...] = ()
    faults: tuple[Fault, ...] = ()
    source: str = ""
    envelope: fp.Envelope = field(
        default_factory=lambda: np.empty(0), compare=False, repr=False
    )

    @property
    def timed(self) -> bool:
        return bool(self.phrases) and all(p.start is not None for p in self.phrases)


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_FILE)


def _phrase_from(data: Any, where: str) -> ScriptPhrase:
    if isinstance(data, str):
        return ScriptPhrase(text=data)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise TranscriptsFileError(f"{where}: a phrase needs a text")
    words = data.get("words")
    if words is not None and not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
        raise TranscriptsFileError(f"{where}: words must be a list of strings")
    try:
        return ScriptPhrase(
            text=data["text"],
            start=None if data.get("start") is None else float(data["start"]),
            end=None if data.get("end") is None else float(data["end"]),
            speaker=None if data.get("speaker") is None else str(data["speaker"]),
            language=None if data.get("language") is None else str(data["language"]),
            confidence=None if data.get("confidence") is None else float(data["confidence"]),
            words=tuple(words) if words is not None else None,
        )
    except (TypeError, ValueError) as exc:
        raise TranscriptsFileError(f"{where}: {exc}") from None


def _entry_from(data: Any, where: str) -> ScriptEntry:
    if not isinstance(data, dict):
        raise TranscriptsFileError(f"{where}: expected a mapping with id, fingerprint, phrases")
    name = str(data.get("id") or "")
    where = f"{where} ({name})" if name else where
    try:
        envelope = fp.decode(str(data.get("fingerprint", "")))
        duration = float(data.get("duration", 0))
        faults = tuple(parse_recording_fault(str(s)) for s in data.get("faults") or ())
    except (TypeError, ValueError, FaultSpecError) as exc:
        raise TranscriptsFileError(f"{where}: {exc}") from None
    phrases = data.get("phrases") or []
    if not isinstance(phrases, list):
        raise TranscriptsFileError(f"{where}: phrases must be a list")
    return ScriptEntry(
        id=name or fp.digest(envelope),
        fingerprint=str(data["fingerprint"]),
        duration=duration,
        phrases=tuple(_phrase_from(p, f"{where} phrase {i + 1}") for i, p in enumerate(phrases)),
        faults=faults,
        source=str(data.get("source") or ""),
        envelope=envelope,
    )


def _phrase_to(phrase: ScriptPhrase) -> dict[str, Any]:
    out: dict[str, Any] = {"text": phrase.text}
    for key in ("start", "end", "speaker", "language", "confidence"):
        value = getattr(phrase, key)
        if value is not None:
            out[key] = round(value, 3) if isinstance(value, float) else value
    if phrase.words is not None:
        out["words"] = list(phrase.words)
    return out


def _entry_to(entry: ScriptEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entry.id}
    if entry.source:
        out["source"] = entry.source
    out["duration"] = round(entry.duration, 3)
    out["fingerprint"] = entry.fingerprint
    out["phrases"] = [_phrase_to(p) for p in entry.phrases]
    if entry.faults:
        out["faults"] = [str(f) for f in entry.faults]
    return out


@dataclass(frozen=True)
class Transcripts:
    """An immutable set of script entries, with the lookup the server needs."""

    entries: tuple[ScriptEntry, ...] = ()

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool = True) -> Transcripts:
        if not path.exists():
            if missing_ok:
                return cls()
            raise TranscriptsFileError(f"transcripts file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TranscriptsFileError(f"cannot read transcripts file {path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("recordings", []), list):
            raise TranscriptsFileError(f"{path}: expected a mapping with a 'recordings' list")
        recordings = data.get("recordings") or []
        return cls(tuple(_entry_from(e, f"{path} entry {i + 1}") for i, e in enumerate(recordings)))

    def save(self, path: Path) -> None:
        """Write atomically (a temp file renamed over the old one)."""
        text = yaml.safe_dump(
            {"version": 1, "recordings": [_entry_to(e) for e in self.entries]},
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    def with_entry(self, entry: ScriptEntry) -> Transcripts:
        """These entries plus ``entry``, replacing any with the same id or the same sound."""
        same_sound = self.identify(entry.envelope, ended_at=entry.duration)
        kept = tuple(e for e in self.entries if e.id != entry.id and e is not same_sound)
        return Transcripts((*kept, entry))

    def identify(self, envelope: fp.Envelope, *, ended_at: float | None) -> ScriptEntry | None:
        """The entry nearest to this sound within tolerance, or None.

        ``ended_at`` is the recording's length when all of it was heard (it must then match the
        entry's length); None means only the fingerprint's first seconds were heard, so the entry
        must be at least that long.
        """
        best, best_distance = None, fp.TOLERANCE_DB
        for entry in self.entries:
            if ended_at is not None:
                if abs(entry.duration - ended_at) > max(0.3, 0.02 * ended_at):
                    continue
            elif entry.duration < fp.SECONDS - 0.3:
                continue
            d = fp.distance(envelope, entry.envelope)
            if d <= best_distance:
                best, best_distance = entry, d
        return best


def split_text(text: str, segments: Sequence[tuple[float, float]]) -> list[ScriptPhrase]:
    """Spread a text's words over segments in proportion to their length, one phrase each."""
    words = text.split()
    if not segments:
        return [ScriptPhrase(text=" ".join(words), start=0.0)] if words else []
    total = sum(end - start for start, end in segments) or 1.0
    phrases, used, elapsed = [], 0, 0.0
    for index, (start, end) in enumerate(segments):
        elapsed += end - start
        upto = len(words) if index == len(segments) - 1 else round(len(words) * elapsed / total)
        if upto > used:
            phrases.append(ScriptPhrase(text=" ".join(words[used:upto]), start=start, end=end))
            used = upto
    return phrases


def place_phrases(texts: Sequence[str], segments: Sequence[tuple[float, float]]) -> list[ScriptPhrase]:
    """Give each phrase a segment, in order, from the first to the last segment evenly."""
    if not segments:
        return [ScriptPhrase(text=t, start=0.0) for t in texts]
    placed, last = [], len(segments) - 1
    for index, text in enumerate(texts):
        seg = round(index * last / (len(texts) - 1)) if len(texts) > 1 else 0  # first..last
        placed.append(ScriptPhrase(text=text, start=segments[seg][0], end=segments[seg][1]))
    return placed


def make_entry(
    *,
    entry_id: str,
    source: str,
    samples: Samples,
    sample_rate: int,
    phrases: Sequence[ScriptPhrase],
    faults: Sequence[Fault] = (),
) -> ScriptEntry:
    envelope = fp.envelope_of(samples, sample_rate)
    return ScriptEntry(
        id=entry_id,
        fingerprint=fp.encode(envelope),
        duration=samples.size / sample_rate,
        phrases=tuple(phrases),
        faults=tuple(faults),
        source=source,
        envelope=fp.decode(fp.encode(envelope)),  # as it will be loaded
    )
