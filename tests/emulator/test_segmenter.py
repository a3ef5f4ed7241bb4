"""The energy detector: segments split on silence, capped in length, the same live and offline."""

from __future__ import annotations

import numpy as np
import pytest

from batchscribe.emulator.segmenter import (
    SegmentEnded,
    Segmenter,
    SegmenterConfig,
    SpeechContinues,
    SpeechStarted,
    find_segments,
)
from tests.emulator.helpers import RATE, tone_pcm


def test_tone_bursts_become_segments_at_their_edges() -> None:
    samples = tone_pcm([("sil", 0.5), ("tone", 2), ("sil", 1), ("noise", 1.5), ("sil", 0.6)])
    segments = find_segments(samples.astype(np.float32), RATE)
    assert [t for span in segments for t in span] == pytest.approx([0.5, 2.5, 3.5, 5.0], abs=0.021)


def test_short_pauses_do_not_split_a_segment() -> None:
    samples = tone_pcm([("tone", 1), ("sil", 0.3), ("tone", 1), ("sil", 1)])
    assert len(find_segments(samples.astype(np.float32), RATE)) == 1


def test_long_speech_is_cut_at_the_maximum_segment_length() -> None:
    samples = tone_pcm([("noise", 40)]).astype(np.float32)
    segments = find_segments(samples, RATE, SegmenterConfig(max_segment_s=15))
    assert [round(e - s, 2) for s, e in segments] == [15.0, 15.0, 10.0]


def test_streaming_in_odd_chunks_finds_the_same_segments_and_hypotheses() -> None:
    samples = tone_pcm([("sil", 0.3), ("tone", 3.2), ("sil", 1), ("tone", 1)]).astype(np.float32)
    whole = Segmenter(RATE)
    expected = whole.feed(samples) + whole.finish()
    live, events = Segmenter(RATE), []
    for start in range(0, samples.size, 1234):
        events += live.feed(samples[start : start + 1234])
    events += live.finish()
    assert events == expected
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStarted and kinds.count(SegmentEnded) == 2
    assert kinds.count(SpeechContinues) == 4  # once a second of speech: 3.2 s gives 3, 1 s gives 1


def test_silence_only_has_no_segment() -> None:
    assert find_segments(np.zeros(RATE * 3, dtype=np.float32), RATE) == []
