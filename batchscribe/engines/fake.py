"""An in-memory engine for unit tests, shipped like httpx's MockTransport.

Each recording (matched by file name) gets a list of outcomes, one per session: a ``Transcript``
to return, an exception to raise, or ``HANG`` to block until cancelled (to test interrupts and
timeouts without sleeping). When a file's list runs out its last outcome repeats; files without
an entry get a one-phrase transcript naming the file.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final

from batchscribe.cancel import CancelToken
from batchscribe.engines.base import (
    TICKS_PER_SECOND,
    Phrase,
    ProgressCallback,
    RecognitionRequest,
    Transcript,
)
from batchscribe.errors import FileCancelled

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
    """Scripted outcomes per file name; records every request it was given."""

    name = "fake"

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
        on_progress(request.audio.duration_s)
        return outcome

    def close(self) -> None:
        self.closed = True
