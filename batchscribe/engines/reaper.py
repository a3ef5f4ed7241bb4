"""Stop and release Speech SDK recognizers off the worker threads, so no slot waits on the SDK.

Measured with SDK 1.53: after an error, releasing a recognizer blocks its thread for ~1 s, and
~10 s if ``stop_*_async`` was called after the session had already stopped by itself; stopping a
stalled session takes ~10 s, and ``ResultFuture.get()`` has no timeout. None of that may hold a
worker slot, or land in whichever thread the garbage collector happens to run in, so the last
reference to every recognizer is dropped here. This module does not import the SDK: it is handed
callables and objects by ``engines/azure.py``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
_REAP_TIMEOUT_S = 30.0
_THREAD_PREFIX = "batchscribe-reaper"
_STOP_WAIT_PREFIX = "batchscribe-stop-wait"
_Jobs = queue.SimpleQueue[tuple[Callable[[], Any] | None, list[Any]] | None]  # None: the end


class Reaper:
    """Stops (only sessions that did not end) and releases recognizers on daemon threads.

    One more thread starts whenever a recognizer arrives and none is idle (up to ``max_threads``),
    so sessions are closed as fast as they finish even while slow stops (~10 s each) hold some
    threads; idle threads wait for the next recognizer until ``close``.
    """

    def __init__(self, max_threads: int = 256) -> None:
        self._queue: _Jobs = queue.SimpleQueue()
        self._max_threads = max_threads
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = 0
        self._closed = False

    def release(
        self,
        stop: Callable[[], Any] | None,
        recognizer: Any,
        connection: Any,
        *keep_alive: Any,
        detached: bool = False,
    ) -> None:
        """Stop (when ``stop`` is given) and release ``recognizer``; ``keep_alive`` (what its
        callbacks use) is released after it. ``detached``: on a thread of its own that ``close``
        does not wait for (a stalled session, whose stop takes the SDK ~10 s); the process still
        knows of it (``native_work_pending``)."""
        if detached:
            single: _Jobs = queue.SimpleQueue()
            single.put((stop, [recognizer, connection, *keep_alive]))
            single.put(None)
            threading.Thread(target=self._run, args=(single,), name=f"{_THREAD_PREFIX}-detached",
                             daemon=True).start()  # fmt: skip
            return
        with self._lock:
            if self._idle <= 0 and len(self._threads) < self._max_threads and not self._closed:
                thread = threading.Thread(target=self._run, name=f"{_THREAD_PREFIX}-{len(self._threads)}",
                                          daemon=True)  # fmt: skip
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1  # claimed now (below 0: owed to the queue once all are busy)
        self._queue.put((stop, [recognizer, connection, *keep_alive]))

    def _run(self, jobs: _Jobs | None = None) -> None:
        jobs = jobs or self._queue
        detached = jobs is not self._queue
        while (item := jobs.get()) is not None:
            stop, objects = item
            try:
                if stop is not None:
                    _wait_for_future(stop(), _REAP_TIMEOUT_S)
                close_quietly(objects[1])  # the websocket, unless the engine closed it already
                _disconnect_signals(objects[0])
                objects[1].connected.disconnect_all()
            except Exception:  # a reaper must outlive any one recognizer's trouble
                log.debug("stopping or disconnecting a recognizer failed", exc_info=True)
            del item, stop
            # Released here, on this thread, in the order given: the recognizer's native handle
            # first, then what its callbacks use (audio stream, event sinks), so none is gone
            # while the SDK could still call into it.
            while objects:
                del objects[0]
            if not detached:
                with self._lock:
                    self._idle += 1

    def close(self, timeout: float = 15.0) -> bool:
        """Let the reapers finish what they hold, at most ``timeout`` seconds; True when every
        recognizer is released (they are daemons, so exit never waits for them)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)


def native_work_pending() -> bool:
    """Whether a recognizer is still being stopped or released somewhere in this process.

    The SDK's native threads call into Python (events, the audio callback); if one does while
    the interpreter shuts down, the process dies with "FATAL: exception not rethrown" (SIGABRT,
    exit 134). A process for which this is True must leave with ``os._exit`` after flushing
    (``cli/exits.py``: the process-exit policy)."""
    return any(
        t.is_alive() and t.name.startswith((_THREAD_PREFIX, _STOP_WAIT_PREFIX)) for t in threading.enumerate()
    )


def close_quietly(connection: Any) -> None:
    """Close the websocket; the SDK refuses (RuntimeError) when an error already closed it."""
    with contextlib.suppress(RuntimeError):
        connection.close()


def _wait_for_future(future: Any, timeout: float) -> bool:
    """``ResultFuture.get()`` has no timeout: wait for it on a helper thread, at most ``timeout``."""
    finished = threading.Event()

    def wait() -> None:
        try:
            future.get()
        finally:
            finished.set()

    threading.Thread(target=wait, name=_STOP_WAIT_PREFIX, daemon=True).start()
    return finished.wait(timeout)


_SIGNALS = (
    "recognizing", "recognized", "transcribing", "transcribed", "canceled", "session_started",
    "session_stopped", "speech_start_detected", "speech_end_detected",
)  # fmt: skip


def _disconnect_signals(recognizer: Any) -> None:
    for name in _SIGNALS:
        try:
            signal = getattr(recognizer, name, None)
        except NotImplementedError:  # ConversationTranscriber has no `recognizing`/`recognized`
            continue
        if signal is not None:
            signal.disconnect_all()
