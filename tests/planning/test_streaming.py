"""Many files: the run starts while planning goes on, and results are counted, not all kept."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from batchscribe.cancel import CancelToken
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine, ProgressCallback, RecognitionRequest, Transcript
from batchscribe.engines.fake import transcript_of
from batchscribe.report.summary import summary_document
from batchscribe.results import Failure, FileResult, FileTally
from batchscribe.running import run as batch
from batchscribe.running.events import Fanout
from batchscribe.running.run import run_batch
from tests.conftest import burst_samples, write_wav

FILES = 200


class HeldFirstSession:
    """Holds the first session until released; answers the others at once."""

    name = "held"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def transcribe(self, request: RecognitionRequest, *, on_progress: ProgressCallback,
                   cancel: CancelToken) -> Transcript:  # fmt: skip
        if not self.started.is_set():
            self.started.set()
            self.release.wait()
        return transcript_of("hello")

    def close(self) -> None:
        pass


class Planned(Fanout):
    """Remembers how many files planning had announced."""

    def __init__(self) -> None:
        super().__init__([])
        self.files = 0

    def planned(self, files: int, audio_seconds: float, found: int) -> None:
        self.files = max(self.files, files)


def test_the_first_session_starts_before_planning_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = write_wav(tmp_path / "seed.wav", burst_samples(1, 0.2)).read_bytes()
    for n in range(FILES):
        (tmp_path / "in" / f"d{n // 50}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / f"d{n // 50}" / f"r{n:03d}.wav").write_bytes(seed)
    monkeypatch.setattr(batch, "AHEAD", 64)  # planning waits for room once 64 are queued
    settings = RunSettings(inputs=(tmp_path / "in",), out=tmp_path / "out", workers=1,
                           endpoint=Endpoint(kind="host", url="ws://x"))  # fmt: skip
    engine, sink = HeldFirstSession(), Planned()

    def factory(settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
        return engine

    results = []
    runner = threading.Thread(
        target=lambda: results.append(run_batch(settings, engine_factory=factory, events=sink))
    )
    runner.start()
    try:
        assert engine.started.wait(60), "no session started"
        # The only worker is held in its first session and the queue is full: planning cannot
        # have reached the last files, so the session began before planning ended.
        assert 0 < sink.files < FILES
    finally:
        engine.release.set()
        runner.join()
    (result,) = results
    assert (result.exit_code, result.succeeded_count, result.counts.discovered) == (0, FILES, FILES)
    assert sink.files == FILES


def _result(
    n: int, *, status: str = "succeeded", elapsed: float = 1.0, warnings: tuple[str, ...] = ()
) -> FileResult:
    failure = Failure("not_media", "permanent", "not audio", "leave it out") if status == "failed" else None
    return FileResult(source=f"r{n:03d}.wav", path=Path(f"/in/r{n:03d}.wav"), status=status,  # type: ignore[arg-type]
                      outputs=(Path(f"/out/r{n:03d}.wav.json"),), elapsed_s=elapsed, failure=failure,
                      warnings=warnings)  # fmt: skip


def test_a_tally_counts_every_file_and_keeps_what_the_report_lists() -> None:
    tally = FileTally(keep_every_up_to=2)
    for n in range(100):
        tally.add(_result(n, elapsed=1.0 + (n == 50) * 9))
    tally.add(_result(100, status="failed"))
    tally.add(_result(101, warnings=("low confidence",)))
    kept = {f.source for f in tally.files}
    assert (tally.succeeded, tally.failed) == (101, 1)
    # The first two, the failure, the warned file and the ten slowest (r050 first): nothing else.
    assert {"r000.wav", "r001.wav", "r100.wav", "r101.wav", "r050.wav"} <= kept and len(kept) == 14
    spooled = dict(tally.spooled_outputs())
    assert not kept & set(spooled) and len(kept - {"r100.wav"}) + len(spooled) == 101


def test_the_summary_counts_and_links_files_whose_results_were_not_kept(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from batchscribe.results import RunResult

    tally = FileTally(keep_every_up_to=1)
    for n in range(30):
        tally.add(_result(n))
    now = datetime.now(timezone.utc)
    result = RunResult(run_id="r", started_at=now, ended_at=now, settings={"out": "/out"},
                       files=tally.files, tally=tally)  # fmt: skip
    summary = summary_document(result)
    assert summary["counts"]["succeeded"] == 30 and len(summary["transcripts"]) == 30
    assert len(result.files) < 30 and result.exit_code == 0
