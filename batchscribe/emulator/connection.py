"""One accepted websocket: read USP messages, run turns, pace the answers, inject faults.

Reading and sending are separate tasks so that a slow ``speed`` (answers paced to the audio
position) never stops the emulator from reading audio, which is what the real service does. A
fault fires when enough audio arrived on this connection (``after=``); connection-ending faults
drop whatever answers were still queued.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from batchscribe.emulator import render, usp
from batchscribe.emulator.faults import Fault
from batchscribe.emulator.render import TICKS_PER_SECOND, OutputOptions
from batchscribe.emulator.segmenter import SegmenterConfig
from batchscribe.emulator.sessions import Session
from batchscribe.emulator.stats import Stats
from batchscribe.emulator.turns import Identify, Outgoing, Turn

log = logging.getLogger("batchscribe.emulator")

MAX_CONTEXTS = 4  # speech.context bodies kept per connection (only the latest few matter)
MAX_OFFSET_TICKS = 366 * 24 * 3600 * TICKS_PER_SECOND  # a continuation past a year of audio is no recording


@dataclass(frozen=True)
class ConnectionInfo:
    """What the upgrade request told us, decided before the handshake completed."""

    number: int
    session: Session
    path: str
    query: dict[str, str]
    faults: tuple[Fault, ...]  # the emulator-wide faults that hit this connection


@dataclass(frozen=True)
class Settings:
    speed: float | None
    segmenter: SegmenterConfig
    identify: Identify
    stats: Stats
    turn_seconds: float | None = None  # audio per turn before the service ends it (None: no limit)


class Connection:
    def __init__(self, ws: ServerConnection, info: ConnectionInfo, settings: Settings) -> None:
        self.ws = ws
        self.info = info
        self.session = info.session
        self.settings = settings
        self.stats = settings.stats
        self.audio_seconds = 0.0  # received on this connection
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[float, str, Outgoing]] = asyncio.Queue()
        self._contexts: dict[str, dict[str, Any]] = {}
        self._last_context: dict[str, Any] | None = None
        self._turn: Turn | None = None
        self._turn_clock = 0.0
        self._quiet = False  # stalled or failed: answer nothing more
        self._fired: set[Fault] = set()

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        try:
            async for frame in self.ws:
                if not await self._on_frame(frame):
                    break
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    # -- receiving ------------------------------------------------------------------------

    async def _on_frame(self, frame: str | bytes) -> bool:
        """Handle one frame; False ends the connection."""
        try:
            message = usp.parse(frame)
            return await self._on_message(message)
        except usp.UspError as exc:
            text = f"connection {self.info.number} ({self.session.id}): {exc}"
            log.warning("closing connection after a malformed message: %s", text)
            self.stats.protocol_error(text)
            await self.ws.close(1007, "Malformed USP message")
            return False

    async def _on_message(self, message: usp.Message) -> bool:
        path = message.path
        if path == "speech.config":
            self.stats.config(self.info.number, message.json())
        elif path == "speech.context":
            body = message.json()
            self._contexts[message.request_id] = self._last_context = body
            while len(self._contexts) > MAX_CONTEXTS:
                del self._contexts[next(iter(self._contexts))]
            self.stats.context(self.info.number, body)
        elif path == "audio":
            return await self._on_audio(message)
        return True  # telemetry and anything else: ignored, as the service does

    def _new_turn(self, request_id: str) -> Turn:
        context = self._contexts.get(request_id, self._last_context)
        offset = 0
        continuation = render.dig(context or {}, "continuation", "audio", "streams", "1", "offset")
        if continuation is not None:
            try:
                offset = max(0, int(continuation))
            except (TypeError, ValueError, OverflowError):  # OverflowError: a float like 1e400
                raise usp.UspError(f"bad continuation offset {str(continuation)[:40]!r}") from None
            if offset > MAX_OFFSET_TICKS:
                raise usp.UspError(f"continuation offset {str(offset)[:40]} is past a year of audio")
        turn = Turn(
            request_id,
            self.session,
            OutputOptions.from_request(self.info.path, self.info.query, context),
            offset_ticks=offset,
            identify=self.settings.identify,
            segmenter=self.settings.segmenter,
            max_seconds=self.settings.turn_seconds,
        )
        self._turn_clock = self._loop.time()
        self.stats.turn_started(self.session.id, offset / TICKS_PER_SECOND)
        return turn

    async def _on_audio(self, message: usp.Message) -> bool:
        request_id = message.request_id or "0" * 32
        out: list[Outgoing] = []
        if self._turn is None or self._turn.request_id != request_id:
            self._turn = self._new_turn(request_id)
            tag = {"context": {"serviceTag": uuid.uuid4().hex}}
            out.append(Outgoing(0.0, "turn.start", tag))
        turn = self._turn
        if turn.ended:
            return True  # audio after the end of a turn: ignore, as late frames
        if message.payload:  # an empty payload is the client's end of audio
            answers, received, replayed = turn.audio(message.payload)
            self.audio_seconds += received
            if received:
                self.stats.audio(self.session.id, received, replayed)
        else:
            answers = turn.end()
        if answers and answers[-1].at_limit:
            self.stats.turn_limited(self.session.id)
        # Faults are checked after the audio, which may have identified the recording and so
        # armed its faults. One that ends or stalls the connection sends nothing of this
        # message's answers (those of earlier messages that are due go first); a status goes
        # right after turn.start, before the answers.
        due = self._due_faults()
        if any(fault.kind in ("stall", "close", "reset") for fault in due):
            await self._send_due()
        for fault in due:
            self._record(fault)
            if fault.kind == "stall":
                self._go_quiet()
            elif fault.kind == "close":
                self._go_quiet()
                await self.ws.close(fault.code, fault.reason)
                return False
            elif fault.kind == "reset":
                self._go_quiet()
                self._reset()
                return False
        statuses = [
            Outgoing(turn.seconds, "speech.phrase", render.no_match(0, 0, turn.options, f.status))
            for f in due
            if f.kind == "status"
        ]
        for item in out + statuses + answers:
            self._enqueue(item)
        return True

    # -- faults ---------------------------------------------------------------------------

    def _due_faults(self) -> list[Fault]:
        """Faults not yet fired on this connection whose ``after`` the audio has reached.

        A status phrase is zero-length, so it acknowledges nothing new. Measured with SDK 1.53:
        an error status is acted on (reconnect, then canceled) only once later messages come,
        as they do from the live service, so the answers go on after it.
        """
        due = []
        for fault in (*self.info.faults, *self.session.recording_faults):
            if fault not in self._fired and self.audio_seconds + 1e-9 >= fault.after:
                self._fired.add(fault)
                due.append(fault)
        return sorted(due, key=lambda f: f.kind == "status")  # ending faults first

    def _record(self, fault: Fault) -> None:
        self.stats.fault(self.session.id, str(fault))
        log.info("fault %s on connection %d (%s)", fault, self.info.number, self.session.id)

    def _go_quiet(self) -> None:
        self._quiet = True
        while not self._queue.empty():
            self._queue.get_nowait()

    def _reset(self) -> None:
        """Abortive close: SO_LINGER 0 makes the kernel send RST instead of FIN."""
        sock = self.ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.ws.transport.abort()

    # -- sending --------------------------------------------------------------------------

    def _enqueue(self, item: Outgoing) -> None:
        if self._quiet or self._turn is None:
            return
        speed = self.settings.speed
        due = self._turn_clock + item.at / speed if speed else 0.0
        self._queue.put_nowait((due, self._turn.request_id, item))

    async def _send_loop(self) -> None:
        while True:
            due, request_id, item = await self._queue.get()
            delay = due - self._loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._quiet:
                continue
            if not await self._send(request_id, item):
                return

    async def _send_due(self) -> None:
        """Send the queued answers whose time has come, before the connection ends or stalls.

        Which answers reach the client before a fault must depend on the audio position only,
        not on whether the send loop got a turn first: the client resumes from what was
        acknowledged, and a test of that must not hang on the machine's load.
        """
        while not self._queue.empty():
            due, request_id, item = self._queue.get_nowait()
            if due > self._loop.time() or not await self._send(request_id, item):
                break

    async def _send(self, request_id: str, item: Outgoing) -> bool:
        """Send one answer; False once the connection is closed."""
        try:
            await self.ws.send(usp.build(item.path, request_id, item.body))
        except ConnectionClosed:
            return False
        if item.path == "speech.phrase":
            self.stats.phrase_sent(self.session.id)
        elif item.path == "turn.end" and not item.at_limit:  # after the client's end of audio
            self.session.finished = True
            self.stats.turn_completed(self.session.id)
        return True
