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


class Reaper:
    """Stops (only sessions that did not end) and releases recognizers on daemon threads."""

    def __init__(self, threads: int = 4) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any] | None, list[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._run, name=f"batchscribe-reaper-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def release(
        self, stop: Callable[[], Any] | None, recognizer: Any, connection: Any, *keep_alive: Any
    ) -> None:
        self._queue.put((stop, [recognizer, connection, *keep_alive]))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
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
            objects.clear()  # the recognizer's native handle is released here, on this thread

    def close(self, timeout: float = 12.0) -> None:
        """Let the reapers finish what they hold; they are daemons, so exit never waits for them."""
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


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

    threading.Thread(target=wait, name="batchscribe-stop-wait", daemon=True).start()
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
