"""``Emulator``: the server on its own thread and event loop, as a context manager.

    with Emulator(transcripts="t.yaml", speed=2.0, faults=["http:429:first=2"]) as emu:
        config = speechsdk.SpeechConfig(host=emu.url, subscription="any")
        ...
        assert emu.stats().recordings["meeting"].sessions == 1

Azure's REST APIs (``apis.py``) are served at ``emu.rest_url`` (``http://host:rest_port``).

``stop()`` closes every connection, ends the loop and joins the thread; nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

from batchscribe.emulator.apis import ApiContext, routes
from batchscribe.emulator.auth import BearerTokens
from batchscribe.emulator.batch_api import BatchService
from batchscribe.emulator.defaults import TURN_SECONDS
from batchscribe.emulator.faults import Fault, as_faults
from batchscribe.emulator.openai_api import OpenAiEmulation, OpenAiFault
from batchscribe.emulator.rest import RestAuth, RestServer, RestStats
from batchscribe.emulator.scripts import Transcripts
from batchscribe.emulator.segmenter import SegmenterConfig
from batchscribe.emulator.server import ServerConfig, UspServer
from batchscribe.emulator.stats import Snapshot, Stats
from batchscribe.errors import UsageError

START_TIMEOUT_S = 10.0
MIN_TURN_SECONDS = 1.0


class Emulator:
    """A local Speech service stand-in speaking USP on ``ws://host:port``.

    ``transcripts``: a ``Transcripts`` or the path of a transcripts file (a missing file means
    no scripts). ``speed``: answer no earlier than audio position / speed after a turn starts
    (None: as fast as audio arrives). ``faults``: specs or ``Fault``s (see ``faults.py``).
    ``max_sessions``: concurrent sessions allowed; more get HTTP 429. ``key``: when set, other
    subscription keys get HTTP 401. ``tokens``: when set (a ``BearerTokens``, or tokens valid for
    ever), other ``Authorization: Bearer`` tokens, and expired ones, get HTTP 401 (``auth.py``).
    Each instance has its own port, thread, faults and stats: several run in one process at once
    (several Speech resources). ``turn_seconds``: audio per turn before the emulator ends
    the turn and the SDK goes on in a new one, as the live service does every 600 s (None: turns
    end only with the audio). ``port=0`` picks a free port. ``openai_faults`` and
    ``openai_context_tokens``: how the REST side's chat completions fail (``openai_api.py``);
    ``emulator.openai`` counts what they answered.
    """

    def __init__(
        self,
        *,
        transcripts: Transcripts | Path | str | None = None,
        speed: float | None = None,
        faults: Iterable[Fault | str] = (),
        max_sessions: int | None = None,
        key: str | None = None,
        tokens: BearerTokens | Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        segmenter: SegmenterConfig | None = None,
        turn_seconds: float | None = TURN_SECONDS,
        rest_port: int = 0,
        openai_faults: Iterable[OpenAiFault | str] = (),
        openai_context_tokens: int | None = None,
    ) -> None:
        if speed is not None and speed <= 0:
            raise UsageError(f"speed must be above 0, not {speed}")
        if max_sessions is not None and max_sessions < 1:
            raise UsageError(f"max_sessions must be at least 1, not {max_sessions}")
        if turn_seconds is not None and turn_seconds < MIN_TURN_SECONDS:
            raise UsageError(
                f"a turn must last at least {MIN_TURN_SECONDS:g} s of audio, not {turn_seconds:g} s",
                hint="for turns without a limit use --turn-seconds 0 (turn_seconds=None)",
            )
        if transcripts is None or isinstance(transcripts, Transcripts):
            scripts = transcripts or Transcripts()
        else:
            scripts = Transcripts.load(Path(transcripts))
        self.host = host
        self._requested_port = port
        self.port = 0
        self._stats = Stats()
        self._config = ServerConfig(
            transcripts=scripts,
            speed=speed,
            faults=as_faults(faults),
            max_sessions=max_sessions,
            key=key,
            tokens=tokens if tokens is None or isinstance(tokens, BearerTokens) else BearerTokens(tokens),
            segmenter=segmenter or SegmenterConfig(),
            turn_seconds=turn_seconds,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: UspServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._rest: RestServer | None = None
        self._rest_port = rest_port
        self.batch = BatchService(scripts)  # batch transcription's jobs; tests set ``batch.faults``
        self.openai = OpenAiEmulation.of(openai_faults, openai_context_tokens)  # chat completions
        self._api = ApiContext(
            self._config.transcripts,
            self._config.speed,
            self.openai,
            lambda: self._config.faults,
            batch=self.batch,
        )

    @property
    def tokens(self) -> BearerTokens | None:
        """The token validator; accept, refresh or expire tokens on it while the emulator runs."""
        return self._config.tokens

    @property
    def url(self) -> str:
        """What to give ``SpeechConfig(host=...)``."""
        return f"ws://{self.host}:{self.port}"

    @property
    def rest_url(self) -> str:
        """Where the REST APIs are served (``--endpoint`` for the fast and batch engines)."""
        if self._rest is None:
            raise RuntimeError("emulator not started")
        return self._rest.url

    def rest_stats(self) -> RestStats:
        """Requests the REST side answered, per route and status."""
        if self._rest is None:
            raise RuntimeError("emulator not started")
        return self._rest.stats

    def start(self) -> Emulator:
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        try:
            self._rest = RestServer(
                routes(self._api),
                RestAuth(self._config.key, self._config.tokens),
                self.host,
                self._rest_port,
            ).start()
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {self.host}:{self._rest_port}: {exc}",
                hint="choose another --rest-port, or 0 for a free one",
            ) from exc
        name = f"batchscribe-emulator-{id(self):x}"  # one per instance: several may run at once
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self._rest.stop()
            raise RuntimeError("emulator did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            self._rest.stop()
            self._rest = None
            raise UsageError(
                f"cannot listen on {self.host}:{self._requested_port}: {self._error}",
                hint="choose another --port, or 0 for a free one",
            ) from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close all connections and join the thread. Safe to call twice."""
        thread, loop, stop = self._thread, self._loop, self._stop
        self.openai.close()
        self._api.closed.set()  # requests held back (pacing, a stall) end now
        if self._rest is not None:
            self._rest.stop()
            self._rest = None
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- observing and steering -----------------------------------------------------------

    def stats(self) -> Snapshot:
        """A frozen snapshot of what the emulator saw so far."""
        return self._stats.snapshot()

    def wait_until(self, predicate: Callable[[Snapshot], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(stats)`` holds; False after ``timeout`` seconds."""
        return self._stats.wait_until(predicate, timeout)

    def set_faults(self, faults: Iterable[Fault | str]) -> None:
        """Replace the emulator-wide faults; they apply to connections opened from now on."""
        parsed = as_faults(faults)
        loop, server = self._loop, self._server
        if loop is None or server is None:
            self._config.faults = parsed
            return
        done = threading.Event()

        def apply() -> None:
            server.set_faults(parsed)
            done.set()

        loop.call_soon_threadsafe(apply)
        done.wait(START_TIMEOUT_S)

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                raise

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = UspServer(self._config, self._stats)
        self.port = await server.start(self.host, self._requested_port)
        self._server = server
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.stop()
