"""The outage guard: give up at once before any success, only after a sustained outage after."""

from __future__ import annotations

from batchscribe.errors import PermanentEngineError, TransientEngineError
from batchscribe.resources.outage import OutageGuard

REFUSED = TransientEngineError(
    "the connection to the Speech service failed", code="connection_failed", sdk_code="ConnectionFailure",
    detail="Connection failed ... (code=111: [CONNECTION] Connection refused ...)\nws://10.0.0.5:5000/speech/x",
)  # fmt: skip
THROTTLED = TransientEngineError("throttled", code="throttled", sdk_code="TooManyRequests")


def test_three_refused_attempts_before_any_success_abort_naming_the_address() -> None:
    guard = OutageGuard()
    assert guard.failed(REFUSED) is None and guard.failed(REFUSED) is None
    stop = guard.failed(REFUSED)
    assert stop is not None and "ws://10.0.0.5:5000: connection refused" in stop.message
    assert "check --host/--endpoint" in stop.hint


def test_after_a_success_only_a_sustained_outage_aborts_and_an_answer_resets_it() -> None:
    now = [0.0]
    guard = OutageGuard(sustained_s=60, clock=lambda: now[0])
    guard.succeeded()
    for _ in range(10):
        assert guard.failed(REFUSED) is None  # many failures, but not for long
    now[0] = 59.0
    assert guard.failed(THROTTLED) is None  # the service answered: the streak ends
    assert guard.failed(REFUSED) is None
    now[0] = 130.0
    assert guard.failed(REFUSED) is None  # 71 s, but only 2 attempts in this streak
    stop = guard.failed(REFUSED)
    assert stop is not None and "every session failed for 71 s" in stop.message


def test_a_rejected_file_is_no_outage() -> None:
    guard = OutageGuard(first_failures=1)
    assert guard.failed(PermanentEngineError("bad", code="bad_request", sdk_code="BadRequest")) is None
