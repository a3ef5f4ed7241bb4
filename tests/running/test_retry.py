"""Failures are classified from the SDK's code and its text, in one place."""

from __future__ import annotations

import pytest

from batchscribe.cancel import CancelToken
from batchscribe.engines.sdk_errors import classify_cancellation
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError
from batchscribe.running.retry import build_retrying


@pytest.mark.parametrize(
    ("sdk_code", "detail", "kind", "code"),
    [
        (
            "AuthenticationFailure",
            "WebSocket upgrade failed: Authentication error (401)",
            FatalEngineError,
            "auth_failed",
        ),
        ("Forbidden", "Access denied", FatalEngineError, "forbidden"),
        ("Forbidden", "free subscription that ran out of quota", FatalEngineError, "quota_exhausted"),
        ("BadRequest", "Error code: 1007. Error details: Quota exceeded", TransientEngineError, "throttled"),
        ("BadRequest", "Validation failed with status: TooManyRequests", TransientEngineError, "throttled"),
        ("BadRequest", "Error code: 1007. Error details: Throttled", TransientEngineError, "throttled"),
        (
            "ConnectionFailure",
            "Connection was closed by the remote host. Error code: 4429.",
            TransientEngineError,
            "throttled",
        ),
        (
            "TooManyRequests",
            "WebSocket upgrade failed: Too many requests (429)",
            TransientEngineError,
            "throttled",
        ),
        ("BadRequest", "WebSocket upgrade failed: Bad request (400)", PermanentEngineError, "bad_request"),
        ("ConnectionFailure", "WS_ERROR_UNDERLYING_IO_ERROR", TransientEngineError, "connection_failed"),
        (
            "ServiceTimeout",
            "Timeout while waiting for service to stop",
            TransientEngineError,
            "service_timeout",
        ),
        ("ServiceError", "Error code: 1011", TransientEngineError, "service_error"),
        ("ServiceUnavailable", "(503)", TransientEngineError, "service_unavailable"),
        ("SomethingNew", "", TransientEngineError, "unexpected_error"),
    ],
)
def test_classification(sdk_code: str, detail: str, kind: type, code: str) -> None:
    error = classify_cancellation(sdk_code, detail)
    assert type(error) is kind
    assert error.code == code
    assert error.sdk_code == sdk_code
    assert error.hint


def test_retrying_retries_only_transient_errors_and_never_sleeps_for_real() -> None:
    waits: list[float] = []
    retrying = build_retrying(2, CancelToken(), sleep=waits.append)
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientEngineError("x", code="throttled")
        return "ok"

    assert retrying(flaky) == "ok"
    assert calls == 3 and len(waits) == 2 and all(w > 0 for w in waits)

    permanent_calls = 0

    def bad() -> None:
        nonlocal permanent_calls
        permanent_calls += 1
        raise PermanentEngineError("no", code="bad_request")

    with pytest.raises(PermanentEngineError):
        build_retrying(5, CancelToken(), sleep=waits.append)(bad)
    assert permanent_calls == 1
