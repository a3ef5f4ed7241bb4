"""The transcripts file: what the emulator says for which recording.

A YAML file (default ``emulator-transcripts.yaml``; ``BATCHSCRIBE_EMULATOR_TRANSCRIPTS``) maps
recordings, found by the fingerprint of their sound, to phrases::

    version: 1
    recordings:
      - id: interview-03            # the name stats use (default: the file name at `add`)
        source: interview-03.mp3    # informational
        duration: 12.48             # seconds
        fingerprint: "e2:..."       # the whole recording's sound, see fingerprint.py
        channel: 1                  # optional: the entry is one channel of the recording
        mix_fingerprint: "e2:..."   # with channel: the sound of all channels mixed
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

A session may send any stretch of a scripted recording (``run`` sends a long one as chunks, each a
session of its own): ``Transcripts.locate`` finds the recording and where the stretch starts in it,
and the session answers the phrases of that stretch. A recording scripted channel by channel
(``script add --channel N``, as ``run --channels separate`` sends it) is also found when it is
sent mixed: each channel's entry keeps the mix's sound, and the mix answers every channel's
phrases.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    channel: int | None = None
    mix_fingerprint: str = ""
    envelope: fp.Envelope = field(default_factory=lambda: np.empty(0), compare=False, repr=False)
    mix_envelope: fp.Envelope = field(default_factory=lambda: np.empty(0), compare=False, repr=False)

    @property
    def timed(self) -> bool:
        return bool(self.phrases) and all(p.start is not None for p in self.phrases)


@dataclass(frozen=True)
class Match:
    """A session's recording: its entry, and where the session's audio starts in it (seconds)."""

    entry: ScriptEntry
    offset: float = 0.0
    distance: float = 0.0


MIN_INSIDE_WINDOWS = 100  # 2 s of sound at least before a stretch is looked for inside recordings


def _informative(envelope: fp.Envelope) -> bool:
    """Sound with both loud and quiet windows: silence or steady noise fits anywhere."""
    if envelope.size < MIN_INSIDE_WINDOWS:
        return False
    levels = fp.relative(envelope)
    return bool(np.mean(levels > -6.0) >= 0.1 and np.mean(levels < -20.0) >= 0.1)


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
        mix = str(data.get("mix_fingerprint") or "")
        mix_envelope = fp.decode(mix) if mix else np.empty(0)
        channel = None if data.get("channel") is None else int(data["channel"])
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
        channel=channel,
        mix_fingerprint=mix,
        envelope=envelope,
        mix_envelope=mix_envelope,
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
    if entry.channel is not None:
        out["channel"] = entry.channel
    if entry.mix_fingerprint:
        out["mix_fingerprint"] = entry.mix_fingerprint
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
        """The entry whose beginning sounds nearest to this sound within tolerance, or None.

        ``ended_at`` is the recording's length when all of it was heard (it must then match the
        entry's length); None means only the fingerprint's first seconds were heard, so the entry
        must be at least that long.
        """
        match = self._at_start(envelope, ended_at, [(e, e.envelope) for e in self.entries])
        return match.entry if match else None

    def locate(self, envelope: fp.Envelope, *, ended_at: float | None) -> Match | None:
        """The recording this sound is from, and where in it: its beginning (as ``identify``),
        else the beginning of its mix of channels, else any stretch of either (a chunk)."""
        sounds = [(e, e.envelope) for e in self.entries]
        sounds += [(self._mixed(e), e.mix_envelope) for e in self.entries if e.mix_fingerprint]
        match = self._at_start(envelope, ended_at, sounds)
        if match is not None or not _informative(envelope):
            return match
        best: Match | None = None
        for entry, stored in sounds:
            place = fp.find_inside(envelope, stored)
            if place is None or place.distance > fp.TOLERANCE_DB:
                continue
            offset = place.window * fp.WINDOW_S
            if ended_at is not None and offset + ended_at > entry.duration + _slack(ended_at):
                continue
            if best is None or place.distance < best.distance:
                best = Match(entry, offset, place.distance)
        return best

    @staticmethod
    def _at_start(
        envelope: fp.Envelope, ended_at: float | None, sounds: Sequence[tuple[ScriptEntry, fp.Envelope]]
    ) -> Match | None:
        best: Match | None = None
        for entry, stored in sounds:
            if ended_at is not None:
                if abs(entry.duration - ended_at) > _slack(ended_at):
                    continue
            elif entry.duration < fp.SECONDS - 0.3:
                continue
            place = fp.at_start(envelope, stored)
            if place.distance <= (best.distance if best else fp.TOLERANCE_DB):
                best = Match(entry, place.window * fp.WINDOW_S, place.distance)
        return best

    def _mixed(self, channel: ScriptEntry) -> ScriptEntry:
        """The recording all channels mixed: every channel's phrases, in time order."""
        group = [e for e in self.entries if e.mix_fingerprint == channel.mix_fingerprint]
        phrases = sorted((p for e in group for p in e.phrases), key=lambda p: p.start or 0.0)
        return replace(
            channel,
            id=channel.source or channel.id.split("#ch")[0],
            fingerprint=channel.mix_fingerprint,
            phrases=tuple(phrases),
            faults=tuple(dict.fromkeys(f for e in group for f in e.faults)),
            channel=None,
            mix_fingerprint="",
            envelope=channel.mix_envelope,
            mix_envelope=np.empty(0),
        )


def _slack(seconds: float) -> float:
    """How far two lengths of the same recording may differ (decoders pad or trim a little)."""
    return max(0.3, 0.02 * seconds)


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
    channel: int | None = None,
    mix: Samples | None = None,
) -> ScriptEntry:
    """An entry for a recording (or, with ``channel``, one channel of it; ``mix``: all channels
    mixed, as ``run`` sends the recording without --channels separate)."""
    fingerprint = fp.encode(fp.recording_envelope(samples, sample_rate))
    mix_fingerprint = fp.encode(fp.recording_envelope(mix, sample_rate)) if mix is not None else ""
    return ScriptEntry(
        id=entry_id,
        fingerprint=fingerprint,
        duration=samples.size / sample_rate,
        phrases=tuple(phrases),
        faults=tuple(faults),
        source=source,
        channel=channel,
        mix_fingerprint=mix_fingerprint,
        envelope=fp.decode(fingerprint),  # as it will be loaded
        mix_envelope=fp.decode(mix_fingerprint) if mix_fingerprint else np.empty(0),
    )
