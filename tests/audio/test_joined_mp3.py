"""MP3s joined with ``cat a.mp3 b.mp3`` (common for the legs of one call): the header announces
the first part's length, the decoder finds all of it. The transcript's duration, the audio counted
and its cost come from what was decoded (issue 17, item 16)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from batchscribe import audio
from batchscribe.emulator.synth import burst_samples
from tests.cli.cli_process import batchscribe, last_summary

pytestmark = pytest.mark.integration


def _mp3(path: Path, seconds: float, seed: int, bit_rate: int) -> bytes:
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=16000)
        stream.layout, stream.bit_rate = "mono", bit_rate  # type: ignore[attr-defined]
        samples = np.asarray(burst_samples(seed, seconds), dtype=np.int16)
        for start in range(0, len(samples), 11_520):
            frame = av.AudioFrame.from_ndarray(samples[start : start + 11_520].reshape(1, -1), format="s16",
                                               layout="mono")  # fmt: skip
            frame.sample_rate = 16000
            container.mux(stream.encode(frame))  # type: ignore[attr-defined]
        container.mux(stream.encode(None))  # type: ignore[attr-defined]
    return path.read_bytes()


def _joined(tmp_path: Path, first_s: float, second_s: float, split: str) -> tuple[str, dict[str, object]]:
    root = tmp_path / "in"
    root.mkdir()
    joined = root / "call.mp3"
    joined.write_bytes(
        _mp3(tmp_path / "a.mp3", first_s, 1, 64_000) + _mp3(tmp_path / "b.mp3", second_s, 2, 24_000)
    )
    header_s = audio.probe(joined).duration_s
    assert header_s < first_s + second_s - 5, "the fixture must announce less than it holds"
    done = batchscribe("run", root, "--out", tmp_path / "out", "--emulate", "--emulator-speed", "50",
                       "--sdk-send-rate", "50", "--split", split, "--chunk-seconds", "30")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((tmp_path / "out" / "call.mp3.json").read_text(encoding="utf-8"))
    return done.stdout, document


@pytest.mark.parametrize("split", ["off", "auto"])  # the SDK sends at 50x: a few seconds each
def test_a_joined_mp3_reports_the_duration_that_was_decoded(tmp_path: Path, split: str) -> None:
    first_s, second_s = 10.0, 60.0 if split == "auto" else 20.0
    output, document = _joined(tmp_path, first_s, second_s, split)
    total = first_s + second_s
    duration_s = document["batchscribe"]["audio"]["duration_s"]  # type: ignore[index]
    assert duration_s == pytest.approx(total, abs=0.5)
    assert document["duration"].startswith(f"PT{int(total) // 60}M" if total >= 60 else f"PT{int(total)}")  # type: ignore[attr-defined]
    last = document["recognizedPhrases"][-1]  # type: ignore[index]
    assert last["offsetInTicks"] + last["durationInTicks"] <= round(duration_s * 10_000_000)
    summary = last_summary(tmp_path / "out")
    assert summary["audio_seconds"] == pytest.approx(total, abs=0.5)
    assert "durations and cost use what was decoded" in output  # and it is said why
