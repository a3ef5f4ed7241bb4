"""Adaptive concurrency: how many recognition sessions may run at once (AIMD).

The pool starts small and ramps up one session per success up to ``--workers``; when the service
says TooManyRequests the limit halves (at most once per ``cooldown`` seconds, since one burst of
429s is one signal) and the level it was throttled at becomes a ceiling that is approached
slowly afterwards: one more session only after ``probe_after`` successes in a row. A free-tier key
(1 concurrent session) thus settles at 1 with few 429s, while S0 grows back to ``--workers``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from batchscribe.cancel import CancelToken


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
        self._ceiling = maximum  # the level the service last pushed back at
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

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            grow = self.limit < self._ceiling or self._successes >= self._probe_after
            if grow and self.limit < self.maximum:
                self._set(self.limit + 1)
                self._successes = 0
                if self.limit > self._ceiling:
                    self._ceiling = self.limit

    def throttled_by_service(self) -> None:
        with self._cond:
            self.throttled += 1
            self._successes = 0
            now = self._clock()
            if now - self._last_decrease < self._cooldown:
                return
            self._last_decrease = now
            self._ceiling = max(1, self.active, self.limit) - 1 or 1
            self._set(max(1, self.limit // 2))

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self._cond.notify_all()
            if self._on_change is not None:
                self._on_change(limit)
