"""The adaptive limiter: slow start that doubles per round, comes down to the sessions open only on
the service's answers, ramps back, settles on a free tier, and counts the sessions actually open."""

from __future__ import annotations

import threading

import pytest

from batchscribe.cancel import CancelToken
from batchscribe.resources.limiter import AdaptiveLimiter


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


def open_sessions(limiter: AdaptiveLimiter, count: int, *, connected: int) -> None:
    """``count`` sessions take a slot; ``connected`` of them get their connection up."""
    for n in range(count):
        assert limiter.try_acquire()
        if n < connected:
            limiter.connected(0.01)


def test_a_refusal_sets_the_limit_to_the_sessions_open_not_half() -> None:
    """Issue 17 item 8: a service of 4 sessions, 6 allowed here: the 5th and 6th are refused."""
    limiter = AdaptiveLimiter(6, start=6)
    open_sessions(limiter, 6, connected=4)
    for _ in range(2):  # both refused sessions answer 429 and give their slots back
        limiter.release()
        limiter.throttled_by_service()
    assert limiter.limit == 4 and limiter.throttled == 2 and not limiter.slow_start
    assert limiter.open == 4 and limiter.active == 4


def test_sessions_over_are_no_longer_open() -> None:
    limiter = AdaptiveLimiter(8, start=8)
    open_sessions(limiter, 5, connected=5)
    for _ in range(3):
        limiter.closed()
        limiter.release()
    assert limiter.open == 2
    limiter.throttled_by_service()
    assert limiter.limit == 2


def test_after_a_refusal_the_limit_grows_back_slowly_and_a_second_refusal_resets_it() -> None:
    limiter = AdaptiveLimiter(8, start=8, probe_after=3)
    open_sessions(limiter, 5, connected=4)
    limiter.release()
    limiter.throttled_by_service()
    assert limiter.limit == 4
    for _ in range(3):
        limiter.succeeded()
    assert limiter.limit == 4  # one more only after max(limit, probe_after) = 4 successes
    limiter.succeeded()
    assert limiter.limit == 5
    assert limiter.try_acquire()  # the 5th is refused again while 4 are open
    limiter.release()
    limiter.throttled_by_service()
    assert limiter.limit == 4


def test_a_late_connection_while_probing_above_the_last_refusal_goes_back_to_it() -> None:
    """The SDK retries a refused upgrade by itself: above the limit the service last held, a
    connection that took a retry's time longer is the service saying no again."""
    limiter = AdaptiveLimiter(8, start=8, probe_after=2)
    open_sessions(limiter, 5, connected=4)
    limiter.release()
    limiter.throttled_by_service()
    assert limiter.limit == 4
    for _ in range(4):
        limiter.succeeded()
    assert limiter.limit == 5  # probing for a fifth
    assert limiter.try_acquire()
    limiter.connected(0.3)  # in, but a retry later
    assert limiter.limit == 4 and limiter.delayed_connects == 1
    for _ in range(3):
        limiter.succeeded()
    assert limiter.limit == 4  # the probe waits max(limit, probe_after) successes again
    limiter.connected(0.3)  # at the limit the last refusal set: a slow machine, nothing more
    assert limiter.limit == 4


def test_an_engine_that_reports_no_connections_gets_the_limit_halved() -> None:
    limiter = AdaptiveLimiter(8, start=8)
    limiter.throttled_by_service()
    assert limiter.limit == 4


def test_free_tier_settles_at_one_with_few_throttles() -> None:
    """A service that allows one session: count how often the limiter provokes a 429."""
    limiter = AdaptiveLimiter(8, start=2, probe_after=20)
    throttles = 0
    for _ in range(200):  # rounds: as many sessions start as the limit allows; one gets in
        started = 0
        while limiter.try_acquire():
            started += 1
        limiter.connected(0.01)
        for _ in range(started - 1):
            throttles += 1
            limiter.release()
            limiter.throttled_by_service()
        limiter.succeeded()
        limiter.closed()
        limiter.release()
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


def rounds_to_reach(limiter: AdaptiveLimiter, target: int, connect_s: float = 0.01) -> int:
    """Rounds of connecting: every free slot starts a session, and all of them connect."""
    rounds = 0
    while limiter.active < target:
        rounds += 1
        started = 0
        while limiter.try_acquire():
            started += 1
        assert started, "the limit stopped growing"
        for _ in range(started):
            limiter.connected(connect_s)
        assert rounds < 50
    return rounds


def test_slow_start_doubles_per_round_of_prompt_admissions() -> None:
    limiter = AdaptiveLimiter(96, start=1)
    limits: list[int] = []
    while limiter.active < 96:
        connecting = 0
        while limiter.try_acquire():
            connecting += 1
        limits.append(limiter.limit)
        for _ in range(connecting):
            limiter.connected(0.01)
    assert limits == [1, 3, 7, 15, 31, 63, 96]
    assert limiter.active == limiter.peak_active == 96 and limiter.limit == 96


def test_ninety_six_sessions_in_seven_rounds_from_one() -> None:
    """The old ramp added one slot per admission: one new connection per round, 96 rounds."""
    assert rounds_to_reach(AdaptiveLimiter(96, start=1), 96) == 7
    assert rounds_to_reach(AdaptiveLimiter(192, start=1), 192) == 8


@pytest.mark.parametrize(
    ("earlier", "seconds", "grows"),
    [
        ((), 0.5, 2),  # the first connection sets the yardstick, however slow (cold SDK)
        ((0.01,), 0.02, 2),
        ((0.01,), 0.2, 2),  # within the retry gap of the fastest
        ((0.01,), 0.22, 1),  # one SDK retry (~250 ms) or a busy CPU: delayed
        ((0.01,), 0.75, 1),
        ((0.5,), 0.05, 2),  # faster than anything before: the new yardstick
        ((0.5, 0.05), 0.5, 1),
    ],
)
def test_prompt_or_delayed_connection(earlier: tuple[float, ...], seconds: float, grows: int) -> None:
    limiter = AdaptiveLimiter(1000, start=1)
    for s in earlier:
        limiter.connected(s)
    before, delayed = limiter.limit, limiter.delayed_connects
    limiter.connected(seconds)
    assert limiter.limit == before + grows
    assert limiter.delayed_connects == delayed + (grows == 1)
    assert limiter.throttled == 0


def test_slow_local_connections_never_halve_the_limit_nor_count_as_throttling() -> None:
    """192 sessions on a CPU that cannot keep up: connections slow down as sessions pile up;
    the limit still reaches the maximum, one slot per delayed admission."""
    limiter = AdaptiveLimiter(192, start=1)
    for _ in range(40):
        started = 0
        while limiter.try_acquire():
            started += 1
        for _ in range(started):
            limiter.connected(0.01 + limiter.active * 0.004)  # 50 sessions: ~0.21 s
        for _ in range(limiter.active // 4):
            limiter.release()
            limiter.succeeded()
    assert limiter.throttled == 0 and limiter.slow_start
    assert limiter.delayed_connects > 0
    assert limiter.peak_limit == limiter.limit == 192  # never went down


def test_delayed_connections_keep_as_many_in_flight_per_round() -> None:
    limiter = AdaptiveLimiter(96, start=1)
    limiter.connected(0.01)  # the yardstick
    limiter.try_acquire()
    in_flight = []
    for _ in range(4):
        connecting = 0
        while limiter.try_acquire():
            connecting += 1
        in_flight.append(connecting)
        for _ in range(connecting):
            limiter.connected(0.5)
    assert in_flight == [2, 2, 2, 2]


def test_a_service_answer_ends_slow_start() -> None:
    limiter = AdaptiveLimiter(96, start=1)
    rounds_to_reach(limiter, 15)
    assert limiter.limit == 31 and limiter.open == 15
    limiter.throttled_by_service()
    assert limiter.limit == 15 and not limiter.slow_start and limiter.throttled == 1
    limiter.connected(0.01)  # prompt admissions no longer grow it
    assert limiter.limit == 15


def test_active_is_the_sessions_open_not_the_limit() -> None:
    limiter = AdaptiveLimiter(50, start=10)
    cancel = CancelToken()
    with limiter.slot(cancel) as first, limiter.slot(cancel) as second:
        assert first and second
        assert limiter.active == 2 and limiter.limit == 10 and limiter.free == 8
    assert limiter.active == 0 and limiter.peak_active == 2 and limiter.peak == 10


def test_restart_slow_starts_again_but_keeps_the_counts() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(64, start=8, clock=clock)
    limiter.throttled_by_service()
    limiter.restart(1)
    assert limiter.limit == 1 and limiter.slow_start and limiter.throttled == 1
    limiter.connected(0.01)
    assert limiter.limit == 3


def test_on_change_hears_every_new_limit_capped_at_the_maximum() -> None:
    seen: list[int] = []
    limiter = AdaptiveLimiter(4, start=1, on_change=seen.append)
    for _ in range(3):
        limiter.connected(0.01)
    assert seen == [3, 4]


def test_release_without_a_slot_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        AdaptiveLimiter(2).release()
