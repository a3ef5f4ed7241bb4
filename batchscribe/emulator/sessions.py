"""Session state that outlives a connection: the SDK reconnects with the same X-ConnectionId.

A session remembers what its recording is (so a resumed turn, whose audio starts mid-file, is
answered from the same script), how far its audio went (to count replays), and which of its
recording's faults it must suffer on every connection. The table also answers "how many
sessions hold a concurrency slot" for ``max_sessions``, and forgets sessions once they are done.

Only the server's event loop touches these objects; no locking.
"""

from __future__ import annotations

from collections import OrderedDict

from batchscribe.emulator.answers import Answerer
from batchscribe.emulator.faults import Fault
from batchscribe.emulator.fingerprint import FingerprintBuilder

RECONNECT_GRACE_S = 3.0  # a session that dropped unfinished keeps its slot this long
FORGET_DONE_S = 10.0  # keep a finished session briefly, in case its client comes back
FORGET_IDLE_S = 300.0  # forget an unfinished session with no connection after this long
MAX_SESSIONS = 20_000


class Session:
    def __init__(self, session_id: str, number: int) -> None:
        self.id = session_id
        self.number = number  # order of first appearance, from 1 (for sessions=K faults)
        self.open_connections = 0
        self.last_closed = 0.0
        self.finished = False  # a turn ended after the client's end of audio
        self.fingerprint: FingerprintBuilder | None = None
        self.answerer: Answerer | None = None
        self.recording_faults: tuple[Fault, ...] = ()
        self.high_water = 0.0  # seconds into the recording received so far

    def holds_slot(self, now: float) -> bool:
        if self.open_connections > 0:
            return True
        return not self.finished and now - self.last_closed < RECONNECT_GRACE_S

    def forgettable(self, now: float) -> bool:
        if self.open_connections > 0:
            return False
        return now - self.last_closed > (FORGET_DONE_S if self.finished else FORGET_IDLE_S)


class SessionTable:
    def __init__(self) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def get_or_create(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            self._count += 1
            session = self._sessions[session_id] = Session(session_id, self._count)
        return session

    def holding_slots(self, now: float) -> int:
        return sum(1 for s in self._sessions.values() if s.holds_slot(now))

    def sweep(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if s.forgettable(now)]:
            del self._sessions[key]
        while len(self._sessions) > MAX_SESSIONS:  # a flood of one-shot clients
            oldest = next(iter(self._sessions))
            if self._sessions[oldest].open_connections:
                break
            del self._sessions[oldest]
