"""The websocket server: decide at the upgrade, hand accepted connections to ``Connection``.

At the upgrade it refuses, in this order: wrong credentials (401, only when a key or tokens are
configured: ``auth.py``), an ``http`` fault that hits this connection, and a new session beyond
``max_sessions`` (429). It also owns the session table and identifies each session's recording
(fingerprint -> script).

Everything here runs on one asyncio event loop; ``Emulator`` (``runtime.py``) gives it a thread.
"""

from __future__ import annotations

import asyncio
import http
import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from batchscribe.emulator import auth, fingerprint
from batchscribe.emulator.answers import Answerer
from batchscribe.emulator.connection import Connection, ConnectionInfo, Settings
from batchscribe.emulator.defaults import TURN_SECONDS
from batchscribe.emulator.faults import Fault
from batchscribe.emulator.scripts import Transcripts
from batchscribe.emulator.segmenter import SegmenterConfig
from batchscribe.emulator.sessions import Session, SessionTable
from batchscribe.emulator.stats import SECRET_HEADERS, RequestRecord, Stats

log = logging.getLogger("batchscribe.emulator")


MAX_MESSAGE_BYTES = 1 << 20  # the SDK sends 3.2 kB audio chunks; bound what one frame may hold
SWEEP_EVERY_S = 5.0


@dataclass
class ServerConfig:
    transcripts: Transcripts = field(default_factory=Transcripts)
    speed: float | None = None  # times real time; None answers as fast as audio arrives
    faults: tuple[Fault, ...] = ()
    max_sessions: int | None = None
    key: str | None = None  # when set, other keys get 401
    tokens: auth.BearerTokens | None = None  # when set, other bearer tokens get 401 (auth.py)
    segmenter: SegmenterConfig = field(default_factory=SegmenterConfig)
    turn_seconds: float | None = TURN_SECONDS  # None: turns end only with the audio


def _select_usp(connection: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Pick USP when offered; accept clients that offer nothing (raw test clients)."""
    for name in offered:
        if name.lower() == "usp":
            return name
    return None


def _reason(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}\n"
    except ValueError:
        return f"{status}\n"


class UspServer:
    def __init__(self, config: ServerConfig, stats: Stats) -> None:
        self.config = config
        self.stats = stats
        self.sessions = SessionTable()
        self._connections = 0
        self._recording_sessions: Counter[str] = Counter()
        self._accepted: dict[ServerConnection, ConnectionInfo] = {}
        self._server: Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._settings = Settings(
            speed=config.speed,
            segmenter=config.segmenter,
            identify=self.identify,
            stats=stats,
            turn_seconds=config.turn_seconds,
        )

    async def start(self, host: str, port: int) -> int:
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            select_subprotocol=_select_usp,
            compression=None,
            max_size=MAX_MESSAGE_BYTES,
            server_header="batchscribe-emulator",
            close_timeout=0.5,  # the SDK does not answer a close frame; do not wait long
        )
        self._sweeper = asyncio.create_task(self._sweep_loop())
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def set_faults(self, faults: tuple[Fault, ...]) -> None:
        self.config.faults = faults

    # -- upgrade --------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self._forget_failed_handshakes()
        self._connections += 1
        number = self._connections
        url = urlsplit(request.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers: Headers = request.headers
        session_id = headers.get("X-ConnectionId") or uuid.uuid4().hex
        session = self.sessions.get_or_create(session_id[:64])
        status, why = self._refusal(number, session, headers)
        record = RequestRecord(
            number=number,
            session_id=session.id,
            path=url.path,
            query=query,
            headers={k.lower(): v for k, v in headers.raw_items() if k.lower() not in SECRET_HEADERS},
            has_subscription_key="Ocp-Apim-Subscription-Key" in headers,
            has_authorization="Authorization" in headers,
            status=status or 101,
            refused_because=why,
        )
        self.stats.request(record)
        if status:
            log.info("refused connection %d (%s) with HTTP %d: %s", number, session.id, status, why)
            return connection.respond(status, _reason(status))
        session.open_connections += 1  # reserved now so max_sessions holds under a burst
        faults = tuple(f for f in self.config.faults if f.kind != "http" and f.hits(number, session.number))
        self._accepted[connection] = ConnectionInfo(number, session, url.path, query, faults)
        return None

    def _refusal(self, number: int, session: Session, headers: Headers) -> tuple[int, str]:
        """The HTTP status to refuse this upgrade with and why, or 0 to accept it."""
        why = auth.refusal(
            key=self.config.key,
            tokens=self.config.tokens,
            sent_key=headers.get("Ocp-Apim-Subscription-Key"),
            authorization=headers.get("Authorization"),
        )
        if why:
            return 401, why
        for fault in self.config.faults:
            if fault.kind == "http" and fault.hits(number, session.number):
                self.stats.fault(session.id, str(fault))
                return fault.code, f"fault {fault}"
        limit = self.config.max_sessions
        now = asyncio.get_running_loop().time()
        full = limit is not None and self.sessions.holding_slots(now) >= limit
        if full and not session.holds_slot(now):
            return 429, f"max_sessions={limit} reached"
        return 0, ""

    def _forget_failed_handshakes(self) -> None:
        """Release reservations of connections that closed before reaching the handler."""
        for connection in [c for c in self._accepted if c.state is State.CLOSED]:
            self._release(self._accepted.pop(connection))

    def _release(self, info: ConnectionInfo) -> None:
        info.session.open_connections -= 1
        info.session.last_closed = asyncio.get_running_loop().time()
        self.stats.connection_closed(info.session.id)

    # -- connections ----------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        info = self._accepted.pop(ws, None)
        if info is None:
            return
        try:
            await Connection(ws, info, self._settings).run()
        except Exception as exc:  # a bug or a hostile client: log it, keep serving others
            log.exception("connection %d failed", info.number)
            self.stats.protocol_error(f"connection {info.number} ({info.session.id}): {exc!r}")
            await ws.close(1011, "Internal emulator error")
        finally:
            self._release(info)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            self.sessions.sweep(asyncio.get_running_loop().time())

    # -- recordings -----------------------------------------------------------------------

    def identify(self, session: Session, ended: bool) -> None:
        """Name the session's recording from its fingerprint and attach its script and faults."""
        assert session.fingerprint is not None
        envelope = session.fingerprint.envelope()
        ended_at = session.fingerprint.seconds if ended else None
        match = self.config.transcripts.locate(envelope, ended_at=ended_at)
        entry = match.entry if match else None
        key = entry.id if entry else f"audio-{fingerprint.digest(envelope)}"
        session.answerer = Answerer(key, entry, match.offset if match else 0.0)
        self._recording_sessions[key] += 1
        ordinal = self._recording_sessions[key]
        if entry is not None:
            session.recording_faults = tuple(f for f in entry.faults if f.hits(1, ordinal))
        self.stats.identified(session.id, key)
        at = f", from {match.offset:.2f} s" if match and match.offset else ""
        log.debug("session %s is %s%s (session %d of it)", session.id, key, at, ordinal)
