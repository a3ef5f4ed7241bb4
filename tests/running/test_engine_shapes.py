"""The runner and the ledger over each engine shape the seam takes (docs/ENGINES.md), with the
fakes: a session engine (progress as it goes, any length) and a request engine (one request per
recording or chunk, answered whole, refused over its size or duration limit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine
from batchscribe.engines.fake import FakeEngine, FakeRequestEngine
from batchscribe.errors import TransientEngineError
from batchscribe.planning.planner import WorkItem
from batchscribe.running.events import Fanout
from batchscribe.running.run import run_batch
from tests.conftest import burst_samples, write_wav

SHAPES = {"session": FakeEngine, "request": FakeRequestEngine}


class Progress(Fanout):
    """The progress the runner heard, per recording."""

    def __init__(self) -> None:
        super().__init__([])
        self.heard: dict[str, list[float]] = {}

    def file_progress(self, item: WorkItem, seconds: float) -> None:
        self.heard.setdefault(item.source, []).append(seconds)


def settings_for(tmp_path: Path, **changes: object) -> RunSettings:
    base = RunSettings(inputs=(tmp_path / "in",), out=tmp_path / "out", endpoint=Endpoint(kind="host", url="ws://x"),
                       retries=0)  # fmt: skip
    return RunSettings(**{**base.__dict__, **changes})


def factory(engine: FakeEngine):  # type: ignore[no-untyped-def]
    def build(settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
        return engine

    return build


@pytest.fixture(name="recordings")
def recordings_fixture(tmp_path: Path) -> Path:
    for seed, name in enumerate(("a.wav", "b.wav", "sub/c.wav"), 1):
        write_wav(tmp_path / "in" / name, burst_samples(seed, 2.0))
    return tmp_path / "in"


@pytest.mark.parametrize("shape", SHAPES)
def test_every_recording_is_done_once_and_recorded(shape: str, recordings: Path, tmp_path: Path) -> None:
    engine = SHAPES[shape]()
    first = run_batch(settings_for(tmp_path), engine_factory=factory(engine))
    assert (first.exit_code, sorted(f.source for f in first.succeeded)) == (
        0,
        ["a.wav", "b.wav", "sub/c.wav"],
    )
    assert sorted(r.path.name for r in engine.requests) == ["a.wav", "b.wav", "c.wav"]

    again = SHAPES[shape]()
    second = run_batch(settings_for(tmp_path), engine_factory=factory(again))
    assert (second.counts.skipped_done, again.requests) == (3, [])  # the ledger knows them done


@pytest.mark.parametrize("shape", SHAPES)
def test_a_transient_failure_is_recorded_and_only_it_is_sent_again(
    shape: str, recordings: Path, tmp_path: Path
) -> None:
    engine = SHAPES[shape]({"b.wav": [TransientEngineError("dropped", code="connection_failed")]})
    first = run_batch(settings_for(tmp_path), engine_factory=factory(engine))
    assert (first.exit_code, [f.source for f in first.failed]) == (1, ["b.wav"])

    again = SHAPES[shape]()
    second = run_batch(settings_for(tmp_path), engine_factory=factory(again))
    assert second.exit_code == 0 and [r.path.name for r in again.requests] == ["b.wav"]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_session_reports_progress_and_a_request_only_its_answer(
    shape: str, recordings: Path, tmp_path: Path
) -> None:
    progress = Progress()
    result = run_batch(settings_for(tmp_path), engine_factory=factory(SHAPES[shape]()), events=progress)
    assert result.exit_code == 0
    if shape == "session":
        assert sorted(progress.heard) == ["a.wav", "b.wav", "sub/c.wav"]
    else:
        assert progress.heard == {}


def test_a_request_over_its_limit_fails_for_good_and_is_not_sent_again(
    recordings: Path, tmp_path: Path
) -> None:
    write_wav(recordings / "long.wav", burst_samples(7, 30.0))
    engine = FakeRequestEngine(max_seconds=20.0)
    first = run_batch(settings_for(tmp_path, split="off"), engine_factory=factory(engine))
    (failed,) = first.failed
    assert (failed.source, failed.failure.code if failed.failure else "") == ("long.wav", "request_too_large")
    assert first.exit_code == 1 and [r.path.name for r in engine.refused] == ["long.wav"]

    again = FakeRequestEngine(max_seconds=20.0)
    second = run_batch(settings_for(tmp_path, split="off"), engine_factory=factory(again))
    assert again.requests == [] and second.counts.known_failures == 1  # permanent: not retried


def test_chunks_under_the_limit_carry_a_recording_over_it(recordings: Path, tmp_path: Path) -> None:
    write_wav(recordings / "long.wav", burst_samples(7, 30.0))
    engine = FakeRequestEngine(max_seconds=20.0)
    result = run_batch(settings_for(tmp_path, chunk_seconds=10.0), engine_factory=factory(engine))
    assert result.exit_code == 0 and engine.refused == []
    chunks = [r for r in engine.requests if r.path.name == "long.wav"]
    assert len(chunks) >= 2 and all(r.pcm is not None and r.pcm.length <= 20 * 32_000 for r in chunks)
