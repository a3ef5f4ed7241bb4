"""Adaptive concurrency: how many recognition sessions may run at once (AIMD).

Like TCP's congestion control: the pool starts at ``start`` sessions and, until the service first
pushes back, grows by one per session it admits at once and one per success (slow start) up to
``--workers``. When the service says
TooManyRequests (or makes the SDK retry its connections) the limit halves, at most once per
``cooldown`` seconds since one burst of 429s is one signal. After that it grows back slowly: one
more session per ``max(limit, probe_after)`` successes. A free-tier key (1 concurrent session)
thus settles at 1 and probes for a second session only every ``probe_after`` files.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from batchscribe.pipeline.cancel import CancelToken


class AdaptiveLimiter:
    """A semaphore whose size follows the service's throttling signals."""

    def __init__(
        self,
        maximum: int,
        *,
        start: int = 2,
        cooldown: float = 5.0,
        probe_after: int = 20,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.maximum = maximum
        self.limit = max(1, min(start, maximum))
        self.active = 0
        self.throttled = 0  # how many throttling signals were seen
        self.peak = self.limit
        self._successes = 0
        self._cooldown = cooldown
        self._probe_after = probe_after
        self._last_decrease = float("-inf")
        self._clock = clock
        self._on_change = on_change
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, cancel: CancelToken) -> Iterator[bool]:
        """Hold one session slot; yields False (holding nothing) if cancelled while waiting."""
        unregister = cancel.on_cancel(self._wake_all)
        try:
            with self._cond:
                self._cond.wait_for(lambda: cancel.is_cancelled() or self.active < self.limit)
                if cancel.is_cancelled():
                    acquired = False
                else:
                    self.active += 1
                    acquired = True
        finally:
            unregister()
        try:
            yield acquired
        finally:
            if acquired:
                with self._cond:
                    self.active -= 1
                    self._cond.notify()

    @property
    def throttling(self) -> bool:
        """Whether the service has pushed back in this run (``engines.base.Congestion``)."""
        return self.throttled > 0

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def admitted(self) -> None:
        """The service took a new session at once (no refused connection): during slow start
        that is reason enough to try one more, without waiting for a whole file to finish."""
        with self._cond:
            if not self.throttled and self.limit < self.maximum:
                self._set(self.limit + 1)

    def succeeded(self) -> None:
        with self._cond:
            if self.limit >= self.maximum:
                return
            self._successes += 1
            needed = 1 if not self.throttled else max(self.limit, self._probe_after)
            if self._successes >= needed:
                self._successes = 0
                self._set(self.limit + 1)

    def throttled_by_service(self) -> None:
        with self._cond:
            self.throttled += 1
            self._successes = 0
            now = self._clock()
            if now - self._last_decrease < self._cooldown:
                return
            self._last_decrease = now
            self._set(max(1, self.limit // 2))

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.peak = max(self.peak, limit)
            self._cond.notify_all()
            if self._on_change is not None:
                self._on_change(limit)
