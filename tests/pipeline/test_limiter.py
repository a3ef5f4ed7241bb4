"""The adaptive limiter halves on throttling, ramps back, and settles on a free tier."""

from __future__ import annotations

import threading

from batchscribe.pipeline.cancel import CancelToken
from batchscribe.pipeline.limiter import AdaptiveLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_ramps_up_one_per_success_to_the_maximum() -> None:
    limiter = AdaptiveLimiter(8, start=2)
    for _ in range(10):
        limiter.succeeded()
    assert limiter.limit == 8


def test_throttling_halves_once_per_cooldown_then_grows_back_slowly() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(8, start=8, cooldown=5, probe_after=3, clock=clock)
    limiter.throttled_by_service()
    limiter.throttled_by_service()  # same burst: ignored
    assert limiter.limit == 4 and limiter.throttled == 2
    for _ in range(3):
        limiter.succeeded()
    assert limiter.limit == 4  # one more only after max(limit, probe_after) = 4 successes
    limiter.succeeded()
    assert limiter.limit == 5
    clock.now += 10
    limiter.throttled_by_service()
    assert limiter.limit == 2


def test_free_tier_settles_at_one_with_few_throttles() -> None:
    """A service that allows one session: count how often the limiter provokes a 429."""
    clock = Clock()
    limiter = AdaptiveLimiter(8, start=2, cooldown=5, probe_after=20, clock=clock)
    throttles = 0
    for _ in range(200):
        clock.now += 1
        if limiter.limit > 1:
            throttles += 1
            limiter.throttled_by_service()
        else:
            limiter.succeeded()
    assert limiter.limit in (1, 2)
    assert throttles <= 200 // 20 + 1


def test_slot_blocks_at_the_limit_and_cancel_releases_waiters() -> None:
    limiter = AdaptiveLimiter(1, start=1)
    cancel = CancelToken()
    got: list[bool] = []
    with limiter.slot(cancel) as first:
        assert first
        waiter_ready = threading.Event()

        def wait_for_slot() -> None:
            waiter_ready.set()
            with limiter.slot(cancel) as acquired:
                got.append(acquired)

        thread = threading.Thread(target=wait_for_slot)
        thread.start()
        waiter_ready.wait(5)
        cancel.cancel("test")
        thread.join(5)
    assert got == [False]
    assert limiter.active == 0
