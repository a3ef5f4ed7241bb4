"""What ``plan --engine batch`` counts as a recording's upload: the file, or the WAV it becomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchscribe.audio import probe
from batchscribe.engines.batch.convert import converted, upload_size

FORMATS = Path(__file__).resolve().parents[3] / "fixtures" / "formats"


@pytest.mark.parametrize(
    ("name", "separate"),
    [("video.mp4", False), ("call_stereo.wav", False), ("call_stereo.wav", True), ("wav16_mono.wav", False)],
)
def test_the_planned_upload_size_is_the_size_of_what_is_uploaded(name: str, separate: bool) -> None:
    path = FORMATS / name
    audio = probe(path)
    planned = upload_size(path, path.stat().st_size, audio, channels_separate=separate)
    if name == "wav16_mono.wav" or (separate and name.endswith(".wav")):
        assert planned == path.stat().st_size  # sent as it is
        return
    with converted(path, keep_channels=separate) as wav:
        # a probe's duration is the container's; decoding may differ by a codec's priming (ms)
        assert abs(planned - wav.stat().st_size) <= 0.02 * wav.stat().st_size
