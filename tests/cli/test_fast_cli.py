"""``python -m batchscribe run --engine fast`` as cron runs it: with ``--emulate``, against an
emulator at ``--endpoint http://127.0.0.1:PORT``, killed with SIGKILL and run again."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from batchscribe.emulator.fast_api import PATH
from tests.conftest import KEY, Batchscribe, Recordings

pytestmark = pytest.mark.integration


def test_run_emulate_engine_fast(recordings: Recordings, tmp_path: Path, batchscribe: Batchscribe) -> None:
    recordings.add("a.wav", 1, "First recording.")
    recordings.add("b/c.wav", 2, "Second recording.")
    transcripts = recordings.save(tmp_path / "t.yaml")
    out = tmp_path / "out"
    done = batchscribe.run("run", str(recordings.root), "--out", str(out), "--emulate", "--engine", "fast",
                           "--emulator-transcripts", str(transcripts))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 2 files transcribed." in done.stdout
    document = json.loads((out / "b/c.wav.json").read_text())
    assert document["combinedRecognizedPhrases"][0]["display"] == "Second recording."
    assert document["batchscribe"]["engine"] == "emulator-fast"
    again = batchscribe.run("run", str(recordings.root), "--out", str(out), "--emulate", "--engine", "fast")
    assert again.returncode == 0 and "Nothing to do" in again.stdout


@pytest.mark.parametrize("url", ["http://10.1.2.3:8080", "ws://127.0.0.1:5000"])
def test_a_key_never_travels_in_clear(
    url: str, recordings: Recordings, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    recordings.add("a.wav", 1)
    done = batchscribe.run("run", str(recordings.root), "--out", str(tmp_path / "out"), "--engine", "fast",
                           "--endpoint", url)  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--endpoint" in done.stderr and "Traceback" not in done.stderr


def test_a_killed_fast_run_resumes_without_paying_twice(
    recordings: Recordings,
    tmp_path: Path,
    batchscribe: Batchscribe,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    names = [f"r{i}.wav" for i in range(4)]
    for seed, name in enumerate(names, 1):
        recordings.add(name, seed, seconds=4.0)
    emulator = emulator_for(recordings, speed=4.0, key=KEY)  # 1 s per request
    out = tmp_path / "out"
    args = ("run", str(recordings.root), "--out", str(out), "--engine", "fast", "--endpoint", emulator.rest_url,
            "--workers", "1")  # fmt: skip
    first = batchscribe.start(*args)
    lines = batchscribe.read_until(first, lambda seen: " done " in seen[-1])
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    finished = [n for n in names if any(f" done      {n}" in line for line in lines)]
    assert len(finished) == 1, lines
    paid_before = emulator.rest_stats().snapshot().get((PATH, 200), 0)
    assert paid_before <= 2  # the finished one, and perhaps the one in flight at the kill
    second = batchscribe.run(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"done      {finished[0]}" not in second.stdout
    assert "already done (skipped): 1" in second.stdout
    paid = emulator.rest_stats().snapshot().get((PATH, 200), 0)
    # Nothing finished was sent again: each recording was paid once, and at most the one request in
    # flight at the kill twice (the emulator may count it after the snapshot above).
    assert len(names) <= paid <= len(names) + 1
    assert all((out / f"{n}.json").exists() for n in names)


def test_doctor_checks_the_fast_endpoint_with_a_one_second_request_and_says_what_it_cost(
    tmp_path: Path, batchscribe: Batchscribe
) -> None:
    done = batchscribe.run("doctor", "--out", str(tmp_path / "out"), "--emulate", "--engine", "fast",
                           "--price-per-hour", "3.6")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [line for line in done.stdout.splitlines() if " endpoint " in line]
    assert line.startswith("ok") and "1 s fast transcription request" in line and "about 0.00100" in line
