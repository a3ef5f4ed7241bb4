"""``--engine batch`` uploads, with the real clients against Azurite and the emulator: the
progress the live view hears (recordings and bytes, within a large recording too), and a
converted recording that keeps its channels for ``--channels separate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from batchscribe.emulator import Emulator
from batchscribe.emulator.synth import encode_samples
from batchscribe.engines.batch import storage
from batchscribe.results import FileResult
from batchscribe.running import upload_progress
from batchscribe.running.run import run_batch
from tests.azurite import Azurite
from tests.conftest import Recordings, burst_samples
from tests.engines.batch.test_batch_run import KEY, _settings


class Watcher:
    """A sink that keeps every upload progress event (and ignores the rest)."""

    def __init__(self) -> None:
        self.uploads: list[tuple[str, int, int, int, int]] = []

    def upload_progress(self, name: str, files: int, files_total: int, sent: int, total: int) -> None:
        self.uploads.append((name, files, files_total, sent, total))

    def file_started(self, *args: object) -> None: ...
    def file_progress(self, *args: object) -> None: ...
    def file_retrying(self, *args: object) -> None: ...
    def file_finished(self, result: FileResult) -> None: ...
    def concurrency_changed(self, limit: int) -> None: ...


def test_upload_progress_counts_recordings_and_bytes_up_to_the_totals(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Small blocks, so that a 10 s recording (320 kB) goes up in several and its bytes move.
    monkeypatch.setattr(
        storage, "_CLIENT_OPTIONS", {"max_single_put_size": 64 << 10, "max_block_size": 64 << 10}
    )
    monkeypatch.setattr(upload_progress, "EVERY_S", 0.0)  # every hook call reaches the sink
    long = recordings.add("long.wav", 1, "A long call.", seconds=10.0)
    recordings.add("short.wav", 2, "A short one.", seconds=2.0)
    (recordings.root / "copy.wav").write_bytes(long.read_bytes())  # the same bytes: sent once
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path)
    watcher = Watcher()
    result = run_batch(settings, job_engine_factory=azurite.batch_engines(), events=watcher)  # type: ignore[arg-type]
    assert (result.exit_code, result.succeeded_count) == (0, 3), [f.failure for f in result.failed]
    sizes = sum(p.stat().st_size for p in recordings.root.glob("*.wav"))
    (job,) = {name for name, *_ in watcher.uploads}
    events = [event[1:] for event in watcher.uploads]
    assert events[0] == (0, 3, 0, sizes) and events[-1] == (3, 3, sizes, sizes)
    files, bytes_sent = [e[0] for e in events], [e[2] for e in events]
    assert files == sorted(files) and bytes_sent == sorted(bytes_sent)
    # Bytes moved while a recording was still going up: not only whole recordings at a time.
    whole = {0, sizes} | {sum(c) for c in _subsets([p.stat().st_size for p in recordings.root.glob("*.wav")])}
    assert any(sent not in whole for sent in bytes_sent), events
    assert job.endswith("job 1")


def _subsets(sizes: list[int]) -> list[tuple[int, ...]]:
    from itertools import combinations

    return [c for n in range(1, len(sizes) + 1) for c in combinations(sizes, n)]


def test_progress_is_throttled_but_always_ends_at_the_totals() -> None:
    now = [0.0]
    watcher = Watcher()
    sizes = [1000, 1000]
    progress = upload_progress.UploadProgress("job 1", sizes, watcher, clock=lambda: now[0], every_s=1.0)  # type: ignore[arg-type]
    progress.start()
    hook = progress.file_hook(0)
    for sent in range(100, 1001, 100):
        hook(sent, 1000)  # within a second of the start: counted, not said
    now[0] = 2.0
    hook(900, 1000)  # a block reporting late: never backwards
    progress.file_hook(1)(250, 500)  # a converted recording: scaled to the source's size
    now[0] = 2.5
    progress.finished(0)  # within a second: not said
    progress.finished(1)  # the last one: always said
    events = [e[1:] for e in watcher.uploads]
    assert events == [(0, 2, 0, 2000), (0, 2, 1500, 2000), (2, 2, 2000, 2000)]


def test_a_stereo_video_with_separate_channels_keeps_both_channels(
    recordings: Recordings, emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    left, right = burst_samples(21, 4.0), burst_samples(22, 4.0)
    for name, samples, text in (("left.wav", left, "The agent speaks on the left."),
                                ("right.wav", right, "The customer answers on the right.")):  # fmt: skip
        recordings.add(name, 0, text, samples=samples).unlink()  # scripted by its sound, then gone
    encode_samples(recordings.root / "call.mp4", np.stack([left, right], axis=1), codec="aac", rate=16000,
                   layout="stereo")  # fmt: skip
    emulator = emulator_for(recordings, key=KEY)
    settings = replace(_settings(recordings, emulator, tmp_path, keep_uploads=True), channels="separate")
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (0, 1), result.failed
    document = json.loads((settings.out / "call.mp4.json").read_text())
    combined = {c["channel"]: c["display"] for c in document["combinedRecognizedPhrases"]}
    assert combined == {0: "The agent speaks on the left.", 1: "The customer answers on the right."}
    (blob,) = azurite.blob_names(settings.batch.storage)
    assert blob.endswith(".channels.wav")  # not the mono conversion's name: never mistaken for it


def test_a_stereo_call_without_separate_channels_is_heard_whole_not_only_its_left_channel(
    emulator_for: Callable[..., Emulator], azurite: Azurite, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from batchscribe.emulator import Transcripts
    from tests.audio.test_formats import script_add
    from tests.conftest import write_wav

    root = tmp_path / "calls"
    stereo = np.stack([burst_samples(31, 4.0), burst_samples(32, 4.0)], axis=1).reshape(-1)
    call = write_wav(root / "call.wav", stereo, channels=2)  # a format the service reads as it is
    scripts, cli = tmp_path / "scripts.yaml", CliRunner()
    script_add(cli, scripts, call, "Both sides of the call, mixed.")  # as every engine mixes it
    script_add(cli, scripts, call, "Only the agent on the left.", "--channel", "0")
    recordings = Recordings(root)
    recordings.transcripts = Transcripts.load(scripts)
    emulator = emulator_for(recordings, key=KEY)
    settings = _settings(recordings, emulator, tmp_path, keep_uploads=True)
    result = run_batch(settings, job_engine_factory=azurite.batch_engines())
    assert (result.exit_code, result.succeeded_count) == (0, 1), result.failed
    document = json.loads((settings.out / "call.wav.json").read_text())
    assert [c["display"] for c in document["combinedRecognizedPhrases"]] == ["Both sides of the call, mixed."]
    (blob,) = azurite.blob_names(settings.batch.storage)
    assert blob.endswith(".wav") and not blob.endswith(".channels.wav")  # mixed down to mono, once
