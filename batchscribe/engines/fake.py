"""In-memory engines for unit tests, shipped like httpx's MockTransport, one per engine shape
(``docs/ENGINES.md``):

- ``FakeEngine``, session-shaped like the SDK engine: it reports progress (all of it at once:
  tests need no pacing) and takes a recording of any length;
- ``FakeRequestEngine``, request-shaped like fast transcription: one request per recording or
  chunk, no progress until the answer, and a request over its size or duration limit is refused
  (``PermanentEngineError``, code ``request_too_large``) before anything is sent.

Each recording (matched by file name) gets a list of outcomes, one per session or request: a
``Transcript`` to return, an exception to raise, or ``HANG`` to block until cancelled (to test
interrupts and timeouts without sleeping). When a file's list runs out its last outcome repeats;
files without an entry get a one-phrase transcript naming the file.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final

from batchscribe.audio import BYTES_PER_SECOND
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import (
    TICKS_PER_SECOND,
    Phrase,
    ProgressCallback,
    RecognitionRequest,
    Transcript,
)
from batchscribe.errors import FileCancelled, PermanentEngineError

HANG: Final = "hang"
Outcome = Transcript | BaseException | str


def transcript_of(*texts: str, seconds_each: float = 1.0) -> Transcript:
    ticks = int(seconds_each * TICKS_PER_SECOND)
    return Transcript(
        phrases=tuple(
            Phrase(offset_ticks=i * ticks, duration_ticks=ticks, display=t, lexical=t.lower(), confidence=0.9)
            for i, t in enumerate(texts)
        )
    )


class FakeEngine:
    """Session-shaped: scripted outcomes per file name; records every request it was given."""

    name = "fake"
    reports_progress = True

    def __init__(self, outcomes: Mapping[str, Sequence[Outcome]] | None = None) -> None:
        self._outcomes = {name: list(seq) for name, seq in (outcomes or {}).items()}
        self._lock = threading.Lock()
        self.sessions: Counter[str] = Counter()
        self.requests: list[RecognitionRequest] = []
        self.started = threading.Event()  # set when any session starts (sync point for tests)
        self.closed = False

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        name = request.path.name
        with self._lock:
            session = self.sessions[name]
            self.sessions[name] += 1
            self.requests.append(request)
            script = self._outcomes.get(name)
        self.started.set()
        outcome: Outcome = (
            script[min(session, len(script) - 1)] if script else transcript_of(f"text of {name}")
        )
        if outcome == HANG:
            cancel.wait()
        if cancel.is_cancelled():
            raise FileCancelled(cancel.reason)
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, Transcript)
        if self.reports_progress:
            on_progress(request.audio.duration_s)
        return outcome

    def close(self) -> None:
        self.closed = True


def request_seconds(request: RecognitionRequest) -> float:
    """The audio a request sends: its chunk's, else the recording's (or its channel's)."""
    if request.pcm is not None:
        return request.pcm.length / BYTES_PER_SECOND
    return request.audio.duration_s


def request_bytes(request: RecognitionRequest) -> int:
    """What a request uploads: its chunk's PCM, else the recording's file."""
    if request.pcm is not None:
        return request.pcm.length
    return request.path.stat().st_size


class FakeRequestEngine(FakeEngine):
    """Request-shaped: one request per recording or chunk, answered whole (no progress before the
    answer), refused over ``max_seconds`` of audio or ``max_bytes`` of upload."""

    name = "fake-request"
    reports_progress = False

    def __init__(
        self,
        outcomes: Mapping[str, Sequence[Outcome]] | None = None,
        *,
        max_seconds: float = 2 * 3600.0,
        max_bytes: int = 300 * 1024 * 1024,
    ) -> None:
        super().__init__(outcomes)
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self.refused: list[RecognitionRequest] = []

    def transcribe(
        self, request: RecognitionRequest, *, on_progress: ProgressCallback, cancel: CancelToken
    ) -> Transcript:
        seconds, size = request_seconds(request), request_bytes(request)
        if seconds > self.max_seconds or size > self.max_bytes:
            with self._lock:
                self.refused.append(request)
            raise PermanentEngineError(
                f"the request is too large for the service ({seconds:.0f} s, {size} bytes; at most "
                f"{self.max_seconds:.0f} s and {self.max_bytes} bytes)",
                code="request_too_large",
                hint="split long recordings (--split auto) into chunks under the limit",
            )
        return super().transcribe(request, on_progress=on_progress, cancel=cancel)
