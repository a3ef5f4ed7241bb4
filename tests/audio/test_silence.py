"""Cut points in pauses (batchscribe.audio.silence) on synthetic audio whose pauses are known."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from batchscribe.audio.silence import SAMPLE_RATE, Cut, CutFinder, find_cuts
from batchscribe.emulator.synth import burst_samples

RATE = SAMPLE_RATE


def build(parts: Sequence[tuple[str, float]], seed: int = 0) -> np.ndarray:
    """int16 audio: ("speech", s) loud noise, ("sil", s) digital silence, ("hush", s) noise 40 dB
    below speech, ("dip", s) noise 15 dB below speech (not a pause, but the quietest point)."""
    rng = np.random.default_rng(seed)
    level = {"speech": 0.25, "sil": 0.0, "hush": 0.0025, "dip": 0.045}
    out = [rng.normal(0, level[kind], int(seconds * RATE)) for kind, seconds in parts]
    return (np.clip(np.concatenate(out), -1, 1) * 32767).astype(np.int16)


def chunked(samples: np.ndarray, size: int = 32_000) -> Iterator[bytes]:
    data = samples.tobytes()
    for start in range(0, len(data), size):
        yield data[start : start + size]


def seconds(cuts: list[Cut]) -> list[float]:
    return [round(c.seconds, 2) for c in cuts]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        # one pause near the 20 s target: cut at its middle
        ([("speech", 19.0), ("sil", 0.6), ("speech", 10.0)], [19.3]),
        # two equally quiet pauses in the window: the nearer to the target wins
        ([("speech", 17.0), ("sil", 0.4), ("speech", 2.2), ("sil", 0.4), ("speech", 10.0)], [19.8]),
        # a pause of digital silence beats a nearer one with faint noise (quietest first)
        ([("speech", 17.5), ("sil", 1.0), ("speech", 1.5), ("hush", 0.5), ("speech", 10.0)], [18.0]),
        # a long pause: cut at its middle, as far from speech as possible on both sides
        ([("speech", 18.0), ("sil", 3.0), ("speech", 10.0)], [19.5]),
        # a pause shorter than 0.3 s does not count; the real one further away does
        ([("speech", 16.5), ("sil", 0.4), ("speech", 3.4), ("sil", 0.2), ("speech", 10.0)], [16.7]),
    ],
)
def test_the_cut_goes_in_the_middle_of_the_best_pause(
    parts: list[tuple[str, float]], expected: list[float]
) -> None:
    cuts = find_cuts(chunked(build(parts)), 20.0, window_seconds=4.0)
    assert seconds(cuts) == pytest.approx(expected, abs=0.011)
    assert all(not c.warning and c.pause_seconds >= 0.3 and c.level_db < -30 for c in cuts)


def test_without_a_pause_the_cut_goes_at_the_quietest_point_with_a_warning() -> None:
    audio = build([("speech", 21.0), ("dip", 0.2), ("speech", 10.0)])
    (cut,) = find_cuts(chunked(audio), 20.0, window_seconds=4.0)
    assert cut.seconds == pytest.approx(21.1, abs=0.06)
    assert cut.pause_seconds == 0 and -20 < cut.level_db < -10
    assert cut.warning.startswith("no pause of 0.3 s within 4 s of 0:00:20: cut at 0:00:21")
    assert "quietest point" in cut.warning


def test_audio_ending_inside_the_last_window_is_the_last_chunk() -> None:
    audio = build([("speech", 9.0), ("sil", 1.0)] * 5)  # 50 s; targets at ~20 s and ~40 s
    cuts = find_cuts(chunked(audio), 20.0, window_seconds=2.0)
    assert seconds(cuts) == pytest.approx([19.5, 39.5], abs=0.011)
    assert find_cuts(chunked(audio), 20.0, window_seconds=2.0, max_cuts=1) == cuts[:1]
    assert find_cuts(chunked(audio[: 21 * RATE]), 20.0, window_seconds=2.0) == []


def test_cuts_come_out_while_the_audio_is_still_being_fed() -> None:
    finder = CutFinder(20.0, window_seconds=2.0)
    stream = chunked(build([("speech", 9.0), ("sil", 1.0)] * 5), size=RATE * 2)  # 1 s per feed
    decided_at = [n for n, data in enumerate(stream, 1) for _ in finder.feed(data)]
    assert decided_at == [22, 42]  # as soon as target + window was heard
    assert len(finder.finish()) == 2


@pytest.mark.parametrize("bad", [{"chunk_seconds": 0.5}, {"chunk_seconds": 20, "window_seconds": 11}])
def test_impossible_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="at most half a chunk"):
        CutFinder(**bad)  # type: ignore[arg-type]


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    chunk=st.floats(10.0, 30.0),
    window=st.floats(1.0, 5.0),
    noise_db=st.one_of(st.none(), st.floats(-70, -45)),
)
def test_cuts_always_fall_in_pauses_of_speech_like_audio(
    seed: int, chunk: float, window: float, noise_db: float | None
) -> None:
    speech = burst_samples(seed, seconds=120.0)  # bursts of 0.4-1.4 s, pauses of 0.5-0.9 s
    audio = speech.astype(np.float64)
    if noise_db is not None:  # a steady background under everything
        rng = np.random.default_rng(seed)
        audio += rng.normal(0, 32767 * 10 ** (noise_db / 20), audio.size)
    pcm = np.clip(audio, -32768, 32767).astype(np.int16)
    cuts = find_cuts(chunked(pcm, 9_998), chunk, window_seconds=window)
    assert len(cuts) >= int(120 / (chunk + window)) - 1
    previous = 0.0
    for cut in cuts:
        assert not cut.warning and cut.pause_seconds >= 0.3
        around = speech[cut.sample - RATE // 10 : cut.sample + RATE // 10]
        assert not np.any(around), f"cut at {cut.seconds:.2f} s is within 0.1 s of speech"
        assert chunk - window - 0.01 <= cut.seconds - previous <= chunk + window + 0.01
        previous = cut.seconds


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    sizes=st.lists(st.integers(1, 40_000), min_size=1, max_size=8).filter(lambda s: sum(s) > 2000),
)
def test_how_the_stream_is_chunked_does_not_change_the_cuts(seed: int, sizes: list[int]) -> None:
    data = burst_samples(seed, seconds=60.0).tobytes()
    pieces, start = [], 0
    while start < len(data):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(data[start : start + size])
        start += size
    assert find_cuts(pieces, 12.0, window_seconds=2.0) == find_cuts([data], 12.0, window_seconds=2.0)
