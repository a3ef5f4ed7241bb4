"""One recognition session as its callbacks see it, and its finals turned into ``Phrase``s.

What the Speech SDK's callbacks record (phrases, the first connection, an error, the end) lives
here, without the SDK: ``engines/azure.py`` (the only module that imports it) reads each final's
few fields (``Final``) and hands them to ``Session.on_final``, and reports the SDK's cancellation
as ``Session.on_error``. The waiting thread reads the session.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchscribe import audio
from batchscribe.cancel import CancelToken
from batchscribe.engines.base import (
    EMULATOR_PLACEHOLDER_FIELD,
    TICKS_PER_SECOND,
    Phrase,
    ProgressCallback,
    RecognitionOptions,
    RecognitionRequest,
    Word,
)
from batchscribe.engines.sdk_errors import classify_cancellation
from batchscribe.errors import AudioError, EngineError, PermanentEngineError, TransientEngineError
from batchscribe.secrets import Redactor


@dataclass(frozen=True, slots=True)
class Final:
    """What a recognized phrase's handling reads: the wrapper's result attributes of that name."""

    offset: int
    duration: int
    text: str
    json: str
    speaker_id: str | None


def speaker_number(speaker_id: str | None) -> int | None:
    """The SDK says "Guest-2"; Azure's batch output says 2. "Unknown" is no speaker."""
    if not speaker_id:
        return None
    tail = speaker_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


END_GRACE_S = 3.0  # after a cancel or an error: how long the SDK gets to end the session itself


def phrase_from_final(result: Final, request: RecognitionRequest, options: RecognitionOptions) -> Phrase:
    raw = result.json or "{}"
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        data = {}
    nbest = data.get("NBest") or [{}]
    best: dict[str, Any] = nbest[0] if isinstance(nbest[0], dict) else {}
    words = tuple(
        Word(
            word=str(w.get("Word", "")),
            offset_ticks=int(w.get("Offset", 0)),
            duration_ticks=int(w.get("Duration", 0)),
            confidence=w.get("Confidence"),
        )
        for w in best.get("Words") or ()
        if isinstance(w, dict)
    )
    locale = None
    if options.languages:
        primary = data.get("PrimaryLanguage") or {}
        locale = primary.get("Language") if isinstance(primary, dict) else None
    speaker = speaker_number(result.speaker_id) if options.diarize else None
    confidence = best.get("Confidence")
    return Phrase(
        offset_ticks=int(result.offset),
        duration_ticks=int(result.duration),
        display=str(result.text or best.get("Display") or data.get("DisplayText") or ""),
        lexical=str(best.get("Lexical", "")),
        itn=str(best.get("ITN", "")),
        masked_itn=str(best.get("MaskedITN", "")),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        words=words if options.word_timestamps else (),
        channel=request.channel if request.channel is not None else int(data.get("Channel", 0) or 0),
        speaker=speaker,
        locale=locale,
        placeholder=data.get(EMULATOR_PLACEHOLDER_FIELD) is True,
    )


@dataclass
class Session:
    """What the callbacks of one recognition session record; read by the waiting thread."""

    request: RecognitionRequest
    options: RecognitionOptions
    redact: Redactor
    on_progress: ProgressCallback
    report_connect: Callable[[float], None] | None = None  # the limiter hears the connect time
    report_close: Callable[[], None] | None = None  # ... and when a connected session is over
    done: threading.Event = field(default_factory=threading.Event)  # woken: ended, failed or cancelled
    ended: threading.Event = field(default_factory=threading.Event)  # session_stopped fired
    phrases: list[Phrase] = field(default_factory=list)
    error: EngineError | None = None
    callback_error: BaseException | None = None
    last_activity: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.monotonic)
    connect_seconds: float | None = None  # until the first websocket connection was up
    stopped: bool = False  # session_stopped fired: the SDK ended the session by itself
    stalled: bool = False
    audio_error: AudioError | None = None
    reader_warnings: tuple[str, ...] = ()
    receipt: audio.ReadReceipt | None = None
    over: bool = False  # ``close`` ran: a late connection is not reported any more
    _reporting: threading.Lock = field(default_factory=threading.Lock)

    def guard(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """Wrap a callback: record any exception and wake the waiter (the SDK would drop it)."""

        def guarded(evt: Any) -> None:
            try:
                self.last_activity = time.monotonic()
                handler(evt)
            except BaseException as exc:
                self.callback_error = exc
                self.done.set()

        return guarded

    def on_connected(self, evt: Any) -> None:
        with self._reporting:
            if self.connect_seconds is None and not self.over:
                self.connect_seconds = time.monotonic() - self.started_at
                if self.report_connect is not None:
                    self.report_connect(self.connect_seconds)

    def close(self) -> None:
        """The session is over: the limiter hears it once if it heard of its connection."""
        with self._reporting:
            if not self.over:
                self.over = True
                if self.connect_seconds is not None and self.report_close is not None:
                    self.report_close()

    def on_partial(self, evt: Any) -> None:
        """A sign of life only: subscribed while the session is quiet (see ``_wait``)."""

    def on_final(self, final: Final | None) -> None:
        if final is None:
            return  # NoMatch: silence or noise; nothing to keep
        phrase = phrase_from_final(final, self.request, self.options)
        if phrase.display or phrase.lexical:
            self.phrases.append(phrase)
        self.on_progress(phrase.end_ticks / TICKS_PER_SECOND)

    def wait_for_end(self, cancel: CancelToken, stall_timeout: float,
                     listen_to_partials: Callable[[Callable[[Any], None]], None]) -> bool:  # fmt: skip
        """Wait for the session's end; False when the service went silent for ``stall_timeout``.

        Finals, connections and the session's end are signs of life. Partial results are too,
        but the SDK builds a costly result object for each (a third of a session's CPU), so they
        are subscribed to (``listen_to_partials``) only once the session has been quiet for half
        the stall timeout (a long phrase): a live service then shows itself well before the
        deadline."""
        listening = False
        while not cancel.is_cancelled():
            quiet = time.monotonic() - self.last_activity
            if quiet >= stall_timeout:
                return False
            if not listening and quiet >= stall_timeout / 2:
                listen_to_partials(self.guard(self.on_partial))
                listening = True
            wake_in = stall_timeout - quiet if listening else stall_timeout / 2 - quiet
            if self.done.wait(wake_in):
                break
        if cancel.is_cancelled() or self.error is not None:
            # session_stopped follows canceled(Error) closely, and cancelling ended our audio
            # stream so a live service closes the session at once. Waiting for it spares the SDK's
            # ~10 s stop; a dead service gets stopped by the reaper instead.
            self.ended.wait(END_GRACE_S)
        return True

    def on_lost_final(self, certain: bool) -> None:
        """The SDK's wrapper lost a final of this session (``certain``) or maybe of this one (a
        phrase of over 2,048 bytes it could not decode, on the public path): never marked done
        without it. When unsure which session lost it, each is retried."""
        if self.error is None:
            kind = PermanentEngineError if certain else TransientEngineError
            self.error = kind(
                "the Speech SDK lost a phrase of over 2,048 bytes (its public API cannot read it)",
                code="phrase_lost",
                hint="use a Speech SDK version with native finals (`batchscribe doctor` says which "
                "are used) and do not set BATCHSCRIBE_NATIVE_FINALS=0",
            )
        self.done.set()

    def on_error(self, code: str, details: str) -> None:
        """The SDK cancelled the session with an error (``code``: its CancellationErrorCode name)."""
        self.error = classify_cancellation(code, self.redact(details))
        self.done.set()

    def on_stopped(self, evt: Any) -> None:
        self.stopped = True
        self.ended.set()
        self.done.set()
