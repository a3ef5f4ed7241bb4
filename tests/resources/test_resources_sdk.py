"""Several Speech resources in one run, Entra ID tokens: the real SDK against several emulators.

Each emulator is one resource (its own port, session limit, faults, key or tokens). The run gets
them as ``RunSettings.resources`` and spreads its sessions over them (``resources/rotating_engine.py``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from batchscribe.config.entra import AccessToken
from batchscribe.config.resource import Resource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import BearerTokens, Emulator
from batchscribe.report import latest_run_dir
from batchscribe.report.writer import report_run
from batchscribe.running.run import run_batch
from tests.conftest import KEY, Recordings

pytestmark = pytest.mark.integration


def resource(
    emulator: Emulator | str, name: str, *, sessions: int = 4, key: str = KEY, entra: bool = False
) -> Endpoint:
    url = emulator if isinstance(emulator, str) else emulator.url
    variable = "" if entra else f"{name.upper()}_SPEECH_KEY"
    configured = Resource("host", url, key_variable=variable, entra=entra, max_sessions=sessions, label=name)
    return Endpoint(kind="host", key="" if entra else key, url=url, resource=configured)


def settings_for(recordings: Recordings, out: Path, *resources: Endpoint, **more: Any) -> RunSettings:
    return RunSettings(
        inputs=(recordings.root,), out=out, endpoint=resources[0], resources=resources,
        sdk_send_rate=more.pop("sdk_send_rate", 50.0), **more,
    )  # fmt: skip


def summary_of(out: Path) -> dict[str, Any]:
    folder = latest_run_dir(out)
    assert folder is not None
    return json.loads((folder / "summary.json").read_text())  # type: ignore[no-any-return]


def test_two_healthy_resources_share_the_work_and_a_dead_one_is_quarantined(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    for seed in range(40):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=3.0)
    east = emulator_for(recordings, max_sessions=4, key=KEY)
    west = emulator_for(recordings, max_sessions=4, key=KEY)
    dead = emulator_for(recordings, faults=["http:503"])
    out = tmp_path / "out"
    endpoints = (resource(dead, "dead"), resource(east, "east"), resource(west, "west"))

    result = run_batch(settings_for(recordings, out, *endpoints, sdk_send_rate=4.0), report=report_run)

    assert (result.exit_code, len(result.succeeded)) == (0, 40), result.aborted
    assert all(f.attempts == 1 for f in result.files)  # moving off the dead one used no retry
    stats = {r.name: r for r in result.resources}
    assert stats["east"].sessions + stats["west"].sessions >= 40
    assert 0.3 <= stats["east"].sessions / (stats["east"].sessions + stats["west"].sessions) <= 0.7
    # At its limit a resource gets each connection freed before the next session: no 429s
    refused = [r for emulator in (east, west) for r in emulator.stats().requests if r.status == 429]
    assert result.counts.throttled <= 2 and len(refused) <= 2, (result.counts.throttled, len(refused))
    assert stats["dead"].state in ("quarantined", "probing") and stats["dead"].quarantines >= 1
    assert 1 <= stats["dead"].sessions <= 6 and stats["dead"].failures == {
        "server_error": stats["dead"].sessions
    }
    assert dead.stats().connections >= stats["dead"].sessions
    rows = {row["name"]: row for row in summary_of(out)["resources"]}
    assert set(rows) == {"dead", "east", "west"}
    assert "server error" in " ".join(rows["dead"]["reasons"]) and rows["dead"]["quarantined_s"] > 0
    assert rows["east"]["sessions"] == stats["east"].sessions and rows["east"]["audio_seconds"] > 0
    markdown = (latest_run_dir(out) / "summary.md").read_text()  # type: ignore[operator]
    assert "dead" in markdown and "server error" in markdown


def test_a_resource_rejecting_its_key_is_left_out_and_named_while_the_other_works(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    for seed in range(8):
        recordings.add(f"r{seed}.wav", seed=seed, seconds=2.0)
    good = emulator_for(recordings, key=KEY)
    strict = emulator_for(recordings, key=KEY)
    wrong_key = "b" * 32
    out = tmp_path / "out"
    endpoints = (resource(strict, "strict", key=wrong_key), resource(good, "good"))

    result = run_batch(settings_for(recordings, out, *endpoints), report=report_run)

    assert (result.exit_code, len(result.succeeded)) == (0, 8), result.aborted
    stats = {r.name: r for r in result.resources}
    assert stats["strict"].state == "disabled" and stats["strict"].failures == {"credentials": 1}
    assert "its key (from STRICT_SPEECH_KEY) was rejected" in stats["strict"].reasons[0]
    assert stats["good"].sessions == 8
    written = "".join(
        p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix != ".sqlite"
    )
    assert wrong_key not in written and KEY not in written
    markdown = (latest_run_dir(out) / "summary.md").read_text()  # type: ignore[operator]
    assert "Service: 2 Speech resources: strict, good" in markdown
    assert "| strict | 1 |" in markdown and r"its key (from STRICT\_SPEECH\_KEY) was rejected" in markdown


def test_every_resource_down_exits_3_within_seconds(
    recordings: Recordings, tmp_path: Path, emulator_for: Any, refused_port: int
) -> None:
    for seed in range(12):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=2.0)
    busted = emulator_for(recordings, faults=["http:503"])
    endpoints = (resource(f"ws://127.0.0.1:{refused_port}", "nowhere"), resource(busted, "busted"))
    started = time.monotonic()

    result = run_batch(settings_for(recordings, tmp_path / "out", *endpoints))

    took = time.monotonic() - started
    assert result.exit_code == 3 and took < 30, (result.exit_code, took)
    assert "no Speech resource could be reached" in result.aborted
    assert "nowhere" in result.aborted and "busted" in result.aborted
    assert not result.failed  # no file blamed for the outage


@dataclass
class FakeCredential:
    """Entra ID as the emulator sees it: every token it hands out is valid for ``lifetime`` s."""

    accepted: BearerTokens
    lifetime: float
    issued: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = f"entra-{secrets.token_hex(12)}"
        self.accepted.accept(token, lifetime=self.lifetime)
        with self.lock:
            self.issued.append(token)
        return AccessToken(token, int(time.time() + self.lifetime))


def test_entra_tokens_are_refreshed_into_sessions_longer_than_a_token_lives(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    for seed in range(2):
        recordings.add(f"long{seed}.wav", seed=seed, seconds=7.0)
    tokens = BearerTokens()
    credential = FakeCredential(tokens, lifetime=3.0)
    # Each session's first connection drops after 5 s of audio (sent at real time): the SDK
    # reconnects after its first token has expired, with whatever token the recognizer holds.
    # Both sessions at once: each recognizer in flight must be handed every refreshed token.
    emulator = emulator_for(recordings, tokens=tokens, faults=["close:1011:after=5s:first=1"])
    out = tmp_path / "out"
    settings = settings_for(
        recordings, out, resource(emulator, "entra", entra=True), sdk_send_rate=1.0, workers=2
    )

    result = run_batch(settings, credential=credential, report=report_run)  # the report is checked too

    assert (result.exit_code, len(result.succeeded)) == (0, 2), result.aborted
    assert len(credential.issued) >= 3  # refreshed during the run
    refused = [r for r in emulator.stats().requests if r.status == 401]
    assert refused == []
    written = "".join(
        p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix != ".sqlite"
    )
    assert not any(token in written for token in credential.issued)


def test_a_stalling_resource_leaves_the_rotation_and_each_retry_goes_elsewhere(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    """Issue 17 item 7: a resource that accepts sessions and never answers."""
    for seed in range(24):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=2.0)
    stalling = emulator_for(recordings, faults=["stall"])
    east = emulator_for(recordings, max_sessions=4, key=KEY)
    west = emulator_for(recordings, max_sessions=4, key=KEY)
    out = tmp_path / "out"
    endpoints = (resource(stalling, "stalling"), resource(east, "east"), resource(west, "west"))
    started = time.monotonic()

    result = run_batch(
        settings_for(recordings, out, *endpoints, stall_timeout=3.0, retries=2), report=report_run
    )

    took = time.monotonic() - started
    assert (result.exit_code, len(result.succeeded)) == (0, 24), (result.aborted, result.failed)
    for file in result.files:  # a stalled attempt is retried on another resource, never the same
        stalled = [a for a in file.timeline if a.error_code == "stalled"]
        assert len(stalled) <= 1, (file.source, file.timeline)
    stats = {r.name: r for r in result.resources}
    assert stats["stalling"].state != "healthy" and stats["stalling"].quarantines >= 1
    assert stats["stalling"].failures.get("stalled", 0) >= 1
    assert stats["stalling"].audio_seconds == 0
    row = {r["name"]: r for r in summary_of(out)["resources"]}["stalling"]
    assert row["state"] != "healthy" and "stalled" in " ".join(row["reasons"])
    # Each of the stalling resource's probes costs one stall timeout; the others carry the night.
    assert took < 20, took


def test_a_throttled_resource_keeps_the_sessions_the_service_holds_open(
    recordings: Recordings, tmp_path: Path, emulator_for: Any
) -> None:
    """Issue 17 item 8: two resources of 4 sessions each, 6 allowed per resource here (as
    ``--host`` twice with ``--workers 6`` allows): a 429 brings a limit to the 4 the service
    holds open, where halving left it at 3 for the rest of the night."""
    for seed in range(24):
        recordings.add(f"r{seed:02d}.wav", seed=seed, seconds=6.0)
    east = emulator_for(recordings, max_sessions=4, key=KEY)
    west = emulator_for(recordings, max_sessions=4, key=KEY)
    endpoints = (resource(east, "east", sessions=6), resource(west, "west", sessions=6))

    result = run_batch(settings_for(recordings, tmp_path / "out", *endpoints, workers=6, sdk_send_rate=2.0))

    assert (result.exit_code, len(result.succeeded)) == (0, 24), (result.aborted, result.failed)
    throttled = [r for r in result.resources if r.throttled]
    assert throttled, "the service never refused a session: the test proves nothing"
    for stats in throttled:
        assert stats.limit >= 4, stats
