"""Chunks on the runner with a scripted engine: resume, discard on changed settings or content,
budgets by chunk, one progress line per recording."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from batchscribe import audio
from batchscribe.cancel import CancelToken
from batchscribe.emulator.synth import burst_samples, write_wav
from batchscribe.engines.base import Phrase, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.errors import PermanentEngineError
from batchscribe.planning.discovery import AudioFile
from batchscribe.planning.planner import WorkItem
from batchscribe.running.chunks import split_items
from batchscribe.running.outcome import Budget, Written
from batchscribe.running.runner import Runner
from batchscribe.running.split_plan import SplitOptions
from batchscribe.state.chunk_store import ChunkStore, Manifest, SavedChunk
from tests.running.test_runner import Events, written

SECONDS = 40.0


class ChunkEngine:
    """Answers each chunk with one phrase naming its start; fails the chunks told to, once each."""

    name = "fake"

    def __init__(self, fail_starts: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.starts: list[int] = []  # first sample of each chunk sent
        self.channels: list[int | None] = []
        self._fail = set(fail_starts)
        self._lock = threading.Lock()

    def transcribe(self, request: RecognitionRequest, *, on_progress: ProgressCallback,
                   cancel: CancelToken) -> Transcript:  # fmt: skip
        assert request.pcm is not None
        start = (request.pcm.offset - (0 if request.pcm.spooled else 44)) // 2
        with self._lock:
            self.starts.append(start)
            self.channels.append(request.channel)
            failing = start in self._fail
            self._fail.discard(start)
        if failing:
            raise PermanentEngineError("refused", code="bad_request")
        reader = audio.RangeReader(request.pcm)
        length = len(reader.read(request.pcm.length)) // 2
        on_progress(length / audio.SAMPLE_RATE)
        phrase = Phrase(
            offset_ticks=1000, duration_ticks=5000, display=f"chunk at {start}", channel=request.channel or 0
        )
        return Transcript(phrases=(phrase,), receipt=reader.finish())

    def close(self) -> None:
        pass


def recording(tmp_path: Path) -> WorkItem:
    path = write_wav(tmp_path / "in" / "long.wav", burst_samples(3, SECONDS))
    st = path.stat()
    return WorkItem(AudioFile(path, "long.wav", st.st_size, st.st_mtime_ns), audio.probe(path))


def run(engine: ChunkEngine, item: WorkItem, out: Path, *, settings: str = "s1",
        budget: Budget | None = None, workers: int = 2, channels: str = "mix",
        ) -> tuple[Events, list[str]]:  # fmt: skip
    options = SplitOptions(ChunkStore(out), settings, chunk_seconds=10, channels=channels)
    events = Events()
    runner = Runner(engine, written, events, workers=workers, retries=0, retry_wait=0.001, budget=budget,
                    splitter=lambda items, workers: split_items(items, workers, options))  # fmt: skip
    outcome = runner.run([item])
    return events, [r.status for r in outcome.results]


def test_a_failed_recording_resumes_with_only_its_unfinished_chunk(tmp_path: Path) -> None:
    item, out = recording(tmp_path), tmp_path / "out"
    first = ChunkEngine()
    run(first, item, out, workers=1)
    assert len(first.starts) == 4
    last = first.starts[-1]  # one worker: the chunks go in the same order every run
    failing = ChunkEngine(fail_starts={last})
    store = ChunkStore(out)
    _, statuses = run(failing, item, out, workers=1)
    assert statuses == ["failed"]
    assert failing.starts == first.starts
    assert (store.folder("long.wav") / "manifest.json").is_file()

    again = ChunkEngine()
    events, statuses = run(again, item, out)
    assert statuses == ["succeeded"]
    assert again.starts == [last]  # the others were saved by the failed run
    assert events.started == ["long.wav"]  # one line per recording
    assert not store.folder("long.wav").exists()  # done: nothing kept


@pytest.mark.parametrize("change", ["settings", "content"])
def test_saved_chunks_are_discarded_when_settings_or_content_changed(tmp_path: Path, change: str) -> None:
    item, out = recording(tmp_path), tmp_path / "out"
    first = ChunkEngine()
    run(first, item, out, workers=1)
    run(ChunkEngine(fail_starts={first.starts[-1]}), item, out, workers=1)  # three chunks saved
    if change == "content":
        samples = burst_samples(4, SECONDS)
        write_wav(item.file.path, samples)
        st = item.file.path.stat()
        item = WorkItem(AudioFile(item.file.path, "long.wav", st.st_size, st.st_mtime_ns), item.audio)
    again = ChunkEngine()
    _, statuses = run(again, item, out, settings="s2" if change == "settings" else "s1")
    assert statuses == ["succeeded"]
    assert len(again.starts) == 4


def test_budgets_count_chunks_and_leave_the_rest_for_the_next_run(tmp_path: Path) -> None:
    item, out = recording(tmp_path), tmp_path / "out"
    engine = ChunkEngine()
    _, statuses = run(engine, item, out, budget=Budget(audio_seconds=25.0))
    assert statuses == []  # not finished: no result, its chunks saved
    assert len(engine.starts) == 2
    again = ChunkEngine()
    _, statuses = run(again, item, out)
    assert statuses == ["succeeded"] and len(again.starts) == 2


def test_separate_channels_are_split_each_and_merged_by_time(tmp_path: Path) -> None:
    left, right = burst_samples(5, SECONDS), burst_samples(6, SECONDS)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    path = write_wav(tmp_path / "in" / "call.wav", stereo, channels=2)
    st = path.stat()
    item = WorkItem(AudioFile(path, "call.wav", st.st_size, st.st_mtime_ns), audio.probe(path))
    engine = ChunkEngine()
    kept: list[Transcript] = []
    options = SplitOptions(ChunkStore(tmp_path / "out"), "s1", chunk_seconds=10, channels="separate")

    def keep(item: WorkItem, transcript: Transcript, attempts: int, elapsed: float) -> Written:
        kept.append(transcript)
        return written(item, transcript, attempts, elapsed)

    runner = Runner(engine, keep, Events(), workers=2, retries=0,
                    splitter=lambda items, workers: split_items(items, workers, options))  # fmt: skip
    outcome = runner.run([item])
    assert [r.status for r in outcome.results] == ["succeeded"]
    assert sorted(c for c in engine.channels if c is not None) == [0] * 4 + [1] * 4
    (transcript,) = kept
    assert [c.channel for c in transcript.chunks] == [0] * 4 + [1] * 4
    offsets = [(p.offset_ticks, p.channel) for p in transcript.phrases]
    assert offsets == sorted(offsets) and {p.channel for p in transcript.phrases} == {0, 1}


class ManifestAfterTheChunk(ChunkStore):
    """Writes the manifest only once a chunk was saved: the order a busy machine can give when the
    one chunk left is sent by another worker while the recording's read ends."""

    def __init__(self, out: Path) -> None:
        super().__init__(out)
        self.chunk_saved = threading.Event()

    def save(self, source: str, chunk: SavedChunk) -> None:
        super().save(source, chunk)
        self.chunk_saved.set()

    def write_manifest(self, manifest: Manifest) -> None:
        assert self.chunk_saved.wait(30), "the chunk was never sent"
        super().write_manifest(manifest)


def test_a_resumed_recording_whose_last_chunk_ends_before_its_read_is_assembled_once_the_read_is_over(
    tmp_path: Path,
) -> None:
    item, out = recording(tmp_path), tmp_path / "out"
    first = ChunkEngine()
    run(first, item, out, workers=1)
    _, statuses = run(ChunkEngine(fail_starts={first.starts[-1]}), item, out, workers=1)
    assert statuses == ["failed"]
    store = ManifestAfterTheChunk(out)
    options = SplitOptions(store, "s1", chunk_seconds=10)
    again = ChunkEngine()
    runner = Runner(again, written, Events(), workers=2, retries=0, retry_wait=0.001,
                    splitter=lambda items, workers: split_items(items, workers, options))  # fmt: skip

    outcome = runner.run([item])

    assert [r.status for r in outcome.results] == ["succeeded"], outcome.results
    assert again.starts == [first.starts[-1]]
    assert not store.folder("long.wav").exists()  # discarded after the manifest, not before
