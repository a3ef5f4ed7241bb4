"""``--channels separate``: one session per channel, as an engine around any engine.

A stereo call with the agent on one side and the customer on the other is recognized far better
channel by channel than mixed down. ``SeparateChannels`` sends each channel of a multi-channel
recording through the engine it wraps, one session after the other, and interleaves the phrases
by time (each keeps its ``channel``); a mono recording, or a request for one channel, passes through.
"""

from __future__ import annotations

from dataclasses import replace

from batchscribe.audio import combine_receipts
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import Engine, ProgressCallback, RecognitionRequest, Transcript


class SeparateChannels:
    """Transcribes each channel of ``inner``'s requests in a session of its own."""

    def __init__(self, inner: Engine) -> None:
        self.name = inner.name
        self._inner = inner

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        if request.channel is not None or request.audio.channels < 2:
            return self._inner.transcribe(request, on_progress=on_progress, cancel=cancel)
        parts = [
            self._inner.transcribe(replace(request, channel=channel), on_progress=on_progress, cancel=cancel)
            for channel in range(request.audio.channels)
        ]
        phrases = sorted((p for t in parts for p in t.phrases), key=lambda p: (p.offset_ticks, p.channel))
        return Transcript(
            phrases=tuple(phrases),
            warnings=tuple(w for t in parts for w in t.warnings),
            receipt=combine_receipts([t.receipt for t in parts]),  # every session read the same file
        )

    def close(self) -> None:
        self._inner.close()
