"""--channels separate: one session per channel around any engine, phrases interleaved by time."""

from __future__ import annotations

from pathlib import Path

from batchscribe.audio import AudioInfo
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import TICKS_PER_SECOND, Phrase, RecognitionRequest, Transcript
from batchscribe.engines.channels import SeparateChannels
from batchscribe.engines.fake import FakeEngine


def said(*at: tuple[float, str, int]) -> Transcript:
    return Transcript(
        phrases=tuple(
            Phrase(int(s * TICKS_PER_SECOND), TICKS_PER_SECOND, text, channel=channel)
            for s, text, channel in at
        ),
        warnings=(f"channel {at[0][2]}",),
    )


def request(channels: int) -> RecognitionRequest:
    return RecognitionRequest(
        Path("call.wav"), AudioInfo("pcm_s16le", 16000, channels, 5.0), label="call.wav"
    )


def test_each_channel_is_a_session_and_phrases_interleave_by_time() -> None:
    inner = FakeEngine(
        {"call.wav": [said((0, "agent hello", 0), (4, "agent bye", 0)), said((2, "customer hi", 1))]}
    )
    engine = SeparateChannels(inner)

    transcript = engine.transcribe(request(2), on_progress=lambda _: None, cancel=CancelToken())

    assert [r.channel for r in inner.requests] == [0, 1]
    assert [p.display for p in transcript.phrases] == ["agent hello", "customer hi", "agent bye"]
    assert transcript.warnings == ("channel 0", "channel 1")
    assert engine.name == inner.name
    engine.close()
    assert inner.closed


def test_a_mono_recording_passes_through_as_one_session() -> None:
    inner = FakeEngine()
    SeparateChannels(inner).transcribe(request(1), on_progress=lambda _: None, cancel=CancelToken())
    assert [r.channel for r in inner.requests] == [None]
