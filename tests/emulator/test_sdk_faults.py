"""Injected faults reach the real SDK as the live service's would (SDK_FACTS.md error table)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from batchscribe.emulator import Emulator, ScriptPhrase, Transcripts
from batchscribe.emulator.faults import parse_recording_fault
from batchscribe.emulator.scripts import make_entry
from tests.emulator.helpers import RATE, SdkRun, pcm_bytes, run_sdk, tone_pcm, write_wav

pytestmark = pytest.mark.integration

# One long first segment: nothing is acknowledged before a fault at the first audio, so every
# SDK retry makes no progress and the failure reaches the application.
PATTERN = [("sil", 0.3), ("tone", 6), ("sil", 1), ("tone", 2), ("sil", 0.6)]
RESET_DETAILS = (
    "WS_ERROR_UNDERLYING_IO_ERROR",
    "Failure while sending a frame over the WebSocket connection",
)


@pytest.fixture(name="wav")
def fixture_wav(make_wav: Callable[..., Path]) -> Path:
    return make_wav(PATTERN)


@pytest.mark.parametrize(
    ("spec", "code", "details", "connections"),
    [
        ("http:401", "AuthenticationFailure", "WebSocket upgrade failed: Authentication error (401)", 1),
        ("http:403", "AuthenticationFailure", "WebSocket upgrade failed: Authentication error (403)", 1),
        ("http:400", "BadRequest", "WebSocket upgrade failed: Bad request (400)", 1),
        ("http:429", "TooManyRequests", "WebSocket upgrade failed: Too many requests (429)", 5),
        ("http:503", "ServiceUnavailable", "WebSocket upgrade failed: Service unavailable (503)", 5),
        ("http:500", "ServiceError", "WebSocket upgrade failed: Internal service error (500)", 5),
        ("http:408", "ServiceTimeout", "WebSocket upgrade failed: Timeout (408)", 5),
        ("close:1011", "ServiceError", "Connection was closed by the remote host. Error code: 1011", 5),
        ("close:1011:after=1s", "ServiceError", "Error code: 1011. Error details: Internal server error", 5),
        ("close:1007", "BadRequest", "Error code: 1007. Error details: Quota exceeded", 1),
        ("close:4429", "TooManyRequests", "Error code: 4429", 1),
        ("reset", "ConnectionFailure", "WS_ERROR_UNDERLYING_IO_ERROR", 5),
        # Mid-stream, the SDK hears the reset on its read side or on its send side, whichever of
        # its threads meets the dead socket first (the send side seen when this machine was busy).
        ("reset:after=1s", "ConnectionFailure", RESET_DETAILS, 5),
    ],
)
def test_upgrade_and_connection_faults_cancel_with_the_services_error(
    wav: Path, spec: str, code: str, details: str | tuple[str, ...], connections: int
) -> None:
    with Emulator(faults=[spec]) as emu:
        run = run_sdk(emu.url, wav, fast=False)
        stats = emu.stats()
    assert not run.errors and run.events[-2:] == ["canceled", "session_stopped"]
    assert (run.cancel_reason, run.cancel_code) == ("Error", code)
    either = (details,) if isinstance(details, str) else details
    assert any(d in run.cancel_details for d in either) and "SessionId:" in run.cancel_details, (
        run.cancel_details
    )
    assert not run.texts
    (session,) = stats.sessions.values()
    assert session.connections + session.rejected == connections  # the SDK's own retries
    assert set(session.faults) == {spec}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("TooManyRequests", "TooManyRequests"),
        ("BadRequest", "BadRequest"),
        ("Forbidden", "Forbidden"),
        ("Error", "ServiceError"),
        ("ServiceUnavailable", "ServiceUnavailable"),
    ],
)
def test_error_statuses_cancel_after_the_sdks_retries(wav: Path, status: str, code: str) -> None:
    with Emulator(faults=[f"status:{status}"]) as emu:
        run = run_sdk(emu.url, wav, fast=False)
        (session,) = emu.stats().sessions.values()
    assert (run.cancel_reason, run.cancel_code) == ("Error", code)
    assert session.connections == 5


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("NoMatch", "NotRecognized"),
        ("InitialSilenceTimeout", "InitialSilenceTimeout"),
        ("BabbleTimeout", "InitialBabbleTimeout"),
    ],
)
def test_no_match_statuses_are_recognized_as_no_match(wav: Path, status: str, reason: str) -> None:
    with Emulator(faults=[f"status:{status}"]) as emu:
        run = run_sdk(emu.url, wav)
    assert run.recognized[0].reason == "NoMatch" and run.recognized[0].no_match_reason == reason
    assert len(run.texts) == 2 and run.cancel_reason == "EndOfStream"


def test_a_stalled_service_never_ends_the_session_and_is_reported(wav: Path) -> None:
    emu = Emulator(faults=["stall"]).start()
    try:
        run = run_sdk(emu.url, wav, timeout=1.5, on_timeout=emu.stop)
        assert not run.finished_in_time
        assert run.events[:1] == ["session_started"] and "recognized" not in run.events
        (stalled,) = emu.stats().stalled_sessions
        assert stalled.faults == ("stall",) and stalled.audio_seconds > 0
    finally:
        emu.stop()


def test_rejected_first_connections_are_retried_by_the_sdk_invisibly(wav: Path) -> None:
    with Emulator(faults=["http:429:first=2"]) as emu:
        run = run_sdk(emu.url, wav)
        (session,) = emu.stats().sessions.values()
    assert run.cancel_reason == "EndOfStream" and len(run.texts) == 2
    assert (session.rejected, session.connections, session.completed_turns) == (2, 1, 1)


def test_a_drop_after_progress_is_resumed_by_the_sdk_from_its_last_acknowledgement(
    make_wav: Callable[..., Path],
) -> None:
    wav = make_wav([("sil", 0.3)] + [("tone", 1.5), ("sil", 0.8)] * 6)
    # phrases wait until the recording is identified (5 s of audio); the drop comes after that
    with Emulator(faults=["close:1011:after=10s:first=1"]) as emu:
        run = run_sdk(emu.url, wav)
        (session,) = emu.stats().sessions.values()
    assert run.cancel_reason == "EndOfStream" and len(run.texts) == 6
    ends = [r.offset for r in run.recognized]
    assert ends == sorted(ends)  # nothing recognized twice
    assert session.connections == 2 and session.turns == 2
    assert 7.0 < session.turn_offsets[1] < 10.0  # resumed where the acknowledgements got to
    assert session.replayed_seconds == pytest.approx(10.0 - session.turn_offsets[1], abs=0.15)


def recording_with_faults(tmp_path: Path, *faults: str) -> tuple[Path, Transcripts]:
    # Longer than the fingerprint (5 s): identified, and its faults armed, before the SDK has
    # read all of the file; once it has, SDK 1.53 reports any failure ~11 s late.
    samples = tone_pcm(PATTERN)
    wav = write_wav(tmp_path / "flaky.wav", samples)
    entry = make_entry(
        entry_id="flaky",
        source=wav.name,
        samples=samples.astype(np.float32),
        sample_rate=RATE,
        phrases=[ScriptPhrase("It worked in the end.")],
        faults=[parse_recording_fault(f) for f in faults],
    )
    return wav, Transcripts((entry,))


@pytest.mark.parametrize("fault", ["close:1011:sessions=2", "status:TooManyRequests:sessions=2"])
def test_a_recording_that_fails_its_first_k_sessions_fails_exactly_k_times(
    tmp_path: Path, fault: str
) -> None:
    wav, transcripts = recording_with_faults(tmp_path, fault)
    with Emulator(transcripts=transcripts) as emu:
        runs = [run_sdk(emu.url, wav, fast=attempt == 3) for attempt in (1, 2, 3)]
        recording = emu.stats().recordings["flaky"]
    assert [r.cancel_reason for r in runs] == ["Error", "Error", "EndOfStream"]
    assert runs[2].texts == ["It worked in the end."]
    assert recording.sessions == 3 and recording.connections == 5 + 5 + 1
    assert len(recording.faults) == 10  # every connection of the failing sessions


def test_emulator_wide_faults_can_count_sessions(wav: Path) -> None:
    with Emulator(faults=["status:ServiceUnavailable:sessions=1"]) as emu:
        first, second = run_sdk(emu.url, wav, fast=False), run_sdk(emu.url, wav)
    assert (first.cancel_code, second.cancel_reason) == ("ServiceUnavailable", "EndOfStream")


def test_sessions_beyond_max_sessions_get_429_while_the_first_runs(wav: Path) -> None:
    import azure.cognitiveservices.speech as speechsdk

    stream = speechsdk.audio.PushAudioInputStream()
    stream.write(pcm_bytes(tone_pcm([("tone", 1), ("sil", 1)])))  # the rest comes later

    def held_open(config: object) -> object:
        return speechsdk.audio.AudioConfig(stream=stream)

    with Emulator(max_sessions=1) as emu:
        results: dict[str, SdkRun] = {}
        worker = threading.Thread(target=lambda: results.update(first=run_sdk(emu.url, held_open)))
        worker.start()
        try:
            assert emu.wait_until(lambda s: s.open_connections == 1, timeout=10)
            second = run_sdk(emu.url, wav, fast=False)
        finally:
            stream.close()  # the first session ends, and frees its slot
            worker.join(30)
        third = run_sdk(emu.url, wav)
    assert results["first"].cancel_reason == "EndOfStream"
    assert (second.cancel_reason, second.cancel_code) == ("Error", "TooManyRequests")
    assert third.cancel_reason == "EndOfStream"


def test_a_wrong_key_is_refused_when_a_key_is_required(wav: Path) -> None:
    with Emulator(key="the-right-key") as emu:
        run = run_sdk(emu.url, wav, fast=False)
    assert run.cancel_code == "AuthenticationFailure"
