"""What is recorded as done is what was transcribed (issue 12 points 1 and 2).

A recording replaced (``os.replace``) or overwritten in place while the real SDK reads it must be
left for the next run and counted as changed, never recorded as done with the new content's hash.
A FIFO in place of a recording fails that file at once and never blocks a worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from batchscribe.audio import open_pcm, sha256_of
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import AudioError, FileError
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.results import FileResult
from batchscribe.running.run import run_batch
from tests.conftest import Recordings, burst_samples, write_wav

pytestmark = pytest.mark.integration


class SwapOnFirstPhrase:
    """RunEvents that runs ``swap`` once, when the engine reports its first phrase (the file is
    open and being read by then)."""

    def __init__(self, swap: Callable[[], None]) -> None:
        self._swap = swap
        self._done = threading.Event()

    def file_started(self, item: WorkItem, worker: int) -> None:
        pass

    def file_progress(self, item: WorkItem, audio_seconds: float) -> None:
        if not self._done.is_set():
            self._done.set()
            self._swap()

    def file_retrying(self, item: WorkItem, attempt: int, error: FileError) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        pass

    def concurrency_changed(self, limit: int) -> None:
        pass


def settings_for(recordings: Recordings, out: Path, url: str) -> RunSettings:
    return RunSettings(inputs=(recordings.root,), out=out,
                       endpoint=Endpoint(kind="emulator", key="emulator", url=url),
                       options=RecognitionOptions(), workers=1, retries=0, stall_timeout=20,
                       sdk_send_rate=2.0)  # fmt: skip


def replace_with(path: Path, new: Path) -> Callable[[], None]:
    return lambda: new.replace(path)  # os.replace


def overwrite_with(path: Path, new: Path) -> Callable[[], None]:
    return lambda: path.write_bytes(new.read_bytes())  # truncate and write: the same inode


@pytest.mark.parametrize("change", [replace_with, overwrite_with], ids=["os.replace", "in place"])
def test_a_recording_changed_while_transcribed_is_never_recorded_as_done(
    change: Callable[[Path, Path], Callable[[], None]],
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    path = recordings.add("call.wav", seed=3, seconds=8.0)
    new = write_wav(tmp_path / "new.wav", burst_samples(99, 5.0))
    new_digest = hashlib.sha256(new.read_bytes()).hexdigest()
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    settings = settings_for(recordings, out, emulator.url)

    first = run_batch(settings, events=SwapOnFirstPhrase(change(path, new)))

    assert first.counts.changed_during_run == 1
    assert [f for f in first.files if f.status == "succeeded"] == []
    assert not (out / "call.wav.json").exists()
    # The next run transcribes the new content and records that content's hash with it.
    second = run_batch(settings)
    assert second.counts.skipped_done == 0
    assert [f.status for f in second.files] == ["succeeded"]
    assert json.loads((out / "call.wav.json").read_text())["batchscribe"]["sha256"] == new_digest


def test_the_recorded_hash_is_of_the_bytes_that_were_read(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    path = recordings.add("call.wav", seed=4, seconds=3.0)
    emulator = emulator_for(recordings)
    out = tmp_path / "out"
    result = run_batch(settings_for(recordings, out, emulator.url))
    (done,) = result.files
    assert done.status == "succeeded"
    assert done.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_of(path)


@pytest.mark.timeout(60)
def test_a_fifo_moved_over_a_recording_while_transcribed_never_blocks_the_worker(
    recordings: Recordings,
    tmp_path: Path,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    path = recordings.add("call.wav", seed=5, seconds=6.0)
    emulator = emulator_for(recordings)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    result = run_batch(
        settings_for(recordings, tmp_path / "out", emulator.url),
        events=SwapOnFirstPhrase(lambda: fifo.replace(path)),
    )

    assert result.counts.changed_during_run == 1
    assert [f for f in result.files if f.status == "succeeded"] == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("opener", [open_pcm, sha256_of], ids=["decode", "hash"])
def test_every_open_refuses_a_fifo_without_blocking(tmp_path: Path, opener: Callable[[Path], object]) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioError) as caught:
        opener(fifo)
    assert caught.value.code == "unreadable" and "regular file" in caught.value.message


def test_the_reader_hashes_each_byte_once_even_when_ffmpeg_seeks(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "formats"
    for name in ("voice_memo.m4a", "lossless.flac", "wav16_mono.wav", "tagged_cover.mp3"):
        with open_pcm(fixtures / name) as reader:
            while reader.read(65536):
                pass
            receipt = reader.finish()
        assert receipt is not None and receipt.change() == ""
        assert receipt.sha256 == hashlib.sha256((fixtures / name).read_bytes()).hexdigest(), name


def test_a_planned_file_that_differs_when_opened_is_changed(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", burst_samples(1, 1.0))
    with open_pcm(path) as reader:
        receipt = reader.finish()
    assert receipt is not None
    planned = AudioFile(source="a.wav", path=path, size=receipt.opened.size + 1,
                        mtime_ns=receipt.opened.mtime_ns)  # fmt: skip
    assert "changed" in receipt.change(size=planned.size, mtime_ns=planned.mtime_ns)
