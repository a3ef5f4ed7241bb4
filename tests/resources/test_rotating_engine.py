"""RotatingEngine with the fake engine: which failures are the resource's (the session moves on,
no retry used) and which are the file's (the runner's retries decide)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchscribe.audio import AudioInfo
from batchscribe.cancel import CancelToken
from batchscribe.config.resource import Resource
from batchscribe.engines.base import RecognitionRequest
from batchscribe.engines.fake import FakeEngine
from batchscribe.engines.sdk_errors import classify_cancellation, stalled_error
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError
from batchscribe.resources.rotating_engine import NO_RESOURCE, RotatingEngine, connection_failure
from batchscribe.resources.rotation import Rotation


@pytest.mark.parametrize(
    ("error", "reached", "kind"),
    [
        (
            classify_cancellation(
                "ConnectionFailure",
                "Connection failed (no connection to the remote host). "
                "Internal error: 1. Error details: Failed with error: WS_OPEN_ERROR_UNDERLYING_IO_OPEN_FAILED\n"
                "wss://x.example\nwebsocket error code: 111 connection refused",
            ),
            False,
            "refused",
        ),
        (
            classify_cancellation(
                "ServiceUnavailable", "WebSocket upgrade failed: Service unavailable (503)"
            ),
            False,
            "server_error",
        ),
        (stalled_error(15, connected=False), False, "timeout"),
        (
            classify_cancellation(
                "AuthenticationFailure", "WebSocket upgrade failed: Authentication error (401)"
            ),
            True,
            "credentials",
        ),
        (classify_cancellation("ServiceUnavailable", "503"), True, None),  # the session had connected
        (classify_cancellation("TooManyRequests", "429"), False, None),  # the service answered: load
        (stalled_error(15, connected=True), True, None),
        (PermanentEngineError("bad", code="bad_request"), False, None),
    ],
)
def test_which_failures_are_the_resources(error: Exception, reached: bool, kind: str | None) -> None:
    assert connection_failure(error, reached=reached) == kind  # type: ignore[arg-type]


def request(tmp_path: Path) -> RecognitionRequest:
    return RecognitionRequest(
        tmp_path / "a.wav",
        AudioInfo(duration_s=2.0, sample_rate=16000, channels=1, codec="pcm_s16le", container="wav"),
        label="a.wav",
    )


def test_a_rejected_key_moves_the_session_and_leaves_the_resource_out(tmp_path: Path) -> None:
    bad, good = Resource("host", "ws://bad", max_sessions=2), Resource("host", "ws://good", max_sessions=1)
    rotation = Rotation([bad, good])
    refusing = FakeEngine({"a.wav": [FatalEngineError("rejected", code="auth_failed")] * 5})
    engine = RotatingEngine(rotation, {bad.name: refusing, good.name: FakeEngine()})

    engine.transcribe(request(tmp_path), on_progress=lambda _: None, cancel=CancelToken())

    stats = {s.name: s for s in rotation.stats()}
    assert (stats[bad.name].state, stats[bad.name].failures) == ("disabled", {"credentials": 1})
    assert (stats[good.name].sessions, stats[good.name].audio_seconds) == (1, 2.0)


def test_no_usable_resource_fails_the_session_for_the_outage_guard(tmp_path: Path) -> None:
    only = Resource("host", "ws://only")
    rotation = Rotation([only, Resource("host", "ws://other")])
    refusing = FakeEngine({"a.wav": [FatalEngineError("rejected", code="auth_failed")] * 5})
    engine = RotatingEngine(rotation, {r.name: refusing for r in (only, Resource("host", "ws://other"))})

    with pytest.raises(TransientEngineError) as caught:
        engine.transcribe(request(tmp_path), on_progress=lambda _: None, cancel=CancelToken())

    assert caught.value.code == NO_RESOURCE and "rejected its credentials" in caught.value.message
