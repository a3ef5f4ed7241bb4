"""A full disk: exit 3 with one line naming the full folder, whole output sets only, no thread
traceback, and the report written or the reason it was not (issue 12, point 5). A long recording
whose decoded audio does not fit fails alone, saying how much it needs, and leaves nothing behind
(issue 17, item 9). The output folder is a small tmpfs, which needs root (as in CI)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from batchscribe import audio
from batchscribe.emulator.synth import burst_samples, write_wav
from tests.cli.cli_process import FAST, batchscribe, in_ci, last_summary, leftovers, recording

pytestmark = pytest.mark.integration


@pytest.fixture(name="tmpfs")
def tmpfs_fixture(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mounts a tmpfs of the given size (``160k``, ``24m``) under ``tmp_path``; unmounted after."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        folder = tmp_path / f"small{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=False,
                              capture_output=True)  # fmt: skip
        if done.returncode != 0:
            why = f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}"
            if in_ci():  # CI runs as root: there the test must run, never pass by skipping
                pytest.fail(why)
            pytest.skip(why)
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(name="small_disk")
def small_disk_fixture(tmpfs: Callable[[str], Path]) -> Path:
    return tmpfs("160k")


def test_a_full_disk_exits_3_naming_the_folder_with_only_whole_output_sets(
    tmp_path: Path, small_disk: Path
) -> None:
    root, out = tmp_path / "in", small_disk / "out"
    for seed in range(40):
        recording(root / f"r{seed:02d}.wav", seed + 1)

    done = batchscribe("run", root, "--out", out, "--emulate", *FAST, "--workers", "4")

    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    assert "Traceback" not in output and "Exception in thread" not in output
    assert "the disk is full: no space left in" in output and str(out) in output
    assert "summary.md" not in output.split("no space left in", 1)[1].split("\n", 1)[0]
    assert "report could not be written" in output or "summary.json" in output
    texts = {p.name.removesuffix(".txt") for p in out.glob("*.txt")}
    jsons = {p.name.removesuffix(".json") for p in out.glob("*.json")}
    assert texts == jsons and 0 < len(jsons) < 40  # all of a recording's outputs, or none of them
    assert leftovers(out) == []


def test_a_recording_whose_spool_does_not_fit_fails_alone_saying_what_it_needs(
    tmp_path: Path, tmpfs: Callable[[str], Path]
) -> None:
    root, out = tmp_path / "in", tmpfs("24m") / "out"
    write_wav(root / "long.wav", burst_samples(7, 600.0, rate=8000), rate=8000)  # decoded: 19.2 MB spooled
    for seed in range(5):
        recording(root / f"short{seed}.wav", seed + 1)

    done = batchscribe("run", root, "--out", out, "--emulate", *FAST, "--workers", "2")

    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # that recording failed; the night went on
    assert "Traceback" not in output
    assert {p.name for p in out.glob("*.json")} == {f"short{seed}.wav.json" for seed in range(5)}
    (failure,) = last_summary(out)["failures"]
    assert failure["source"] == "long.wav" and failure["code"] == "no_space_to_split"
    assert "needs 35 MB to split; free space" in failure["message"]
    assert "_state/chunks/" in failure["message"]
    assert "long.wav" in output and "needs 35 MB to split" in output
    assert list(out.rglob("*.pcm")) == []  # nothing left filling the disk


def test_a_spool_that_fills_the_disk_is_removed(tmp_path: Path, tmpfs: Callable[[str], Path]) -> None:
    path = write_wav(tmp_path / "long.wav", burst_samples(7, 60.0, rate=8000), rate=8000)  # 1.9 MB spooled
    spool = tmpfs("1m") / "chunks" / "mix.pcm"

    with pytest.raises(audio.SpoolSpaceError) as caught:  # no size given: the write finds out
        audio.read_track(path, channel=None, spool=spool, on_pcm=lambda block: None)

    assert "MB to split; free space" in str(caught.value)
    assert not spool.exists()
