"""The fault soak (issue 12, point 9): 1,000 short recordings, faults on a third of them, the run
killed with -9 twice and stopped with SIGTERM once, then finished. Every recording ends exactly
once, as a complete transcript or a failure with a reason; nothing is paid for twice beyond the
sessions in flight at each kill; no temp file; never a crash exit. Prints its figures."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.cli_process import cli_env, leftovers
from tests.conftest import Recordings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COUNT = 1000
WORKERS = 8
FAULTS = (  # one in three recordings gets one of these, in turn
    "close:1011:after=0.3s:sessions=2",  # mid-stream closes on every reconnect: beats the SDK's retries
    "reset:after=0.3s:sessions=1",
    "status:TooManyRequests:sessions=1",  # 429s
    "close:1007:reason=Invalid audio format",  # a permanent refusal
    "stall:sessions=1",  # the watchdog cancels it, the retry succeeds
)
PERMANENT = "close:1007"


def _run(command: list[str], stop_after: int | None, how: signal.Signals | None) -> tuple[int, int]:
    """Run until ``stop_after`` files are done, then send ``how``; returns (exit code, done lines)."""
    with subprocess.Popen(command, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:  # fmt: skip
        assert process.stdout is not None
        done = 0
        tail: list[str] = []
        for line in process.stdout:
            tail = [*tail[-20:], line]
            done += line.split(" ")[1:2] == ["done"]
            if how is not None and stop_after is not None and done >= stop_after:
                process.send_signal(how)
                break
        tail += process.stdout.readlines()[-20:]
        code = process.wait(timeout=600)
    assert "Traceback" not in "".join(tail), "".join(tail)
    return code, done


@pytest.mark.timeout(1200)
def test_fault_soak_kill_9_twice_sigterm_once_then_finish(
    recordings: Recordings, tmp_path: Path, emulator_for
) -> None:  # type: ignore[no-untyped-def]
    faulted: dict[str, str] = {}
    for n in range(COUNT):
        rel = f"d{n // 100}/r{n:04d}.wav"
        fault = FAULTS[(n // 3) % len(FAULTS)] if n % 3 == 0 else ""
        recordings.add(rel, seed=n + 1, seconds=3.0, faults=[fault] if fault else [])
        if fault:
            faulted[rel] = fault
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "batchscribe", "run", str(recordings.root), "--out", str(out),
               "--host", emulator.url, "--workers", str(WORKERS), "--retries", "3", "--stall-timeout", "3",
               "--sdk-send-rate", "50"]  # fmt: skip

    codes = [
        _run(command, 150, signal.SIGKILL)[0],
        _run(command, 150, signal.SIGKILL)[0],
        _run(command, 150, signal.SIGTERM)[0],
        _run(command, None, None)[0],
    ]

    db = sqlite3.connect(out / "_state" / "ledger.sqlite")
    rows = dict(db.execute("SELECT source, status FROM files").fetchall())
    errors = dict(db.execute("SELECT source, error FROM files WHERE status = 'failed'").fetchall())
    db.close()
    assert sorted(rows) == sorted(recordings.texts)  # every recording, once
    failed = {s for s, status in rows.items() if status == "failed"}
    succeeded = {s for s, status in rows.items() if status == "succeeded"}
    assert failed | succeeded == set(rows)
    refused = {s for s, f in faulted.items() if f.startswith(PERMANENT)}
    assert all(errors[s] for s in failed)  # a failure with a reason
    # The emulator knows a recording by a coarse fingerprint of its sound: among 1,000 noise
    # recordings some are taken for one another (and get its text, or its refusal, or not).
    # Counted, not asserted: what is asserted is that each ends once, complete or failed with a
    # reason, whatever the service said.
    mistaken = len(failed ^ refused)
    for source in succeeded:  # a complete transcript
        document = json.loads((out / f"{source}.json").read_text(encoding="utf-8"))
        text = " ".join(p["display"] for p in document["combinedRecognizedPhrases"])
        assert text and document["batchscribe"]["sha256"]
        mistaken += text != recordings.texts[source]
    assert not any((out / f"{s}.json").exists() or (out / f"{s}.txt").exists() for s in failed)
    assert leftovers(out) == []
    snapshot = emulator.stats()
    stats = snapshot.recordings
    # A recognition the service finished cleanly (no injected fault cut that session): paid for.
    # Sessions a fault cut after their turn ended are the fault's cost, counted apart.
    paid = sum(1 for s in snapshot.sessions.values() if s.completed_turns and not s.faults)
    cut = sum(1 for s in snapshot.sessions.values() if s.completed_turns and s.faults)
    paid_twice = paid - len(succeeded)
    in_flight_bound = WORKERS * 3  # sessions that may finish at the service as each kill lands
    assert paid_twice <= in_flight_bound
    sessions = sum(r.sessions for r in stats.values())
    print(
        f"\nfault soak: {COUNT} recordings, {len(faulted)} with faults; exits {codes}; "
        f"{len(succeeded)} transcribed, {len(failed)} failed with a reason ({len(refused)} refused by "
        f"script, {mistaken} taken for another recording by the emulator); {sessions} sessions, "
        f"{paid} clean recognitions ({cut} more cut by a fault after their turn), "
        f"{paid_twice} paid twice (bound {in_flight_bound}); "
        f"{len(leftovers(out))} temp files",
        file=sys.stderr,
    )
    # -6 (SIGABRT, exit 134 from a shell) is the SDK aborting at exit: issue 12 point 7.
    assert codes[:3] == [-9, -9, 130] and codes[3] in (0, 1), codes
