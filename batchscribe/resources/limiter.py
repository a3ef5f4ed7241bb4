"""Adaptive concurrency: how many recognition sessions may run at once.

Like TCP's congestion control. **Slow start**: the limit starts at ``start`` and every session
the service admits promptly adds two slots: the admitted session keeps its own and two more may
connect, so the connections in flight double per round of prompt admissions (1, 3, 7, 15, ...;
96 sessions after seven rounds of connecting, a fraction of a second against a service that
admits them). Every success adds one slot too, up to ``maximum`` (``--workers``).

**Only the service's answers count as throttling**: a TooManyRequests or ServiceUnavailable
answer (or the engine's push-back signal, which says the service refused an upgrade) sets the
limit to the sessions the service holds open for this run when it comes (``open``: connected and
not over; never more than the limit was, at least 1), and ends slow start. A service that allows
N sessions refuses the N+1st while it holds N open, so that is its capacity; sessions holding a
slot are no measure of it (some are still connecting, the SDK retrying their refused upgrades).
Halving instead left a resource of 4 sessions at 2 or 3 and provoked a 429 each time it grew back
(issue 17 item 8). Every answer of a burst counts: each can only bring the limit to what is open,
never collapse it as repeated halving would. An engine that reports no connections gets the
limit halved. After it the limit grows back by one per ``max(limit, probe_after)`` successes, so
a free-tier key (1 session) settles at 1 and probes for a second one only every ``probe_after``
files; a *delayed* connection (below) while it probes above the limit the last refusal set is
most likely a refusal the SDK retried by itself, so the limit goes back to that and the probe
waits as long again. Measured (two emulators of 4 sessions, 6 allowed each, 96 files): 14.4 s
with halving, 13.0 s now (0.92 of ideal; one resource 32.8 s -> 26 s), refused connections about
as many.

**A slow connection is not throttling**: the SDK hides a refused upgrade by retrying it about
250 ms later, but a connection is just as slow when this machine is short of CPU, as it is
while a round of 30 sessions starts at once on two cores. So a connection that took
``retry_gap`` seconds longer than the fastest one seen is *delayed*: the service did take the
session, so it still adds one slot (the connections in flight stay as many instead of
doubling), and it never halves the limit; it is counted in ``delayed_connects`` so the run can
say "connections were slow here". Measured (bench/bench_ramp.py): holding the ramp on delayed
connections instead took 20 s to reach 96 sessions on a busy 2-core machine.

``active`` is the number of sessions holding a slot right now (``peak_active`` the most at once),
which the limit is only an upper bound for; ``open`` those of them connected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from batchscribe.cancel import CancelToken

# The SDK retries a refused upgrade about 250 ms apart (SDK_FACTS.md): a connection this much
# slower than the fastest one had a retry in it, or waited for this machine's CPU.
RETRY_GAP_S = 0.2
SLOTS_PER_PROMPT_ADMISSION = 2
SLOTS_PER_DELAYED_ADMISSION = 1


class AdaptiveLimiter:
    """A semaphore whose size follows the service's answers; implements ``engines.base.Congestion``.

    ``condition``: a condition variable (over a re-entrant lock, as ``threading.Condition()``
    makes by default) shared with other limiters: a ``Rotation`` holds one limiter per
    resource and waits on all of them at once. By default the limiter has its own.
    """

    def __init__(
        self,
        maximum: int,
        *,
        start: int = 2,
        probe_after: int = 20,
        retry_gap: float = RETRY_GAP_S,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[int], None] | None = None,
        condition: threading.Condition | None = None,
    ) -> None:
        if maximum < 1:
            raise ValueError(f"maximum must be at least 1, not {maximum}")
        self.maximum = maximum
        self.limit = max(1, min(start, maximum))
        self.active = 0  # sessions holding a slot now
        self.open = 0  # sessions connected and not over (``connected`` .. ``closed``)
        self.peak_active = 0
        self.peak_limit = self.limit
        self.throttled = 0  # throttling answers from the service
        self.admitted_promptly = 0
        self.delayed_connects = 0  # slow connections: a busy machine or an SDK retry, never halved
        self.fastest_connect: float | None = None
        self._ramping = True  # slow start: until the service first pushes back
        self._refused_at: int | None = None  # the limit the service's last refusal set
        self._successes = 0
        self._probe_after = probe_after
        self._retry_gap = retry_gap
        self._clock = clock
        self._on_change = on_change
        self._cond = condition or threading.Condition()

    @property
    def peak(self) -> int:
        """The highest limit reached (kept for callers that report it; prefer ``peak_active``)."""
        return self.peak_limit

    @property
    def slow_start(self) -> bool:
        """Still ramping up: no throttling answer from the service yet (or since ``restart``)."""
        return self._ramping

    @property
    def free(self) -> int:
        """Slots that may be taken now (0 when full)."""
        return max(0, self.limit - self.active)

    # -- slots ------------------------------------------------------------------------------

    @contextmanager
    def slot(self, cancel: CancelToken) -> Iterator[bool]:
        """Hold one session slot; yields False (holding nothing) if cancelled while waiting."""
        unregister = cancel.on_cancel(self._wake_all)
        try:
            with self._cond:
                self._cond.wait_for(lambda: cancel.is_cancelled() or self.active < self.limit)
                acquired = not cancel.is_cancelled() and self.try_acquire()
        finally:
            unregister()
        try:
            yield acquired
        finally:
            if acquired:
                self.release()

    def try_acquire(self) -> bool:
        """Take a slot if one is free, without waiting."""
        with self._cond:
            if self.active >= self.limit:
                return False
            self.active += 1
            self.peak_active = max(self.peak_active, self.active)
            return True

    def release(self) -> None:
        with self._cond:
            if self.active <= 0:
                raise RuntimeError("release() without a slot held")
            self.active -= 1
            self._cond.notify_all()

    @property
    def throttling(self) -> bool:
        """Whether the service has pushed back in this run (``engines.base.Congestion``)."""
        return self.throttled > 0

    def _wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- signals ----------------------------------------------------------------------------

    def connected(self, seconds: float) -> None:
        with self._cond:
            self.open += 1
            fastest = seconds if self.fastest_connect is None else min(self.fastest_connect, seconds)
            self.fastest_connect = fastest
            if seconds >= fastest + self._retry_gap:
                self.delayed_connects += 1
                grow = SLOTS_PER_DELAYED_ADMISSION
            else:
                self.admitted_promptly += 1
                grow = SLOTS_PER_PROMPT_ADMISSION
            if self.slow_start:
                self._set(self.limit + grow)
            elif grow == SLOTS_PER_DELAYED_ADMISSION and self.limit > (self._refused_at or self.maximum):
                # Probing above what the service last held: a late connection there is most
                # likely a refusal the SDK retried by itself. Back to that; the probe waits.
                self._successes = 0
                self._set(self._refused_at or self.limit)

    def closed(self) -> None:
        with self._cond:
            self.open = max(0, self.open - 1)

    def succeeded(self) -> None:
        with self._cond:
            if self.limit >= self.maximum:
                return
            self._successes += 1
            needed = 1 if self.slow_start else max(self.limit, self._probe_after)
            if self._successes >= needed:
                self._successes = 0
                self._set(self.limit + 1)

    def throttled_by_service(self) -> None:
        """The service refused a session: the limit goes to the sessions it holds open now."""
        with self._cond:
            self.throttled += 1
            self._ramping = False
            self._successes = 0
            held = self.open if self.fastest_connect is not None else self.limit // 2
            self._set(max(1, min(self.limit, held)))
            self._refused_at = self.limit

    def restart(self, start: int = 1) -> None:
        """Forget what was learnt and slow-start again from ``start`` (a resource back from an
        outage may not hold its old load)."""
        with self._cond:
            self._ramping = True
            self._refused_at = None
            self._successes = 0
            self._set(max(1, min(start, self.maximum)))

    def _set(self, limit: int) -> None:
        limit = min(limit, self.maximum)
        if limit != self.limit:
            self.limit = limit
            self.peak_limit = max(self.peak_limit, limit)
            self._cond.notify_all()
            if self._on_change is not None:
                self._on_change(limit)
