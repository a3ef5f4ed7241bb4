"""How long the chunks of a long recording should be, given the whole run's work.

A session streams audio at about 2x real time (SDK_FACTS.md), so a chunk of ``c`` seconds holds a
worker for about ``c / 2`` seconds, and the run cannot end before its longest chunk does. With
longest-first scheduling the run takes at most about ``share + longest`` where ``share`` is the
audio per worker (``total audio / workers``); keeping every chunk at or under
``SHARE_FRACTION`` (a third) of the share keeps the wall time within about 1.3x of the ideal
``share / send rate``. Bounds:

- at least ``MIN_CHUNK_SECONDS`` (60 s): each session costs a connection, a ~0.5 s start and a
  5 s unthrottled burst, and each cut is a place where the service loses context, so chunks much
  shorter than a minute buy no speed and cost accuracy;
- at most ``MAX_CHUNK_SECONDS`` (600 s): the live service's turn length, and a transient failure
  repeats at most ten minutes of audio.

A recording is split only when it is at least ``SPLIT_FACTOR`` (1.5) chunks long (a 70 s file is
not worth two sessions), and then into ``round(duration / chunk)`` chunks of equal target length
(no stub at the end). ``chunk_seconds`` from the user (``--chunk-seconds``) replaces the computed
length but keeps the same rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_CHUNK_SECONDS = 60.0
MAX_CHUNK_SECONDS = 600.0
SHARE_FRACTION = 1 / 3
SPLIT_FACTOR = 1.5
WINDOW_FRACTION = 0.1  # search ± this share of a chunk for a pause
MAX_WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class ChunkPlan:
    """How one recording is split: ``chunks`` pieces of about ``chunk_seconds`` each."""

    chunks: int
    chunk_seconds: float  # the recording's duration when it is not split
    window_seconds: float  # how far from each target point to look for a pause (0: no split)

    @property
    def split(self) -> bool:
        return self.chunks > 1


def chunk_length(total_audio_seconds: float, workers: int) -> float:
    """The run's chunk length: a third of each worker's share of audio, within 60-600 s."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    share = max(0.0, total_audio_seconds) / workers
    return min(MAX_CHUNK_SECONDS, max(MIN_CHUNK_SECONDS, share * SHARE_FRACTION))


def plan_chunks(
    duration_seconds: float,
    *,
    workers: int,
    total_audio_seconds: float,
    chunk_seconds: float | None = None,
) -> ChunkPlan:
    """Split ``duration_seconds`` of a run holding ``total_audio_seconds`` for ``workers``."""
    if chunk_seconds is not None and chunk_seconds <= 0:
        raise ValueError(f"chunk_seconds must be above 0, not {chunk_seconds}")
    target = chunk_seconds or chunk_length(max(total_audio_seconds, duration_seconds), workers)
    if duration_seconds < SPLIT_FACTOR * target:
        return ChunkPlan(1, max(0.0, duration_seconds), 0.0)
    chunks = max(2, round(duration_seconds / target))
    length = duration_seconds / chunks
    return ChunkPlan(chunks, length, min(MAX_WINDOW_SECONDS, WINDOW_FRACTION * length))


def plan_within(duration_seconds: float, max_seconds: float) -> ChunkPlan:
    """Parts no longer than ``max_seconds`` (an engine's limit per request, like fast
    transcription's 2 h), or one when it fits. Each cut may move up to the search window from its
    target, so a part can grow by two windows: targets leave that margin."""
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be above 0, not {max_seconds}")
    if duration_seconds <= max_seconds:
        return ChunkPlan(1, max(0.0, duration_seconds), 0.0)
    chunks = max(2, math.ceil(duration_seconds * (1 + 2 * WINDOW_FRACTION) / max_seconds))
    length = duration_seconds / chunks
    return ChunkPlan(chunks, length, min(MAX_WINDOW_SECONDS, WINDOW_FRACTION * length))
