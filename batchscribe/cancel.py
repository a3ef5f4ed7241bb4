"""A cancellation token that wakes whoever waits on it, without polling.

``threading.Event`` can be waited on, but a thread cannot wait on two events at once. An engine
waits on its own completion event and must also wake when the run is cancelled, so the token
calls registered callbacks (e.g. ``done.set``) when it is set. ``join_attentively`` waits for a
thread while the signal handlers that cancel (Ctrl-C, SIGTERM) still run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class CancelToken:
    """Set once; every callback registered before or after runs exactly once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when cancelled (at once if already cancelled).

        Returns a function that unregisters it: long runs register one callback per session,
        and a token that outlives them must not keep them all.
        """
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._unregister(callback)
        callback()
        return lambda: None

    def _unregister(self, callback: Callable[[], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


# A signal (Ctrl-C, SIGTERM) may be delivered to any thread, the SDK's native ones included, and
# Python runs its handler only when the main thread next runs Python code: a main thread blocked in
# a plain join would hear Ctrl-C only once every file is done. Joining in short slices keeps the
# handler prompt; the slices decide nothing, the join still waits for the thread's end.
_SIGNAL_SLICE_S = 0.2


def join_attentively(thread: threading.Thread) -> None:
    """``thread.join()``, letting the main thread run signal handlers while it waits."""
    while thread.is_alive():
        thread.join(_SIGNAL_SLICE_S)
