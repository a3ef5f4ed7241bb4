"""A chunked recording's saved state is checked, never trusted (issue 17, items 10 and 17).

- a recording rewritten in place while its chunks are sent, its size and mtime put back, is
  never recorded as done with the old content: the ctime is part of what identifies a file;
- a chunk file edited by hand, holding a wrong-typed field, a manifest whose cuts do not tile the
  recording, or a FIFO in place of a chunk file: discarded and redone, never stitched in, never
  an internal error, never a hang.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from batchscribe import audio
from batchscribe.cancel import CancelToken
from batchscribe.emulator.synth import burst_samples, write_wav
from batchscribe.engines.base import ProgressCallback, RecognitionRequest, Transcript
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.running.chunks import split_items
from batchscribe.running.outcome import RunOutcome, Written
from batchscribe.running.runner import Runner
from batchscribe.running.split_plan import SplitOptions
from batchscribe.state.chunk_store import ChunkStore
from tests.running.test_chunk_resume import SECONDS, ChunkEngine
from tests.running.test_runner import Events, written


class RewriteOnFirstChunk(ChunkEngine):
    """Before its first chunk, rewrites the recording in place with other audio of the same
    size and puts its mtime back, as a careless tool (or an attacker) would."""

    def __init__(self, path: Path, rate: int) -> None:
        super().__init__()
        self._path, self._rate = path, rate
        self._once = threading.Event()

    def transcribe(self, request: RecognitionRequest, *, on_progress: ProgressCallback,
                   cancel: CancelToken) -> Transcript:  # fmt: skip
        if not self._once.is_set():
            self._once.set()
            before = self._path.stat()
            other = write_wav(self._path.with_name("other.wav"), burst_samples(77, SECONDS, rate=self._rate),
                              rate=self._rate)  # fmt: skip
            with self._path.open("r+b") as file:  # the same inode, the same size
                file.write(other.read_bytes())
            os.utime(self._path, ns=(before.st_atime_ns, before.st_mtime_ns))
            after = self._path.stat()
            assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
                before.st_size, before.st_mtime_ns, before.st_ino)  # fmt: skip
        return super().transcribe(request, on_progress=on_progress, cancel=cancel)


def long_recording(tmp_path: Path, *, rate: int = audio.SAMPLE_RATE) -> WorkItem:
    path = write_wav(tmp_path / "in" / "long.wav", burst_samples(3, SECONDS, rate=rate), rate=rate)
    st = path.stat()
    return WorkItem(AudioFile(path, "long.wav", st.st_size, st.st_mtime_ns), audio.probe(path))


def run_chunks(engine: ChunkEngine, item: WorkItem, out: Path, *, workers: int = 1,
               kept: list[Transcript] | None = None) -> RunOutcome:  # fmt: skip
    options = SplitOptions(ChunkStore(out), "s1", chunk_seconds=10)

    def write(item: WorkItem, transcript: Transcript, attempts: int, elapsed: float) -> Written:
        if kept is not None:
            kept.append(transcript)
        return written(item, transcript, attempts, elapsed)

    runner = Runner(engine, write, Events(), workers=workers, retries=0, retry_wait=0.001,
                    splitter=lambda items, workers: split_items(items, workers, options))  # fmt: skip
    return runner.run([item])


@pytest.mark.parametrize("rate", [audio.SAMPLE_RATE, 8000], ids=["read in place", "decoded to the spool"])
def test_a_recording_rewritten_in_place_with_size_and_mtime_restored_is_not_recorded_done(
    tmp_path: Path, rate: int
) -> None:
    item, out = long_recording(tmp_path, rate=rate), tmp_path / "out"
    # One worker: the read (queued first) is over before the first chunk is sent.
    outcome = run_chunks(RewriteOnFirstChunk(item.file.path, rate), item, out)

    assert [r.status for r in outcome.results] == []  # never recorded as done
    assert [c.source for c in outcome.changed] == ["long.wav"]  # left for the next run


def with_saved_chunks(tmp_path: Path, *, rate: int = audio.SAMPLE_RATE) -> tuple[WorkItem, Path, list[int]]:
    """A recording whose last chunk failed: its manifest and its other chunks are saved."""
    item, out = long_recording(tmp_path, rate=rate), tmp_path / "out"
    first = ChunkEngine()
    run_chunks(first, item, out)
    assert len(first.starts) == 4
    outcome = run_chunks(ChunkEngine(fail_starts={first.starts[-1]}), item, out)
    assert [r.status for r in outcome.results] == ["failed"]
    return item, out, first.starts


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def edit_text(data: dict[str, Any]) -> None:
    data["phrases"][0]["display"] = "INJECTED TEXT"


def wrong_type(data: dict[str, Any]) -> None:
    data["phrases"][0]["offset_ticks"] = "1000"


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


DAMAGE: dict[str, Callable[[Path, Path], None]] = {
    "edited text": lambda folder, chunk: edit_json(chunk, edit_text),
    "wrong-typed field": lambda folder, chunk: edit_json(chunk, wrong_type),
    "cuts past the end": lambda folder, chunk: edit_json(
        folder / "manifest.json", lambda m: m["tracks"]["mix"].update(cuts=[160_000, 960_000, 320_000])),
    "cuts out of order": lambda folder, chunk: edit_json(
        folder / "manifest.json", lambda m: m["tracks"]["mix"].update(cuts=[320_000, 160_000, 480_000])),
    "a FIFO for a chunk": lambda folder, chunk: fifo(chunk),
    "a FIFO for the manifest": lambda folder, chunk: fifo(folder / "manifest.json"),
}  # fmt: skip


@pytest.mark.timeout(60)
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_chunk_state_is_discarded_and_redone_never_trusted_never_fatal(
    tmp_path: Path, damage: str
) -> None:
    item, out, starts = with_saved_chunks(tmp_path)
    folder = ChunkStore(out).folder("long.wav")
    chunk = sorted(folder.glob("mix.*.json"))[0]
    damaged_start = json.loads(chunk.read_text())["start"]
    DAMAGE[damage](folder, chunk)
    engine, kept = ChunkEngine(), []

    outcome = run_chunks(engine, item, out, kept=kept)

    assert [r.status for r in outcome.results] == ["succeeded"], outcome.results
    (transcript,) = kept
    assert [p.display for p in transcript.phrases] == [f"chunk at {start}" for start in sorted(starts)]
    assert damaged_start in engine.starts  # the damaged chunk (or all of them) sent again
    assert not folder.exists()  # done: nothing kept


@pytest.mark.timeout(60)
def test_a_fifo_in_place_of_the_spool_never_blocks_the_read(tmp_path: Path) -> None:
    item, out, starts = with_saved_chunks(tmp_path, rate=8000)  # decoded: its PCM is spooled
    folder = ChunkStore(out).folder("long.wav")
    fifo(folder / "mix.pcm")
    engine = ChunkEngine()

    outcome = run_chunks(engine, item, out)

    assert [r.status for r in outcome.results] == ["succeeded"], outcome.results
    assert engine.starts == [starts[-1]]  # the saved chunks still count
