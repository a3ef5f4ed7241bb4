"""Chunk length for splitting long recordings (batchscribe.audio.chunk_plan)."""

from __future__ import annotations

import pytest

from batchscribe.audio.chunk_plan import ChunkPlan, chunk_length, plan_chunks


@pytest.mark.parametrize(
    ("total_audio", "workers", "expected"),
    [
        (1200, 8, 60.0),  # one 20-minute file, 8 workers: a third of 150 s is below the minimum
        (40 * 60 + 2 * 240, 8, 120.0),  # 40 one-minute calls and two 4-minute meetings
        (8 * 3600, 8, 600.0),  # a night of 8 hours of audio: capped at the turn length
        (24 * 600, 8, 600.0),
        (8 * 900, 8, 300.0),  # a third of each worker's 15 minutes
        (0, 4, 60.0),
    ],
)
def test_chunk_length_is_a_third_of_each_workers_share_within_60_to_600_s(
    total_audio: float, workers: int, expected: float
) -> None:
    assert chunk_length(total_audio, workers) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("duration", "workers", "total_audio", "chunk_seconds", "expected"),
    [
        (1200, 8, 1200, None, ChunkPlan(20, 60.0, 6.0)),
        (80, 8, 80, None, ChunkPlan(1, 80.0, 0.0)),  # under 1.5 chunks: one session
        (95, 8, 95, None, ChunkPlan(2, 47.5, 4.75)),  # equal halves, no stub at the end
        (3 * 3600, 8, 8 * 3600, None, ChunkPlan(18, 600.0, 30.0)),
        (3 * 3600, 8, 8 * 3600, 900.0, ChunkPlan(12, 900.0, 30.0)),  # --chunk-seconds
        (0, 8, 100, None, ChunkPlan(1, 0.0, 0.0)),
    ],
)
def test_a_recording_is_split_into_equal_chunks_only_when_long_enough(
    duration: float, workers: int, total_audio: float, chunk_seconds: float | None, expected: ChunkPlan
) -> None:
    plan = plan_chunks(
        duration, workers=workers, total_audio_seconds=total_audio, chunk_seconds=chunk_seconds
    )
    assert plan == expected
    assert plan.split == (plan.chunks > 1)
    assert plan.chunks * plan.chunk_seconds == pytest.approx(duration)


def test_the_file_alone_counts_when_the_run_total_is_smaller() -> None:
    assert plan_chunks(3600, workers=4, total_audio_seconds=0) == plan_chunks(
        3600, workers=4, total_audio_seconds=3600
    )


@pytest.mark.parametrize("bad", [{"workers": 0}, {"workers": 2, "chunk_seconds": 0.0}])
def test_impossible_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        plan_chunks(100, total_audio_seconds=100, **bad)  # type: ignore[arg-type]
