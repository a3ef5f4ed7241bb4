"""What the emulator saw, for assertions: a thread-safe recorder and frozen snapshots.

The server (on its own thread) reports events here under a lock; tests and tools read a frozen
``Snapshot`` with ``Stats.snapshot()`` or block until a condition holds with ``Stats.wait_until``.
Everything is bounded: the most recent requests and sessions are kept, older ones dropped.

Secrets are never kept: of ``Ocp-Apim-Subscription-Key`` and ``Authorization`` only the fact
that they were present is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

MAX_REQUESTS = 200
MAX_SESSIONS = 2000
MAX_RECORDINGS = 2000
MAX_BODY_CHARS = 65_536
SECRET_HEADERS = frozenset({"ocp-apim-subscription-key", "authorization"})


@dataclass(frozen=True)
class RequestRecord:
    """One websocket upgrade request and the text messages its connection carried."""

    number: int  # connection number, from 1
    session_id: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names; secret headers left out
    has_subscription_key: bool
    has_authorization: bool
    status: int  # 101 when accepted, else the HTTP status it was refused with
    refused_because: str = ""  # e.g. "expired token", "fault http:503", "max_sessions=4 reached"
    config: Mapping[str, Any] | None = None  # the speech.config body
    contexts: tuple[Mapping[str, Any], ...] = ()  # speech.context bodies, in order


@dataclass(frozen=True)
class SessionStats:
    """One session: every connection that carried the same X-ConnectionId."""

    session_id: str
    recording: str | None = None  # script id, or ``audio-<digest>`` for unscripted audio
    connections: int = 0  # accepted upgrades
    rejected: int = 0  # refused upgrades
    open_connections: int = 0
    turns: int = 0
    completed_turns: int = 0  # turn.end sent after the client's end of audio
    limited_turns: int = 0  # turns ended at the turn length; the SDK went on in a new turn
    audio_seconds: float = 0.0  # PCM received, replays included
    replayed_seconds: float = 0.0  # PCM received again for positions already received
    turn_offsets: tuple[float, ...] = ()  # where each turn started, seconds into the recording
    phrases: int = 0  # speech.phrase messages sent (any status)
    faults: tuple[str, ...] = ()  # fault specs that fired on this session
    stalled: bool = False


@dataclass(frozen=True)
class RecordingStats:
    """Totals for one recording over all the sessions identified as it."""

    recording: str
    sessions: int = 0
    connections: int = 0
    completed_turns: int = 0
    audio_seconds: float = 0.0
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    connections: int = 0  # upgrade requests seen, accepted or not
    rejected: int = 0
    open_connections: int = 0
    protocol_errors: int = 0
    sessions: Mapping[str, SessionStats] = field(default_factory=dict)
    recordings: Mapping[str, RecordingStats] = field(default_factory=dict)
    requests: tuple[RequestRecord, ...] = ()  # the most recent last
    errors: tuple[str, ...] = ()  # recent protocol errors, one line each

    @property
    def stalled_sessions(self) -> tuple[SessionStats, ...]:
        return tuple(s for s in self.sessions.values() if s.stalled)


def _bounded_json(body: Mapping[str, Any]) -> Mapping[str, Any]:
    text = json.dumps(body)
    return body if len(text) <= MAX_BODY_CHARS else {"truncated": True, "chars": len(text)}


class Stats:
    """The recorder; every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._snap = Snapshot()
        self._sessions: OrderedDict[str, SessionStats] = OrderedDict()
        self._recordings: OrderedDict[str, RecordingStats] = OrderedDict()
        self._requests: deque[RequestRecord] = deque(maxlen=MAX_REQUESTS)
        self._errors: deque[str] = deque(maxlen=50)

    def snapshot(self) -> Snapshot:
        with self._cond:
            return replace(
                self._snap,
                sessions=dict(self._sessions),
                recordings=dict(self._recordings),
                requests=tuple(self._requests),
                errors=tuple(self._errors),
            )

    def wait_until(self, predicate: Callable[[Snapshot], bool], timeout: float) -> bool:
        """Block until ``predicate(snapshot)`` holds; False if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.snapshot()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # -- updates (server thread) ---------------------------------------------------------

    def _session(self, session_id: str) -> SessionStats:
        found = self._sessions.get(session_id)
        if found is None:
            found = self._sessions[session_id] = SessionStats(session_id)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return found

    def _update(self, session_id: str, recording_delta: Mapping[str, Any], **changes: Any) -> None:
        """Apply ``changes`` to a session; add ``recording_delta`` to its recording's totals."""
        session = replace(self._session(session_id), **changes)
        self._sessions[session_id] = session
        if session.recording and recording_delta:
            self._bump_recording(session.recording, recording_delta)
        self._cond.notify_all()

    def _bump_recording(self, key: str, delta: Mapping[str, Any]) -> None:
        rec = self._recordings.get(key) or RecordingStats(key)
        values = {}
        for f in fields(RecordingStats):
            if f.name in delta:
                current = getattr(rec, f.name)
                values[f.name] = current + delta[f.name]
                if isinstance(values[f.name], tuple):
                    values[f.name] = values[f.name][-50:]
        self._recordings[key] = replace(rec, **values)
        while len(self._recordings) > MAX_RECORDINGS:
            self._recordings.popitem(last=False)

    def request(self, record: RequestRecord) -> None:
        with self._cond:
            accepted = record.status == 101
            session = self._session(record.session_id)
            self._snap = replace(
                self._snap,
                connections=self._snap.connections + 1,
                rejected=self._snap.rejected + (not accepted),
                open_connections=self._snap.open_connections + accepted,
            )
            self._requests.append(record)
            self._update(
                record.session_id,
                {"connections": 1} if accepted else {},
                connections=session.connections + accepted,
                rejected=session.rejected + (not accepted),
                open_connections=session.open_connections + accepted,
            )

    def connection_closed(self, session_id: str) -> None:
        with self._cond:
            session = self._session(session_id)
            self._snap = replace(self._snap, open_connections=self._snap.open_connections - 1)
            self._update(session_id, {}, open_connections=session.open_connections - 1)

    def _edit_request(self, number: int, **changes: Any) -> None:
        for index in range(len(self._requests) - 1, -1, -1):
            if self._requests[index].number == number:
                self._requests[index] = replace(self._requests[index], **changes)
                return

    def config(self, number: int, body: Mapping[str, Any]) -> None:
        with self._cond:
            self._edit_request(number, config=_bounded_json(body))
            self._cond.notify_all()

    def context(self, number: int, body: Mapping[str, Any]) -> None:
        with self._cond:
            for record in reversed(self._requests):
                if record.number == number:
                    contexts = (*record.contexts, _bounded_json(body))[-20:]
                    self._edit_request(number, contexts=contexts)
                    break
            self._cond.notify_all()

    def identified(self, session_id: str, recording: str) -> None:
        with self._cond:
            session = self._session(session_id)
            self._update(session_id, {}, recording=recording)
            self._bump_recording(
                recording,
                {
                    "sessions": 1,
                    "connections": session.connections,
                    "audio_seconds": session.audio_seconds,
                    "completed_turns": session.completed_turns,
                },
            )
            self._cond.notify_all()

    def turn_started(self, session_id: str, offset_seconds: float) -> None:
        with self._cond:
            s = self._session(session_id)
            offsets = (*s.turn_offsets, round(offset_seconds, 3))[-100:]
            self._update(session_id, {}, turns=s.turns + 1, turn_offsets=offsets)

    def turn_completed(self, session_id: str) -> None:
        with self._cond:
            s = self._session(session_id)
            self._update(session_id, {"completed_turns": 1}, completed_turns=s.completed_turns + 1)

    def turn_limited(self, session_id: str) -> None:
        with self._cond:
            s = self._session(session_id)
            self._update(session_id, {}, limited_turns=s.limited_turns + 1)

    def audio(self, session_id: str, seconds: float, replayed: float) -> None:
        with self._cond:
            s = self._session(session_id)
            self._update(
                session_id,
                {"audio_seconds": seconds},
                audio_seconds=s.audio_seconds + seconds,
                replayed_seconds=s.replayed_seconds + replayed,
            )

    def phrase_sent(self, session_id: str) -> None:
        with self._cond:
            s = self._session(session_id)
            self._update(session_id, {}, phrases=s.phrases + 1)

    def fault(self, session_id: str, spec: str) -> None:
        with self._cond:
            s = self._session(session_id)
            self._update(
                session_id,
                {"faults": (spec,)},
                faults=(*s.faults, spec)[-50:],
                stalled=s.stalled or spec.startswith("stall"),
            )

    def protocol_error(self, text: str) -> None:
        with self._cond:
            self._errors.append(text)
            self._snap = replace(self._snap, protocol_errors=self._snap.protocol_errors + 1)
            self._cond.notify_all()
