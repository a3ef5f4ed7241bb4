"""One turn: audio in, service messages out, each tagged with the audio position it answers.

A turn starts with the RIFF header of its first audio message and ends with an empty one. Audio
goes through the segmenter; its events wait (``_pending``) until the session knows its recording
(fingerprint of the first seconds, or the end of the audio), then become messages:

- first speech            -> ``speech.startDetected``
- speech still going      -> ``speech.hypothesis`` (about once a second)
- segment end             -> ``speech.phrase`` Success, or NoMatch when the script has no text
- long silence, tail      -> ``speech.phrase`` NoMatch, so every byte is acknowledged
- end of audio            -> last phrase, ``speech.endDetected``, ``turn.end``
- turn length reached     -> ``turn.end`` alone, as the live service every 10 minutes of audio

At the turn length (``max_seconds`` of audio) the turn takes no more audio and acknowledges what
it heard: closed segments as phrases, silence as NoMatch, up to the start of a segment still
open, which the SDK then replays in its next turn (continuation offset = that acknowledgement),
so no phrase is ever cut in two; only a segment open since the turn's first byte is closed at
the limit instead, so every turn makes progress. Nothing else is replayed.

Positions are samples from the turn's first PCM byte; the session's ``continuation`` offset turns
them into seconds into the recording, which is what scripts are timed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from batchscribe.emulator import render
from batchscribe.emulator.fingerprint import FingerprintBuilder
from batchscribe.emulator.render import TICKS_PER_SECOND, OutputOptions
from batchscribe.emulator.segmenter import (
    SegmentEnded,
    Segmenter,
    SegmenterConfig,
    SpeechContinues,
    SpeechStarted,
    to_mono_float,
)
from batchscribe.emulator.sessions import Session
from batchscribe.emulator.usp import WaveFormat, parse_riff

MAX_PENDING = 5000  # events held before identification; a few seconds' worth in practice


@dataclass(frozen=True)
class Outgoing:
    """A message to send once the turn's clock reaches ``at`` seconds of audio."""

    at: float
    path: str
    body: dict[str, Any] | None
    at_limit: bool = False  # a turn.end sent because the turn reached its length, not the audio's end


@dataclass(frozen=True)
class _Held:
    kind: str  # start | hyp | seg | tail
    start: int
    end: int
    last: bool = False


Identify = Callable[[Session, bool], None]


class Turn:
    def __init__(
        self,
        request_id: str,
        session: Session,
        options: OutputOptions,
        *,
        offset_ticks: int,
        identify: Identify,
        segmenter: SegmenterConfig,
        max_seconds: float | None = None,
    ) -> None:
        self.request_id = request_id
        self.session = session
        self.options = options
        self.offset_ticks = offset_ticks  # where this turn's audio starts in the recording
        self.format: WaveFormat | None = None
        self.ended = False
        self.ended_at_limit = False
        self.max_seconds = max_seconds
        self._limit = 0  # samples the turn takes, once the format is known (0: no limit)
        self._identify = identify
        self._segmenter_config = segmenter
        self._segmenter: Segmenter | None = None
        self._odd = b""  # bytes of an incomplete sample frame
        self._samples = 0  # mono samples received
        self._covered = 0  # samples acknowledged by a segment or silence event
        self._lower = offset_ticks / TICKS_PER_SECOND  # where the previous segment ended (s)
        self._speech_seen = False
        self._pending: list[_Held] = []

    @property
    def seconds(self) -> float:
        return self._samples / self.format.sample_rate if self.format else 0.0

    @property
    def start_seconds(self) -> float:
        return self.offset_ticks / TICKS_PER_SECOND

    def audio(self, payload: bytes) -> tuple[list[Outgoing], float, float]:
        """Take one audio payload; returns messages now due, seconds received, seconds replayed."""
        if self.format is None:
            header = parse_riff(payload)
            self.format = header.format
            self._segmenter = Segmenter(self.format.sample_rate, self._segmenter_config)
            if self.max_seconds is not None:  # whole milliseconds, as the SDK acknowledges
                self._limit = max(1, round(self.max_seconds * 1000) * self.format.sample_rate // 1000)
            if self.session.fingerprint is None:
                self.session.fingerprint = FingerprintBuilder(self.format.sample_rate)
            payload = header.data
        assert self._segmenter is not None
        if self._limit:  # audio past the limit is left unacknowledged: the SDK sends it again
            room = (self._limit - self._samples) * self.format.bytes_per_frame - len(self._odd)
            payload = payload[: max(0, room)]
        data = self._odd + payload
        usable = len(data) - len(data) % self.format.bytes_per_frame
        self._odd = data[usable:]
        samples = to_mono_float(data[:usable], self.format.channels)
        rate = self.format.sample_rate
        begin = self.start_seconds + self._samples / rate
        fingerprint = self.session.fingerprint
        assert fingerprint is not None  # made with the first RIFF header
        fingerprint.feed(round(begin * rate), samples)
        self._samples += samples.size
        received = samples.size / rate
        end = begin + received
        replayed = max(0.0, min(end, self.session.high_water) - begin)
        self.session.high_water = max(self.session.high_water, end)

        self._hold_events(self._segmenter.feed(samples))
        silence = self._segmenter.processed - self._covered
        if not self._segmenter.in_segment and silence >= self._segmenter_config.max_segment_s * rate:
            self._hold(_Held("tail", self._covered, self._segmenter.processed))
        if self.session.answerer is None and fingerprint.complete:
            self._identify(self.session, False)
        if self._limit and self._samples >= self._limit:
            return self._end_at_limit(), received, replayed
        return self._release(), received, replayed

    def _end_at_limit(self) -> list[Outgoing]:
        """The turn reached its length: acknowledge what can be, then ``turn.end`` alone."""
        assert self._segmenter is not None and self.format is not None
        self.ended = self.ended_at_limit = True
        open_start = self._segmenter.segment_start
        ms = max(1, self.format.sample_rate // 1000)
        if open_start is None:
            self._segmenter.finish()  # only silence left in the partial frame
            stop = self._samples
        elif open_start > 0:  # replayed whole in the next turn
            stop = open_start // ms * ms
        else:  # open since the first byte: no acknowledgement would ever move on, so close it
            self._hold(_Held("seg", 0, self._samples))
            stop = self._samples
        if self._covered < stop:
            self._hold(_Held("tail", self._covered, stop))
        if self.session.answerer is None:
            self._identify(self.session, False)
        out = self._release()
        out.append(Outgoing(self.seconds, "turn.end", None, at_limit=True))
        return out

    def end(self) -> list[Outgoing]:
        """The client's end of audio: flush, acknowledge the tail, end the turn."""
        self.ended = True
        if self._segmenter is None or self.format is None:  # no audio at all
            return [Outgoing(0.0, "speech.endDetected", {"Offset": 0}), Outgoing(0.0, "turn.end", None)]
        was_open = self._segmenter.in_segment
        events = self._segmenter.finish()
        total = self._samples
        if was_open and events and isinstance(events[-1], SegmentEnded):
            events[-1] = SegmentEnded(events[-1].start, total)  # the last phrase takes the tail
        self._hold_events(events, last_segment=was_open)
        if self._covered < total:
            self._hold(_Held("tail", self._covered, total, last=True))
        if self.session.answerer is None:
            self._identify(self.session, True)
        out = self._release()
        end_ticks = self._ticks(total)
        out.append(Outgoing(self.seconds, "speech.endDetected", {"Offset": end_ticks}))
        out.append(Outgoing(self.seconds, "turn.end", None))
        return out

    def _hold_events(
        self, events: list[SpeechStarted | SpeechContinues | SegmentEnded], *, last_segment: bool = False
    ) -> None:
        for index, event in enumerate(events):
            if isinstance(event, SpeechStarted):
                if not self._speech_seen:
                    self._speech_seen = True
                    self._hold(_Held("start", event.at, event.at))
            elif isinstance(event, SpeechContinues):
                self._hold(_Held("hyp", event.start, event.at))
            else:
                last = last_segment and index == len(events) - 1
                self._hold(_Held("seg", event.start, event.end, last=last))

    def _hold(self, held: _Held) -> None:
        if held.kind in ("seg", "tail"):
            self._covered = max(self._covered, held.end)
        if len(self._pending) >= MAX_PENDING and held.kind == "hyp":
            return  # hypotheses are optional; phrases never get dropped
        self._pending.append(held)

    def _ticks(self, samples: int) -> int:
        assert self.format is not None
        return samples * TICKS_PER_SECOND // self.format.sample_rate

    def _abs(self, samples: int) -> float:
        assert self.format is not None
        return self.start_seconds + samples / self.format.sample_rate

    def _release(self) -> list[Outgoing]:
        answerer = self.session.answerer
        if answerer is None or not self._pending:
            return []
        assert self.format is not None
        rate, out = self.format.sample_rate, []
        for held in self._pending:
            at = held.end / rate
            start, end = self._ticks(held.start), self._ticks(held.end)
            if held.kind == "start":
                out.append(Outgoing(at, "speech.startDetected", {"Offset": start}))
            elif held.kind == "hyp":
                text = answerer.partial(self._lower, self._abs(held.start), self._abs(held.end))
                if text:
                    body = render.hypothesis(text, start, end, self.options)
                    out.append(Outgoing(at, "speech.hypothesis", body))
            elif held.kind == "seg" or (held.last and answerer.scripted):
                answer = answerer.final(
                    self._lower, self._abs(held.start), self._abs(held.end), last=held.last
                )
                self._lower = self._abs(held.end)
                body = (
                    render.phrase(answer, start, end, self.options)
                    if answer
                    else render.no_match(start, end, self.options)
                )
                out.append(Outgoing(at, "speech.phrase", body))
            else:
                out.append(Outgoing(at, "speech.phrase", render.no_match(start, end, self.options)))
        self._pending.clear()
        return out
