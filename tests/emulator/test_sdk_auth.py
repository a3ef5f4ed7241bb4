"""Bearer tokens (Microsoft Entra ID) and several emulators in one process, with the real SDK.

SDK 1.53 sends ``Authorization: Bearer <token>`` for ``config.authorization_token`` (it refuses
``auth_token=`` next to ``host=``); the live service answers an unknown or expired token with
HTTP 401 at the upgrade, which the SDK reports as AuthenticationFailure without retrying.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from batchscribe.emulator import BearerTokens, Emulator
from batchscribe.emulator.auth import EXPIRED_TOKEN, UNKNOWN_TOKEN
from tests.emulator.helpers import pcm_bytes, run_sdk, tone_pcm

pytestmark = pytest.mark.integration

PATTERN = [("sil", 0.5), ("tone", 2), ("sil", 1), ("noise", 3), ("sil", 0.7), ("tone", 1.5), ("sil", 0.4)]
AUTH_ERROR = "WebSocket upgrade failed: Authentication error (401)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_valid_bearer_token_is_accepted_and_never_recorded(make_wav: Callable[..., Path]) -> None:
    with Emulator(tokens=["entra-token-1"]) as emu:
        run = run_sdk(emu.url, make_wav(PATTERN), subscription=None, auth_token="entra-token-1")
        (request,) = emu.stats().requests
    assert run.cancel_reason == "EndOfStream" and len(run.texts) == 3
    assert request.has_authorization and not request.has_subscription_key and request.status == 101
    assert "authorization" not in request.headers
    assert "entra-token-1" not in repr(emu.stats())


@pytest.mark.parametrize("expired", [False, True])
def test_an_unknown_or_expired_token_is_refused_with_401_and_no_retry(
    make_wav: Callable[..., Path], expired: bool
) -> None:
    clock = FakeClock()
    tokens = BearerTokens(clock=clock)
    tokens.accept("short-lived", lifetime=600)
    clock.now += 600 if expired else 0
    sent = "short-lived" if expired else "forged"
    with Emulator(tokens=tokens) as emu:
        run = run_sdk(emu.url, make_wav(PATTERN), subscription=None, auth_token=sent, fast=False)
        requests = emu.stats().requests
    assert (run.cancel_reason, run.cancel_code) == ("Error", "AuthenticationFailure")
    assert AUTH_ERROR in run.cancel_details and sent not in run.cancel_details
    assert [(r.status, r.refused_because) for r in requests] == [
        (401, EXPIRED_TOKEN if expired else UNKNOWN_TOKEN)
    ]


def _pushed(first_seconds: float, gate: threading.Event) -> Callable[[Any], Any]:
    """An AudioConfig whose stream holds the first seconds of PATTERN until ``gate`` opens."""
    import azure.cognitiveservices.speech as speechsdk

    data = pcm_bytes(tone_pcm(PATTERN))
    split = int(first_seconds * 16_000) * 2

    def make(config: Any) -> Any:
        stream = speechsdk.audio.PushAudioInputStream()
        stream.write(data[:split])

        def rest() -> None:
            gate.wait(30)
            stream.write(data[split:])
            stream.close()

        threading.Thread(target=rest, daemon=True).start()
        return speechsdk.audio.AudioConfig(stream=stream)

    return make


@pytest.mark.parametrize("refresh", [True, False])
def test_a_session_outlives_its_token_and_reconnects_with_the_refreshed_one(refresh: bool) -> None:
    clock = FakeClock()
    tokens = BearerTokens(clock=clock)
    tokens.accept("first", lifetime=600)
    tokens.accept("second", lifetime=1200)
    gate = threading.Event()
    # the connection drops after 3 s of audio; the SDK reconnects by itself with the token the
    # recognizer holds by then
    with Emulator(tokens=tokens, faults=["close:1011:after=3s:first=1"]) as emu:

        def expire_then_refresh(recognizer: Any) -> None:
            assert emu.wait_until(lambda s: sum(x.audio_seconds for x in s.sessions.values()) >= 2.5)
            clock.now += 601  # "first" expired while its connection is open: that goes on
            if refresh:
                recognizer.authorization_token = "second"
            gate.set()

        run = run_sdk(emu.url, _pushed(2.5, gate), subscription=None, auth_token="first",
                      fast=False, after_start=expire_then_refresh)  # fmt: skip
        requests = emu.stats().requests
    if refresh:
        assert run.cancel_reason == "EndOfStream" and len(run.texts) == 3
        assert [(r.status, r.refused_because) for r in requests] == [(101, ""), (101, "")]
    else:
        assert (run.cancel_reason, run.cancel_code) == ("Error", "AuthenticationFailure")
        assert [(r.status, r.refused_because) for r in requests] == [(101, ""), (401, EXPIRED_TOKEN)]


def test_a_key_or_a_token_each_pass_on_their_own(make_wav: Callable[..., Path]) -> None:
    wav = make_wav(PATTERN)
    with Emulator(key="the-key", tokens=["the-token"]) as emu:
        by_key = run_sdk(emu.url, wav, subscription="the-key")
        by_token = run_sdk(emu.url, wav, subscription=None, auth_token="the-token")
        wrong_both = run_sdk(emu.url, wav, subscription="nope", auth_token="nope", fast=False)
        refusals = [r.refused_because for r in emu.stats().requests]
    assert by_key.cancel_reason == by_token.cancel_reason == "EndOfStream"
    assert wrong_both.cancel_code == "AuthenticationFailure"
    assert refusals == ["", "", "wrong subscription key; unknown token"]


def test_several_emulators_in_one_process_keep_their_own_faults_and_stats(
    make_wav: Callable[..., Path],
) -> None:
    wavs = [make_wav(PATTERN, seed=n) for n in range(8)]
    with (
        Emulator() as first,
        Emulator(key="second-key") as second,
        Emulator(faults=["http:503"]) as dead,
        Emulator(key="rotated") as wrong_key,
    ):
        assert len({first.port, second.port, dead.port, wrong_key.port}) == 4
        jobs = [(first.url, "k", w, True) for w in wavs[:4]] + [
            (second.url, "second-key", w, True) for w in wavs[4:]
        ]
        jobs += [
            (dead.url, "k", wavs[0], False),
            (dead.url, "k", wavs[1], False),
            (wrong_key.url, "old", wavs[2], False),
        ]
        with ThreadPoolExecutor(len(jobs)) as pool:
            runs = list(
                pool.map(lambda j: run_sdk(j[0], j[2], subscription=j[1], fast=j[3], timeout=60), jobs)
            )
        stats = {name: emu.stats() for name, emu in
                 [("first", first), ("second", second), ("dead", dead), ("wrong_key", wrong_key)]}  # fmt: skip
    assert all(r.cancel_reason == "EndOfStream" and len(r.texts) == 3 for r in runs[:8])
    assert [r.cancel_code for r in runs[8:]] == ["ServiceUnavailable"] * 2 + ["AuthenticationFailure"]
    for name in ("first", "second"):
        assert len(stats[name].sessions) == 4 and stats[name].rejected == 0
        assert sum(s.completed_turns for s in stats[name].sessions.values()) == 4
    assert len(stats["dead"].sessions) == 2 and stats["dead"].connections == stats["dead"].rejected == 10
    assert {s.faults for s in stats["dead"].sessions.values()} == {("http:503",) * 5}
    assert (stats["wrong_key"].connections, stats["wrong_key"].rejected) == (1, 1)
