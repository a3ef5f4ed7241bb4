"""Who is speaking, as the text and subtitle outputs label it.

- Diarized phrases are labelled ``Speaker N`` (the recognizer's number, unchanged).
- When a transcript holds more than one channel (channels recognized separately), every phrase is
  also tagged with its channel, ``ch0``, ``ch1``... (0-based, as ``channel`` in the JSON).
"""

from __future__ import annotations

from collections.abc import Iterable

from batchscribe.engines.base import Phrase


def has_several_channels(phrases: Iterable[Phrase]) -> bool:
    return len({p.channel for p in phrases}) > 1


def speaker_name(phrase: Phrase) -> str | None:
    return None if phrase.speaker is None else f"Speaker {phrase.speaker}"


def channel_tag(phrase: Phrase) -> str:
    return f"ch{phrase.channel}"


def voice_name(phrase: Phrase, *, tag_channel: bool) -> str | None:
    """``Speaker 2``, ``ch1``, ``ch1 Speaker 2`` or None: the name of who speaks in one phrase."""
    parts = [channel_tag(phrase)] if tag_channel else []
    speaker = speaker_name(phrase)
    if speaker:
        parts.append(speaker)
    return " ".join(parts) or None


def text_prefix(phrase: Phrase, *, tag_channel: bool) -> str:
    """The label put in front of the words in .txt and .srt: ``[ch1] Speaker 2: ``."""
    prefix = f"[{channel_tag(phrase)}] " if tag_channel else ""
    speaker = speaker_name(phrase)
    return f"{prefix}{speaker}: " if speaker else prefix
