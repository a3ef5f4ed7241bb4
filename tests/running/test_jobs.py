"""The job engine's run (``--engine batch``) on the fake job engine: jobs, state across runs,
kill -9 between any two steps, faults. No network, no sleeping: the poll interval is tiny."""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.engines.batch.settings import BatchSettings
from batchscribe.engines.fake_jobs import FakeJobEngine
from batchscribe.report.console import render_console_summary
from batchscribe.report.summary import headline, summary_document
from batchscribe.running import job_uploads
from batchscribe.running.run import run_batch
from batchscribe.state.job_store import JobStore
from tests.conftest import burst_samples, write_wav


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs (not even ``except Exception``)."""


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path) -> RunSettings:
    for seed, name in enumerate(("a.wav", "b.wav", "sub/c.wav", "sub/d.wav", "e.wav"), 1):
        write_wav(tmp_path / "in" / name, burst_samples(seed, 1.5))
    return RunSettings(
        inputs=(tmp_path / "in",),
        out=tmp_path / "out",
        endpoint=Endpoint(kind="host", url="http://x"),
        engine="batch",
        batch=BatchSettings(batch_size=2, poll_interval_s=0.01),
        formats=("txt", "srt", "json"),
    )


def _with(settings: RunSettings, **batch: object) -> RunSettings:
    return replace(settings, batch=replace(settings.batch, **batch))  # type: ignore[arg-type]


def test_recordings_go_in_jobs_of_batch_size_and_come_back_written(settings: RunSettings) -> None:
    engine = FakeJobEngine(reads_before_done=2)
    result = run_batch(settings, job_engine_factory=lambda s: engine)
    assert (result.exit_code, result.succeeded_count) == (0, 5)
    assert engine.submits == 3  # 2 + 2 + 1
    document = json.loads((settings.out / "sub/c.wav.json").read_text())
    assert document["batchscribe"]["engine"] == "fake-batch"
    assert document["recognizedPhrases"][0]["nBest"][0]["display"].startswith("Upload ")
    assert (settings.out / "sub/c.wav.srt").is_file() and (settings.out / "sub/c.wav.txt").is_file()
    # Collected jobs are deleted at the service and their uploads removed.
    assert (engine.jobs, engine.uploads, len(engine.forgotten)) == ({}, {}, 3)
    again = run_batch(settings, job_engine_factory=lambda s: FakeJobEngine())
    assert (again.counts.skipped_done, again.succeeded_count) == (5, 0)


def test_each_job_is_submitted_under_a_display_name_naming_the_run(settings: RunSettings) -> None:
    engine = FakeJobEngine()
    names: list[str] = []
    engine.on_submit.append(lambda: names.extend(job.name for job in engine.jobs.values()))
    result = run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine, run_id="r1")
    assert result.exit_code == 0
    assert names == ["batchscribe r1 job 1"]  # not the name of the job's last upload


def test_the_same_bytes_are_uploaded_once_and_keep_uploads_keeps_them(settings: RunSettings) -> None:
    (settings.inputs[0] / "copy-of-a.wav").write_bytes((settings.inputs[0] / "a.wav").read_bytes())
    engine = FakeJobEngine()
    result = run_batch(_with(settings, keep_uploads=True, batch_size=10), job_engine_factory=lambda s: engine)
    assert result.succeeded_count == 6
    assert (engine.uploaded, len(engine.uploads)) == (5, 5)


def test_no_wait_submits_then_the_next_run_collects_without_submitting_again(settings: RunSettings) -> None:
    engine = FakeJobEngine(reads_before_done=1)
    first = run_batch(_with(settings, no_wait=True), job_engine_factory=lambda s: engine)
    assert (first.exit_code, first.succeeded_count, engine.submits) == (0, 0, 3)
    assert "5 recording(s) pending at the service" in first.at_service
    assert all(f"{job_id} NotStarted for 0:00:" in first.at_service for job_id in engine.jobs)
    # Left at the service as asked: a quiet night, not a run that stopped early.
    assert first.stop_reason == ""
    summary = summary_document(first)
    assert headline(summary) == "Nothing came back from the service yet; the next run collects it."
    console = Console(file=io.StringIO(), width=200)
    render_console_summary(first, console)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "stopped early" not in shown.lower() and "at the service: 5 recording(s) pending" in shown
    second = run_batch(_with(settings, no_wait=True), job_engine_factory=lambda s: engine)
    assert (second.exit_code, second.succeeded_count, engine.submits) == (0, 5, 3)
    assert JobStore(settings.out).jobs() == []


def test_a_job_collected_with_other_settings_names_the_settings_it_was_transcribed_with(
    settings: RunSettings,
) -> None:
    engine = FakeJobEngine(reads_before_done=1)
    first = run_batch(_with(settings, no_wait=True, batch_size=10), job_engine_factory=lambda s: engine)
    assert "5 recording(s) pending" in first.at_service
    swearing = replace(settings, options=replace(settings.options, profanity="raw"))
    second = run_batch(_with(swearing, batch_size=10), job_engine_factory=lambda s: engine)
    assert second.succeeded_count == 5 and engine.submits == 1
    block = json.loads((settings.out / "a.wav.json").read_text())["batchscribe"]
    assert block["settings"]["profanity"] == "masked"  # as submitted, not the collecting run's "raw"
    third = run_batch(_with(swearing, batch_size=10), job_engine_factory=lambda s: engine)
    assert third.succeeded_count == 5  # done under other settings: transcribed again under these
    block = json.loads((settings.out / "a.wav.json").read_text())["batchscribe"]
    assert block["settings"]["profanity"] == "raw"


def test_an_emulated_run_forgets_only_the_jobs_of_an_earlier_emulated_run(settings: RunSettings) -> None:
    engine = FakeJobEngine(reads_before_done=1)
    first = run_batch(_with(settings, no_wait=True), job_engine_factory=lambda s: engine)
    assert (first.succeeded_count, engine.submits) == (0, 3)  # at Azure, say: pending
    emulated = replace(settings, endpoint=Endpoint(kind="emulator"))
    second = run_batch(emulated, job_engine_factory=lambda s: engine)
    # Jobs submitted to a real service from this folder are collected, not dropped and sent again.
    assert (second.succeeded_count, engine.submits) == (5, 3)


def test_plan_with_emulate_counts_an_earlier_emulated_runs_jobs_as_sent_again_not_pending(
    settings: RunSettings, cli: CliRunner
) -> None:
    emulated = replace(settings, endpoint=Endpoint(kind="emulator"))
    left = run_batch(
        _with(emulated, no_wait=True), job_engine_factory=lambda s: FakeJobEngine(reads_before_done=1)
    )
    assert "5 recording(s) pending" in left.at_service  # then the run ended, and its emulator with it
    plan = ["plan", str(settings.inputs[0]), "--out", str(settings.out), "--engine", "batch", "--json"]
    (with_emulator,) = json.loads(cli.invoke(app, [*plan, "--emulate"]).output)
    assert (with_emulator["batch"]["pending_at_service"], with_emulator["batch"]["uploads"]) == (0, 5)
    (at_azure,) = json.loads(cli.invoke(app, plan).output)  # a real service's jobs would be pending
    assert (at_azure["batch"]["pending_at_service"], at_azure["batch"]["uploads"]) == (5, 0)


@pytest.mark.parametrize("kill_at", ["reserve", "submit", "submitted", "done", "collected"])
def test_a_kill_at_any_step_neither_submits_twice_nor_loses_a_recording(
    settings: RunSettings, kill_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeJobEngine()
    original = getattr(JobStore, kill_at if kill_at != "submit" else "submitted")

    def killer(self: JobStore, *args: object, **kwargs: object) -> None:
        if kill_at != "submit":
            original(self, *args, **kwargs)
        raise Killed  # "submit": the service took the job, the store never heard its id

    monkeypatch.setattr(JobStore, kill_at if kill_at != "submit" else "submitted", killer)
    with pytest.raises(Killed):
        run_batch(settings, job_engine_factory=lambda s: engine)
    monkeypatch.undo()
    submitted_before = engine.submits
    result = run_batch(settings, job_engine_factory=lambda s: engine)
    assert result.exit_code == 0
    done = sorted(p.name for p in settings.out.rglob("*.wav.json"))
    assert done == ["a.wav.json", "b.wav.json", "c.wav.json", "d.wav.json", "e.wav.json"]
    # Every recording was in exactly one submitted job: none twice.
    assert engine.submits == 3 and sorted(set(engine.sent)) == sorted(engine.sent) and len(engine.sent) == 5
    if kill_at == "reserve":
        assert submitted_before == 0  # reserved, never submitted: submitted by the next run
    assert JobStore(settings.out).jobs() == [] and engine.uploads == {}


def test_a_failed_job_fails_its_recordings_with_the_jobs_error_and_a_transient_one_is_resubmitted(
    settings: RunSettings,
) -> None:
    permanent = FakeJobEngine(fail_jobs=1, fail_code="InvalidData")
    result = run_batch(settings, job_engine_factory=lambda s: permanent)
    assert (result.exit_code, result.failed_count, result.succeeded_count) == (1, 2, 3)
    failure = result.failed[0].failure
    assert failure is not None and (failure.code, failure.sdk_code) == ("job_failed", "InvalidData")
    assert "stereo" in failure.hint

    transient = FakeJobEngine(fail_jobs=1, fail_code="Transient")
    result = run_batch(replace(settings, out=settings.out / "2"), job_engine_factory=lambda s: transient)
    assert (result.exit_code, result.succeeded_count, transient.submits) == (0, 5, 4)
    assert {f.attempts for f in result.files} == {1, 2}


def test_a_lost_job_is_submitted_again_once(settings: RunSettings) -> None:
    engine = FakeJobEngine(lose_jobs=1)
    result = run_batch(settings, job_engine_factory=lambda s: engine)
    assert (result.exit_code, result.succeeded_count, engine.submits) == (0, 5, 4)
    twice = FakeJobEngine(lose_jobs=2)
    one_job = _with(replace(settings, out=settings.out / "2"), batch_size=5)
    result = run_batch(one_job, job_engine_factory=lambda s: twice)
    assert (result.exit_code, result.failed_count, twice.submits) == (1, 5, 2)
    assert result.failed[0].failure is not None and result.failed[0].failure.code == "job_lost"


def test_per_recording_failures_and_refusals_before_upload(settings: RunSettings, tmp_path: Path) -> None:
    write_wav(settings.inputs[0] / "stereo.wav", burst_samples(9, 1.5).repeat(2), channels=2)
    engine = FakeJobEngine(fail_names=("b.wav",), refuse_stereo=True)
    result = run_batch(settings, job_engine_factory=lambda s: engine)
    assert result.exit_code == 1
    assert {f.source: f.failure.code for f in result.failed if f.failure} == {
        "b.wav": "InvalidData",
        "stereo.wav": "refused",
    }
    assert "stereo.wav" not in engine.names.values()  # never uploaded
    # A failed recording is a known failure next time, not sent again.
    again = run_batch(settings, job_engine_factory=lambda s: FakeJobEngine())
    assert again.failed_count == 0 and len(again.still_failing) == 2


def test_the_run_stops_waiting_at_max_runtime_and_says_what_is_pending(settings: RunSettings) -> None:
    engine = FakeJobEngine(reads_before_done=10**6)
    result = run_batch(replace(settings, max_runtime_s=0.05), job_engine_factory=lambda s: engine)
    assert result.exit_code == 0 and "5 recording(s) still at the service" in result.stop_reason
    assert engine.status_calls >= 1


def test_a_job_waiting_far_beyond_the_usual_is_reported_with_its_id(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from batchscribe.running import jobs

    monkeypatch.setattr(jobs, "STUCK_AFTER_S", -1.0)  # every job is "far beyond" at once
    engine = FakeJobEngine(reads_before_done=2)
    result = run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine)
    assert result.exit_code == 0
    (job_id,) = engine.forgotten
    stuck = [r.getMessage() for r in caplog.records if "beyond the service's usual" in r.getMessage()]
    assert len(stuck) == 1 and job_id in stuck[0]  # once, not at every poll


def test_a_status_the_service_names_that_batchscribe_does_not_know_is_said_once_with_the_job_id(
    settings: RunSettings, caplog: pytest.LogCaptureFixture
) -> None:
    from batchscribe.engines.jobs import JobStatus

    engine = FakeJobEngine(reads_before_done=3)
    statuses = engine.statuses

    def paused(job_ids: Collection[str]) -> dict[str, JobStatus]:
        return {i: replace(s, state="Running", unknown="Paused") if s.state == "NotStarted" else s
                for i, s in statuses(job_ids).items()}  # fmt: skip

    engine.statuses = paused  # type: ignore[method-assign]
    result = run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine)
    assert result.exit_code == 0
    (job_id,) = engine.forgotten
    said = [r.getMessage() for r in caplog.records if "does not know" in r.getMessage()]
    assert len(said) == 1 and job_id in said[0] and "'Paused'" in said[0]


def test_ctrl_c_while_waiting_leaves_the_jobs_for_the_next_run(settings: RunSettings) -> None:
    from batchscribe.cancel import CancelToken

    cancel = CancelToken()
    engine = FakeJobEngine(reads_before_done=10**6)
    engine.on_submit.append(lambda: cancel.cancel("interrupted"))
    result = run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine, cancel=cancel)
    assert (result.exit_code, engine.submits) == (130, 1)
    engine.jobs[next(iter(engine.jobs))].reads_left = 0
    again = run_batch(settings, job_engine_factory=lambda s: engine)
    assert (again.exit_code, again.succeeded_count, engine.submits) == (0, 5, 1)


def test_a_name_that_is_not_utf8_is_written_where_every_engine_writes_it_and_done_next_time(
    settings: RunSettings,
) -> None:
    import os

    name = os.fsdecode(b"caf\xe9.wav")
    (settings.inputs[0] / name).write_bytes((settings.inputs[0] / "a.wav").read_bytes()[:-2] + b"\x01\x02")
    result = run_batch(settings, job_engine_factory=lambda s: FakeJobEngine())
    assert (result.exit_code, result.succeeded_count) == (0, 6)
    assert (settings.out / f"{name}.json").is_file()
    again = run_batch(settings, job_engine_factory=lambda s: FakeJobEngine())
    assert (again.counts.skipped_done, again.succeeded_count) == (6, 0)


def test_max_hours_leaves_what_is_over_the_budget_for_the_next_run(settings: RunSettings) -> None:
    engine = FakeJobEngine()
    budget = replace(settings, max_audio_hours=3.1 / 3600)  # two 1.5 s recordings fit, not three
    result = run_batch(budget, job_engine_factory=lambda s: engine)
    assert (result.exit_code, result.succeeded_count, result.counts.not_scheduled) == (0, 2, 3)
    assert "budget reached" in result.stop_reason
    again = run_batch(settings, job_engine_factory=lambda s: engine)
    assert (again.succeeded_count, again.counts.skipped_done) == (3, 2)


def test_a_kill_while_a_failed_job_is_recorded_never_submits_it_again(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeJobEngine(fail_jobs=1, fail_code="InvalidData")
    original = JobStore.done

    def killer(self: JobStore, source: str) -> None:
        original(self, source)
        raise Killed

    monkeypatch.setattr(JobStore, "done", killer)
    with pytest.raises(Killed):
        run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine)
    monkeypatch.undo()
    result = run_batch(_with(settings, batch_size=10), job_engine_factory=lambda s: engine)
    assert (result.failed_count, engine.submits) == (4, 1)  # the other four, failed, not sent again
    assert JobStore(settings.out).jobs() == [] and engine.jobs == {}


@pytest.mark.parametrize("keep_uploads", [False, True])
def test_uploads_a_kill_left_before_their_job_was_recorded_are_removed_by_the_next_run(
    settings: RunSettings, keep_uploads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeJobEngine()

    def killer(self: JobStore, *args: object, **kwargs: object) -> None:
        raise Killed  # uploaded, and killed before the job was recorded

    monkeypatch.setattr(JobStore, "reserve", killer)
    with pytest.raises(Killed):
        run_batch(_with(settings, keep_uploads=keep_uploads), job_engine_factory=lambda s: engine)
    monkeypatch.undo()
    assert (len(engine.uploads), engine.submits) == (2, 0)  # the first job's two, recorded nowhere else
    gone, _ = sorted(engine.uploads, key=lambda u: engine.names[u])
    (settings.inputs[0] / engine.names[gone]).unlink()  # removed before the next night: never uploaded again
    result = run_batch(_with(settings, keep_uploads=keep_uploads), job_engine_factory=lambda s: engine)
    assert (result.exit_code, result.succeeded_count) == (0, 4)
    assert engine.submits == 2 and len(set(engine.sent)) == len(engine.sent) == 4 and gone not in engine.sent
    if keep_uploads:  # kept, as every upload is with --keep-uploads
        assert gone in engine.uploads and len(engine.uploads) == 5
    else:  # the orphan is removed, and so is everything collected
        assert engine.uploads == {}
    assert JobStore(settings.out).intents() == [] and JobStore(settings.out).jobs() == []


def test_uploads_live_under_the_folder_id_the_store_keeps_and_plan_makes_none(
    settings: RunSettings, cli: CliRunner
) -> None:
    planned = cli.invoke(
        app, ["plan", str(settings.inputs[0]), "--out", str(settings.out), "--engine", "batch"]
    )
    assert planned.exit_code == 0, planned.output
    assert not (settings.out / "_state").exists()  # plan writes no state: no folder id either
    engine = FakeJobEngine(reads_before_done=1)
    first = run_batch(_with(settings, no_wait=True), job_engine_factory=lambda s: engine)
    assert "5 recording(s) pending" in first.at_service
    store = JobStore(settings.out)
    folder = store.folder_id()
    store.close()
    assert len(folder) == 16 and int(folder, 16) >= 0
    assert len(engine.uploads) == 5 and all(u.startswith(f"{folder}/") for u in engine.uploads)
    reopened = JobStore(settings.out)
    assert reopened.folder_id() == folder  # kept: a folder moved to another machine keeps it too
    reopened.close()
    other = JobStore(settings.out.parent / "another-out")
    assert other.folder_id() != folder
    other.close()
    assert run_batch(settings, job_engine_factory=lambda s: engine).succeeded_count == 5
    assert engine.uploads == {} and engine.submits == 3


def test_jobs_an_earlier_version_recorded_with_unprefixed_uploads_are_collected_and_cleaned_up(
    settings: RunSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeJobEngine(reads_before_done=1)
    monkeypatch.setattr(job_uploads, "upload_name", lambda folder, content: content)  # the old naming
    run_batch(_with(settings, no_wait=True), job_engine_factory=lambda s: engine)
    monkeypatch.undo()
    assert len(engine.uploads) == 5 and not any("/" in u for u in engine.uploads)
    result = run_batch(settings, job_engine_factory=lambda s: engine)
    assert (result.exit_code, result.succeeded_count, engine.submits) == (0, 5, 3)
    assert engine.uploads == {} and JobStore(settings.out).jobs() == []


@pytest.mark.parametrize(("first_job", "batch_size"), [(1, 10), (2, 2), (3, 2), (100, 1000)])
def test_plan_counts_the_jobs_the_run_makes_its_first_one_smaller(
    settings: RunSettings, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, first_job: int, batch_size: int
) -> None:
    monkeypatch.setattr("batchscribe.engines.batch.settings.FIRST_JOB", first_job)
    planned = cli.invoke(app, ["plan", str(settings.inputs[0]), "--out", str(settings.out), "--engine",
                               "batch", "--batch-size", str(batch_size), "--json"])  # fmt: skip
    assert planned.exit_code == 0, planned.output
    engine = FakeJobEngine()
    result = run_batch(_with(settings, batch_size=batch_size), job_engine_factory=lambda s: engine)
    assert result.succeeded_count == 5
    (row,) = json.loads(planned.output)
    assert row["batch"]["jobs"] == engine.submits
