"""The retry policy for transient failures: exponential backoff with jitter (tenacity).

Which failures are transient is decided beside the SDK (``engines/sdk_errors.py``); this module
only says how often and how long to wait, the wait cut short by cancellation.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from batchscribe.cancel import CancelToken
from batchscribe.errors import TransientEngineError


def build_retrying(
    retries: int,
    cancel: CancelToken,
    *,
    initial_wait: float = 1.0,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] | None = None,
) -> Retrying:
    """Exponential backoff with jitter for transient errors; the wait ends early on cancel."""

    def cancellable_sleep(seconds: float) -> None:
        cancel.wait(seconds)

    return Retrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=initial_wait, max=max_wait) + wait_random(0, initial_wait),
        retry=retry_if_exception_type(TransientEngineError),
        sleep=sleep or cancellable_sleep,
        reraise=True,
    )
