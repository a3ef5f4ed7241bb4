"""``python -m batchscribe run FOLDER --emulate --engine batch``: the emulator serves the batch
API and Azurite, started by batchscribe for the run, holds the uploads. Every recording of
fixtures/formats is transcribed, piped and in a terminal; a second run does nothing; ``plan`` and
``doctor`` take the same flags; Azurite never outlives the run (a normal end, SIGTERM, Ctrl-C,
``kill -9``); without Azurite on PATH the run is refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from batchscribe.emulator.azurite import COMMAND
from tests.azurite import _unavailable, running_azurite
from tests.conftest import Batchscribe
from tests.terminal import run_in_terminal

pytestmark = pytest.mark.integration

FORMATS = Path(__file__).resolve().parents[2] / "fixtures" / "formats"
EMULATED = ("--emulate", "--engine", "batch")


@pytest.fixture(name="with_azurite")
def with_azurite_fixture() -> None:
    if shutil.which(COMMAND) is None:
        _unavailable(f"{COMMAND} is not on PATH")


def _recordings() -> list[str]:
    return sorted(p.name for p in FORMATS.iterdir() if p.is_file())


def _transcribed(out: Path) -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in out.glob("*.json"))


def _without_azurite(tmp_path: Path) -> dict[str, str]:
    """This environment with a PATH on which there is no azurite-blob (python runs by its full path)."""
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    return {**Batchscribe.env(), "PATH": str(empty)}


def test_every_recording_is_transcribed_and_a_second_run_does_nothing(
    with_azurite: None, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    out = tmp_path / "out"
    first = batchscribe.run("run", str(FORMATS), "--out", str(out), *EMULATED)
    assert first.returncode == 0, first.stdout + first.stderr
    names = _recordings()
    assert f"All {len(names)} files transcribed." in first.stdout
    assert _transcribed(out) == names
    assert sorted(p.name.removesuffix(".txt") for p in out.glob("*.txt")) == names
    document = json.loads((out / "wav16_mono.wav.json").read_text())
    assert document["batchscribe"]["engine"] == "azure-batch"
    # The same shape as the other engines' transcripts (the real-time engine's, under --emulate too).
    other_out = tmp_path / "realtime"
    single = tmp_path / "single"
    single.mkdir()
    shutil.copy(FORMATS / "wav16_mono.wav", single)
    realtime = batchscribe.run("run", str(single), "--out", str(other_out), "--emulate")
    assert realtime.returncode == 0, realtime.stdout + realtime.stderr
    other = json.loads((other_out / "wav16_mono.wav.json").read_text())
    assert document.keys() == other.keys()
    assert document["combinedRecognizedPhrases"][0].keys() == other["combinedRecognizedPhrases"][0].keys()
    assert document["batchscribe"].keys() == other["batchscribe"].keys()

    written = {p: p.stat().st_mtime_ns for p in out.glob("*.*")}
    again = batchscribe.run("run", str(FORMATS), "--out", str(out), *EMULATED)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to do" in again.stdout
    assert " job " not in again.stdout  # nothing uploaded, nothing submitted
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.*")} == written


def test_in_a_terminal(with_azurite: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_in_terminal("run", str(FORMATS), "--out", str(out), *EMULATED, env=Batchscribe.env())
    assert done.returncode == 0, done.text
    assert f"All {len(_recordings())} files transcribed." in done.text
    assert "Traceback" not in done.text
    assert _transcribed(out) == _recordings()


def test_plan_and_doctor_take_the_same_flags(
    with_azurite: None, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    out = tmp_path / "out"
    # plan asks no service: it needs no Azurite either
    planned = batchscribe.run("plan", str(FORMATS), "--out", str(out), *EMULATED, "--json",
                              env=_without_azurite(tmp_path))  # fmt: skip
    assert planned.returncode == 0, planned.stdout + planned.stderr
    (row,) = json.loads(planned.stdout)
    assert row["batch"]["uploads"] == len(_recordings()) and row["batch"]["jobs"] == 1
    doctor = batchscribe.run("doctor", "--out", str(out), *EMULATED)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    lines = {line.split()[1]: line for line in doctor.stdout.splitlines() if line.strip()}
    assert lines["storage"].startswith("ok") and "read through a SAS URL" in lines["storage"]
    assert lines["batch"].startswith("ok") and "emulator" in lines["batch"]


def test_without_azurite_one_line_and_exit_2(tmp_path: Path, batchscribe: Batchscribe) -> None:
    out = tmp_path / "out"
    done = batchscribe.run("run", str(FORMATS), "--out", str(out), *EMULATED, env=_without_azurite(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "azurite-blob is not on PATH" in line
    assert "npm install -g azurite" in line and "--storage" in line
    assert not out.exists()  # refused before anything was written
    doctor = batchscribe.run("doctor", "--out", str(out), *EMULATED, env=_without_azurite(tmp_path))
    assert doctor.returncode == 1
    assert any(
        x.startswith("FAIL storage") and "npm install -g azurite" in x for x in doctor.stdout.splitlines()
    )


def test_storage_names_the_container_and_no_azurite_is_started(
    with_azurite: None, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    out = tmp_path / "out"
    with running_azurite() as azurite:  # the user's own: batchscribe must not start one (not on PATH)
        env = {**_without_azurite(tmp_path), "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
        done = batchscribe.run(
            "run", str(FORMATS), "--out", str(out), *EMULATED, "--storage", "mine", env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
        service = BlobServiceClient.from_connection_string(azurite.connection_string)
        assert service.get_container_client("mine").exists()  # used, and emptied once collected
        assert list(service.get_container_client("mine").list_blobs()) == []
    assert _transcribed(out) == _recordings()


@pytest.mark.parametrize(
    ("script", "said"),
    [
        (
            "#!/bin/sh\necho 'node: cannot open the port' >&2\nexit 1\n",
            "stopped before it listened: node: cannot",
        ),
        ("", "cannot be started: Exec format error"),  # empty: not a program
    ],
)
def test_an_azurite_that_does_not_start_one_line_and_exit_2(
    script: str, said: str, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    env = _without_azurite(tmp_path)
    broken = Path(env["PATH"]) / COMMAND
    broken.write_text(script)
    broken.chmod(0o755)
    done = batchscribe.run("run", str(FORMATS), "--out", str(tmp_path / "out"), *EMULATED, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert said in line and "--storage" in line


# --- Azurite never outlives the run ---------------------------------------------------------------


def _children(pid: int) -> Iterator[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is ``pid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            yield int(entry.name), command


def _alive(pid: int) -> bool:
    """Running (a zombie no one reaped yet is not running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _ended(pid: int, timeout_s: float = 15.0) -> bool:
    """Whether ``pid`` stops running within the timeout (waits on its pidfd: no polling)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        import select

        ready, _, _ = select.select([handle], [], [], timeout_s)
        return bool(ready) or not _alive(pid)
    finally:
        os.close(handle)


def _stopped_mid_run(
    batchscribe: Batchscribe, out: Path, at: str = "Uploading"
) -> tuple[subprocess.Popen[str], int]:
    """A run frozen (SIGSTOP) once its job is at ``at``, and its Azurite's pid."""
    run = batchscribe.start("run", str(FORMATS), "--out", str(out), *EMULATED)
    lines = batchscribe.read_until(run, lambda seen: at in seen[-1])
    run.send_signal(signal.SIGSTOP)  # it cannot finish before the signal the test is about
    assert run.poll() is None, lines
    (azurite,) = [pid for pid, command in _children(run.pid) if "azurite" in command]
    return run, azurite


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="Linux only (pidfd, PR_SET_PDEATHSIG)")
def test_kill_9_leaves_no_azurite_behind_and_the_next_run_sends_its_job_again(
    with_azurite: None, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    out = tmp_path / "out"
    run, azurite = _stopped_mid_run(batchscribe, out, at="Submitted")
    assert _alive(azurite)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    try:
        assert _ended(azurite), f"Azurite ({azurite}) outlived a kill -9 of batchscribe"
    finally:
        if _alive(azurite):  # left behind: not by this test too
            os.kill(azurite, signal.SIGKILL)
    # The job waited at an emulator that is gone (its uploads too): the next run sends it again.
    again = batchscribe.run("run", str(FORMATS), "--out", str(out), *EMULATED)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "left at its emulator (gone with it) are sent again" in again.stderr
    assert _transcribed(out) == _recordings()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="Linux only (pidfd)")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_stops_its_azurite(
    signum: signal.Signals, with_azurite: None, tmp_path: Path, batchscribe: Batchscribe
) -> None:
    run, azurite = _stopped_mid_run(batchscribe, tmp_path / "out")
    run.send_signal(signum)
    run.send_signal(signal.SIGCONT)
    rest, _ = run.communicate(timeout=60)
    try:
        assert _ended(azurite), f"Azurite ({azurite}) outlived batchscribe stopped by {signum.name}"
    finally:
        if _alive(azurite):
            os.kill(azurite, signal.SIGKILL)
    assert run.returncode == 130, rest  # interrupted, and said so
    assert "Traceback" not in rest
