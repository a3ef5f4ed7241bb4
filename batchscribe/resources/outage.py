"""Stop a run that cannot work: the service is unreachable, not the files at fault.

Before any session has succeeded, a few failed attempts that never reached the service
(connection refused, DNS, TLS, timeouts: ``retry.unreachable``) end the run at once: retrying
every file with backoff would spend an hour of a 1,000-file night learning nothing new. Once a
session has succeeded, an outage is treated as transient (each file's retries bound it); only a
streak of such failures with no success in between that lasts ``sustained_s`` stops the run.
Anything that shows the service answered (a success, throttling, a rejected request) ends a streak.

With several Speech resources (``rotation``: a ``Rotation``), the rotation quarantines the ones that
cannot be reached and moves their sessions to the others; the run stops only when the rotation says
no resource is usable (every one rejected its credentials, none could ever be reached, or none
has been usable for a long while). Either way this is the one place that decides.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from batchscribe.engines.sdk_errors import Unreachable, unreachable
from batchscribe.errors import RunAbortedError

if TYPE_CHECKING:
    from batchscribe.resources.rotation import Rotation

FIRST_FAILURES = 3  # attempts that never reached the service, before any success, to give up
SUSTAINED_S = 120.0  # a streak of such failures this long, after successes, to give up


class OutageGuard:
    """Watches attempt outcomes; ``failed`` returns the error that should abort the run, if any."""

    def __init__(
        self,
        *,
        address: str = "",
        first_failures: int = FIRST_FAILURES,
        sustained_s: float = SUSTAINED_S,
        clock: Callable[[], float] = time.monotonic,
        rotation: Rotation | None = None,
    ) -> None:
        self._rotation = rotation
        self._address = address
        self._first_failures = first_failures
        self._sustained_s = sustained_s
        self._clock = clock
        self._lock = threading.Lock()
        self.reached = False  # some session succeeded in this run
        self._streak = 0
        self._streak_since = 0.0

    def succeeded(self) -> None:
        with self._lock:
            self.reached = True
            self._streak = 0

    def failed(self, error: BaseException) -> RunAbortedError | None:
        if self._rotation is not None:
            return self._rotation.abort_error() if self._rotation.unusable() is not None else None
        reason = unreachable(error)
        with self._lock:
            if reason is None:
                self._streak = 0  # the service answered: not an outage
                return None
            if self._streak == 0:
                self._streak_since = self._clock()
            self._streak += 1
            if not self.reached and self._streak >= self._first_failures:
                return self._error(reason, f"{self._streak} attempts failed and no session succeeded")
            lasted = self._clock() - self._streak_since
            if self.reached and self._streak >= self._first_failures and lasted >= self._sustained_s:
                return self._error(
                    reason, f"every session failed for {lasted:.0f} s ({self._streak} attempts)"
                )
            return None

    def _error(self, reason: Unreachable, how: str) -> RunAbortedError:
        address = reason.address or self._address or "the configured address"
        return RunAbortedError(
            f"cannot reach the Speech service at {address}: {reason.what}; {how}, so the run stopped",
            hint=reason.check,
        )
