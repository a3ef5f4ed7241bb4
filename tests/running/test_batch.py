"""run_batch with the fake engine, injected through its engine factory: no service, no monkeypatching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.base import Congestion, Engine
from batchscribe.engines.fake import FakeEngine
from batchscribe.errors import PermanentEngineError
from batchscribe.running.run import run_batch
from tests.conftest import burst_samples, write_wav


class Factory:
    """An engine factory handing out one FakeEngine, remembering what run_batch gave it."""

    def __init__(self, engine: FakeEngine | None = None, *, push_back: bool = False) -> None:
        self.engine = engine or FakeEngine()
        self.built: list[tuple[RunSettings, Endpoint]] = []
        self.push_back = push_back

    def __call__(self, settings: RunSettings, endpoint: Endpoint, congestion: Congestion) -> Engine:
        self.built.append((settings, endpoint))
        if self.push_back:
            congestion.throttled_by_service()
        return self.engine


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path) -> RunSettings:
    for seed, name in enumerate(("a.wav", "sub/b.wav"), 1):
        write_wav(tmp_path / "in" / name, burst_samples(seed, 1.0))
    return RunSettings(
        inputs=(tmp_path / "in",), out=tmp_path / "out", endpoint=Endpoint(kind="host", url="ws://x")
    )


def test_transcribes_everything_then_nothing_the_second_time(settings: RunSettings) -> None:
    factory = Factory()
    first = run_batch(settings, engine_factory=factory)
    assert (first.exit_code, [f.status for f in first.files]) == (0, ["succeeded", "succeeded"])
    assert json.loads((settings.out / "sub/b.wav.json").read_text())["batchscribe"]["engine"] == "fake"
    assert factory.built == [(settings, settings.endpoint)] and factory.engine.closed

    second = run_batch(settings, engine_factory=Factory())
    assert (second.counts.skipped_done, second.files) == (2, ())


def test_a_failed_file_is_recorded_and_the_run_exits_1(settings: RunSettings) -> None:
    engine = FakeEngine({"a.wav": [PermanentEngineError("refused", code="bad_request")]})
    result = run_batch(settings, engine_factory=Factory(engine))
    assert result.exit_code == 1
    assert {f.source: f.status for f in result.files} == {"a.wav": "failed", "sub/b.wav": "succeeded"}


def test_the_engine_reports_pushback_to_the_runs_limiter(settings: RunSettings) -> None:
    result = run_batch(settings, engine_factory=Factory(push_back=True))
    assert result.counts.throttled == 1


def test_separate_channels_wrap_the_engine_from_the_factory(settings: RunSettings, tmp_path: Path) -> None:
    samples = burst_samples(9, 1.0)
    write_wav(tmp_path / "in" / "call.wav", samples.repeat(2), channels=2)
    factory = Factory()
    result = run_batch(RunSettings(**{**settings.__dict__, "channels": "separate"}), engine_factory=factory)
    assert result.exit_code == 0
    assert sorted((r.path.name, r.channel) for r in factory.engine.requests) == [
        ("a.wav", None), ("b.wav", None), ("call.wav", 0), ("call.wav", 1),
    ]  # fmt: skip


def test_a_transcript_found_on_disk_is_adopted_and_its_missing_outputs_rendered(
    settings: RunSettings,
) -> None:
    run_batch(settings, engine_factory=Factory())
    (settings.out / "_state" / "ledger.sqlite").unlink()  # as if killed before recording them
    (settings.out / "a.wav.txt").unlink()
    factory = Factory()

    result = run_batch(settings, engine_factory=factory)

    assert factory.engine.requests == []  # nothing sent again
    assert (result.counts.skipped_done, result.counts.rerendered) == (1, 1)
    assert (settings.out / "a.wav.txt").is_file()
    assert run_batch(settings, engine_factory=factory).counts.skipped_done == 2  # and now in the ledger


def test_an_unusable_json_makes_its_recording_due_again(settings: RunSettings) -> None:
    run_batch(settings, engine_factory=Factory())
    (settings.out / "sub/b.wav.txt").unlink()
    (settings.out / "sub/b.wav.json").write_text("{}")
    factory = Factory()

    result = run_batch(settings, engine_factory=factory)

    assert [r.path.name for r in factory.engine.requests] == ["b.wav"]
    assert (result.counts.changed, result.counts.rerendered, result.counts.skipped_done) == (1, 0, 1)
    assert (settings.out / "sub/b.wav.txt").is_file()
