"""Several resources: spread by free capacity, quarantine with backoff and a probe, credentials
rejected for the run, abort when none is usable, per-resource stats. Fake clock, no sleeps."""

from __future__ import annotations

import threading

import pytest

from batchscribe.cancel import CancelToken
from batchscribe.errors import EXIT_ABORTED, UsageError
from batchscribe.resources.rotation import FailureKind, Lease, QuarantinePolicy, Resource, Rotation


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def region(name: str, sessions: int = 4, variable: str = "") -> Resource:
    return Resource("region", name, key_variable=variable or f"KEY_{name.upper()}", max_sessions=sessions)


def fill(rotation: Rotation) -> list[Lease]:
    leases = []
    while (lease := rotation.try_acquire()) is not None:
        leases.append(lease)
    return leases


def fail_next(rotation: Rotation, kind: FailureKind, times: int = 1) -> None:
    """The next ``times`` sessions fail to connect."""
    for _ in range(times):
        lease = rotation.try_acquire()
        assert lease is not None
        lease.failed(kind)
        lease.release()


def ramp(rotation: Rotation) -> list[Lease]:
    """Connect every session promptly until the rotation hands out no more."""
    held: list[Lease] = []
    while new := fill(rotation):
        for lease in new:
            lease.connected(0.01)
        held += new
    return held


def test_the_same_resource_twice_or_none_is_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        Rotation([region("westeurope"), region("westeurope")])
    with pytest.raises(UsageError, match="no Speech resource"):
        Rotation([])


# -- spreading --------------------------------------------------------------------------------


def test_healthy_resources_are_used_equally_and_add_up() -> None:
    rotation = Rotation([region("a"), region("b"), region("c")], clock=Clock())
    held = ramp(rotation)
    assert len(held) == 12 == rotation.maximum == rotation.active
    assert [s.peak_active for s in rotation.stats()] == [4, 4, 4]


def test_the_next_session_goes_where_most_is_free() -> None:
    rotation = Rotation([region("small", 2), region("big", 10)], start=8, clock=Clock())
    names = [lease.resource.location for lease in fill(rotation)]
    assert names.count("big") == 8 and names.count("small") == 2
    assert names[0] == "big"


def test_a_released_slot_is_handed_out_again() -> None:
    rotation = Rotation([region("a", 1)], clock=Clock())
    lease = rotation.try_acquire()
    assert lease is not None and rotation.try_acquire() is None
    lease.release()
    lease.release()  # twice is harmless
    assert rotation.try_acquire() is not None


# -- quarantine -------------------------------------------------------------------------------


def test_a_refused_resource_leaves_the_rotation_and_comes_back_after_a_probe() -> None:
    clock = Clock()
    rotation = Rotation([region("a"), region("b")], clock=clock)
    first = rotation.try_acquire()
    assert first is not None and first.resource.location == "a"
    first.failed("refused", "ECONNREFUSED")
    first.release()
    assert {lease.resource.location for lease in ramp(rotation)} == {"b"}
    assert rotation.stats()[0].state == "quarantined"

    clock.now += 5.0  # the first backoff
    probe = rotation.try_acquire()
    assert probe is not None and probe.resource.location == "a" and probe.probe
    assert rotation.try_acquire() is None  # one probe at a time, b is full
    clock.now += 1.0
    probe.connected(0.01)
    a = rotation.stats()[0]
    assert a.state == "healthy" and a.quarantined_s == pytest.approx(6.0)
    assert a.reasons == ("connection refused: ECONNREFUSED",) and a.failures == {"refused": 1}
    assert a.limit == 3  # slow start again from 1, then this prompt admission


def test_a_failed_probe_doubles_the_backoff_up_to_the_maximum() -> None:
    clock = Clock()
    policy = QuarantinePolicy(first_backoff=5, max_backoff=30)
    rotation = Rotation([region("a"), region("b")], clock=clock, policy=policy)
    lease = rotation.try_acquire()
    assert lease is not None and lease.resource.location == "a"
    lease.failed("refused")
    lease.release()
    waits = []
    for _ in range(5):
        waited = 0.0
        while (probe := rotation.try_acquire()) is None or probe.resource.location != "a":
            if probe is not None:
                probe.release()
            clock.now += 1
            waited += 1
        waits.append(waited)
        probe.failed("server_error", "503")  # a failed probe goes straight back
        probe.release()
    assert waits == [5, 10, 20, 30, 30]


def test_a_stall_takes_the_resource_out_and_only_a_finished_probe_brings_it_back() -> None:
    """Issue 17 item 7: a stalling resource connects, so connecting proves nothing."""
    clock = Clock()
    pool = Rotation([region("a"), region("b")], start=4, clock=clock)
    on_a = [lease for lease in fill(pool) if lease.resource.location == "a"]
    assert len(on_a) == 4
    for lease in on_a:  # every session on it stalls, each after the stall timeout
        lease.connected(0.01)
        lease.failed("stalled")
        lease.release()
    a = pool.stats()[0]
    assert a.state == "quarantined" and a.failures == {"stalled": 4}
    assert a.quarantines == 1  # the sessions already on it when it went out add no strike
    assert "stalled" in a.reasons[0]

    clock.now += 5.0  # the first backoff, not 5 * 2**3
    probe = pool.try_acquire()
    assert probe is not None and probe.resource.location == "a" and probe.probe
    probe.connected(0.01)
    assert pool.stats()[0].state == "probing"  # connected, and still out
    assert all(lease.resource.location == "b" for lease in fill(pool))
    probe.succeeded(2.0)
    probe.release()
    assert pool.stats()[0].state == "healthy"


def test_a_probe_that_stalls_again_goes_back_for_longer() -> None:
    clock = Clock()
    pool = Rotation([region("a"), region("b")], clock=clock)
    lease = pool.try_acquire()
    assert lease is not None and lease.resource.location == "a"
    lease.connected(0.01)
    lease.failed("stalled")
    lease.release()
    clock.now += 5.0
    probe = pool.try_acquire()
    assert probe is not None and probe.probe
    probe.connected(0.01)
    probe.failed("stalled")
    probe.release()
    clock.now += 5.0
    assert all(lease.resource.location == "b" for lease in fill(pool))  # now out for 10 s
    assert pool.stats()[0].state == "quarantined" and pool.stats()[0].quarantines == 2


@pytest.mark.parametrize(("kind", "strikes"), [("refused", 1), ("server_error", 2), ("timeout", 3)])
def test_failures_in_a_row_before_quarantine(kind: str, strikes: int) -> None:
    rotation = Rotation([region("a", 8), region("b", 8)], start=8, clock=Clock())
    for n in range(1, strikes + 1):
        lease = rotation.try_acquire()
        while lease is not None and lease.resource.location != "a":
            lease = rotation.try_acquire()
        assert lease is not None
        lease.failed(kind)  # type: ignore[arg-type]
        lease.release()
        assert (rotation.stats()[0].state == "quarantined") is (n == strikes)


def test_a_connection_in_between_resets_the_count() -> None:
    rotation = Rotation([region("a", 8)], start=8, clock=Clock())
    for _ in range(4):
        failing, working = rotation.try_acquire(), rotation.try_acquire()
        assert failing is not None and working is not None
        failing.failed("timeout")
        working.connected(0.01)
        failing.release()
        working.release()
    assert rotation.stats()[0].state == "healthy" and rotation.stats()[0].failures == {"timeout": 4}


def test_rejected_credentials_take_a_resource_out_for_the_run_and_name_it() -> None:
    clock = Clock()
    rotation = Rotation([region("a", variable="SPEECH_KEY_A"), region("b")], clock=clock)
    lease = rotation.try_acquire()
    assert lease is not None and lease.resource.location == "a"
    lease.failed("credentials", "AuthenticationFailure (401)")
    lease.release()
    clock.now += 1e6
    assert {lease.resource.location for lease in ramp(rotation)} == {"b"}
    a = rotation.stats()[0]
    assert a.state == "disabled" and a.quarantined_s == pytest.approx(1e6)
    assert a.reasons == ("its key (from SPEECH_KEY_A) was rejected: AuthenticationFailure (401)",)
    assert "SPEECH_KEY_A" in a.describe() and rotation.unusable() is None


# -- when to give up --------------------------------------------------------------------------


def test_every_resource_rejecting_its_credentials_aborts_the_run() -> None:
    rotation = Rotation([region("a"), Resource("endpoint", "wss://e/x", entra=True)], clock=Clock())
    fail_next(rotation, "credentials", 2)
    reason = rotation.unusable()
    assert reason is not None and "every Speech resource rejected its credentials" in reason
    assert "KEY_A" in reason and "Entra ID token" in reason
    assert rotation.abort_error().exit_code == EXIT_ABORTED
    assert rotation.acquire(CancelToken()) is None


def test_all_down_from_the_start_aborts_at_once() -> None:
    rotation = Rotation([region("a"), region("b")], clock=Clock())
    fail_next(rotation, "refused", 2)
    reason = rotation.unusable()
    assert reason is not None and reason.startswith("no Speech resource could be reached")


def test_all_out_after_working_waits_for_probes_then_gives_up() -> None:
    clock = Clock()
    rotation = Rotation([region("a")], clock=clock, policy=QuarantinePolicy(give_up_after=60))
    lease = rotation.try_acquire()
    assert lease is not None
    lease.connected(0.01)
    lease.release()
    lease = rotation.try_acquire()
    assert lease is not None
    lease.failed("refused")
    lease.release()
    assert rotation.unusable() is None  # it worked before: probe it
    clock.now += 59
    assert rotation.unusable() is None
    clock.now += 1
    assert "usable for 60 s" in (rotation.unusable() or "")


# -- waiting ----------------------------------------------------------------------------------


def wait_in_thread(rotation: Rotation, cancel: CancelToken) -> tuple[threading.Thread, list[Lease | None]]:
    got: list[Lease | None] = []
    thread = threading.Thread(target=lambda: got.append(rotation.acquire(cancel)))
    thread.start()
    return thread, got


def test_a_waiter_gets_the_slot_a_session_releases() -> None:
    rotation = Rotation([region("a", 1)], clock=Clock())
    held = rotation.try_acquire()
    assert held is not None
    thread, got = wait_in_thread(rotation, CancelToken())
    held.release()
    thread.join(10)
    assert len(got) == 1 and got[0] is not None


def test_a_waiter_is_let_go_on_cancel_and_when_nothing_is_usable() -> None:
    rotation = Rotation([region("a", 1)], clock=Clock())
    held = rotation.try_acquire()
    assert held is not None
    cancel = CancelToken()
    thread, got = wait_in_thread(rotation, cancel)
    cancel.cancel("test")
    thread.join(10)
    assert got == [None]

    thread, got = wait_in_thread(rotation, CancelToken())
    held.failed("credentials")
    thread.join(10)
    assert got == [None] and rotation.unusable() is not None
    held.release()


def test_session_releases_on_exit() -> None:
    rotation = Rotation([region("a", 1)], clock=Clock())
    with rotation.session(CancelToken()) as lease:
        assert lease is not None and rotation.active == 1
    assert rotation.active == 0


# -- stats ------------------------------------------------------------------------------------


def test_stats_count_sessions_audio_throttling_and_failures() -> None:
    clock = Clock()
    seen: list[tuple[str, int]] = []
    rotation = Rotation(
        [region("a", 8)], clock=clock, on_change=lambda r, limit: seen.append((r.location, limit))
    )
    for audio in (30.0, 60.0):
        lease = rotation.try_acquire()
        assert lease is not None
        lease.connected(0.01)
        lease.succeeded(audio)
        lease.release()
    lease = rotation.try_acquire()
    assert lease is not None
    lease.throttled_by_service()
    lease.failed("timeout")
    lease.release()
    (a,) = rotation.stats()
    assert (a.sessions, a.audio_seconds, a.throttled, dict(a.failures)) == (3, 90.0, 1, {"timeout": 1})
    assert a.state == "healthy" and a.quarantines == 0 and a.quarantined_s == 0
    assert seen[0] == ("a", 3) and "3 sessions, 0.03 h of audio, 1 throttled, 1 failed" in a.describe()
