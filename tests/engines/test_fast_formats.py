"""Every fixture format through ``--engine fast``: the formats the service takes go as they are,
the others are converted once; the emulator decodes each upload and knows it by its sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.audio import probe
from batchscribe.cli import app
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import Emulator, Transcripts
from batchscribe.emulator.fast_api import PATH
from batchscribe.engines.base import RecognitionOptions
from batchscribe.engines.fast_body import taken_as_is
from batchscribe.running.run import run_batch
from tests.audio.test_formats import CATALOGUE, FIXTURES, GOOD, script_add

pytestmark = pytest.mark.integration


@pytest.fixture(name="scripted", scope="module")
def scripted_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    transcripts = tmp_path_factory.mktemp("scripts") / "t.yaml"
    cli = CliRunner()
    for recording in GOOD:
        script_add(cli, transcripts, FIXTURES / recording["path"], recording["text"])
        for channel, text in enumerate(recording.get("channel_text", ())):
            script_add(cli, transcripts, FIXTURES / recording["path"], text, "--channel", str(channel))
    return transcripts


def test_both_ways_of_sending_are_exercised() -> None:
    sent_as_is = {r["path"]: taken_as_is(probe(FIXTURES / r["path"])) for r in GOOD}
    assert sent_as_is["formats/lossless.flac"] and sent_as_is["formats/wav8k_mulaw.wav"]
    assert not sent_as_is["formats/voice_memo.m4a"] and not sent_as_is["formats/wav_float32.wav"]


def test_every_format_is_transcribed_with_its_text(scripted: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(FIXTURES / "formats"), "--out", str(out), "--emulate",
                                      "--engine", "fast", "--emulator-transcripts", str(scripted),
                                      "--workers", "4"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for recording in GOOD:
        source = recording["path"].removeprefix("formats/")
        document = json.loads((out / f"{source}.json").read_text())
        assert document["batchscribe"]["engine"] == "emulator-fast"
        if "channel_text" not in recording:
            assert document["combinedRecognizedPhrases"][0]["display"] == recording["text"], source
    assert not list((out / "_state").rglob("*.tmp"))  # conversions removed


def test_a_stereo_call_with_separate_channels_is_one_request_for_both(scripted: Path, tmp_path: Path) -> None:
    call = next(r for r in CATALOGUE if "channel_text" in r)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(FIXTURES / call["path"]), "--out", str(out), "--emulate",
                                      "--engine", "fast", "--emulator-transcripts", str(scripted),
                                      "--channels", "separate"])  # fmt: skip
    assert result.exit_code == 0, result.output
    [document_path] = [p for p in out.rglob("*.json") if "_runs" not in p.parts]
    document = json.loads(document_path.read_text())
    combined = {c["channel"]: c["display"] for c in document["combinedRecognizedPhrases"]}
    assert combined == dict(enumerate(call["channel_text"]))
    offsets = [p["offsetInTicks"] for p in document["recognizedPhrases"]]
    assert offsets == sorted(offsets)


def test_the_stereo_call_is_sent_once_with_both_channels_asked_for(scripted: Path, tmp_path: Path) -> None:
    call = next(r for r in CATALOGUE if "channel_text" in r)
    with Emulator(transcripts=Transcripts.load(scripted)) as emulator:
        settings = RunSettings(inputs=(FIXTURES / call["path"],), out=tmp_path / "out", engine="fast",
                               channels="separate", settle_seconds=0,
                               endpoint=Endpoint(kind="emulator", key="emulator", url=emulator.rest_url))  # fmt: skip
        result = run_batch(settings)
        assert result.succeeded_count == 1
        assert emulator.rest_stats().snapshot() == {(PATH, 200): 1}


def test_a_stereo_call_to_diarize_goes_one_channel_per_request(scripted: Path, tmp_path: Path) -> None:
    call = next(r for r in CATALOGUE if "channel_text" in r)
    with Emulator(transcripts=Transcripts.load(scripted)) as emulator:
        settings = RunSettings(inputs=(FIXTURES / call["path"],), out=tmp_path / "out", engine="fast",
                               channels="separate", settle_seconds=0, options=RecognitionOptions(diarize=True),
                               endpoint=Endpoint(kind="emulator", key="emulator", url=emulator.rest_url))  # fmt: skip
        assert run_batch(settings).succeeded_count == 1
        assert emulator.rest_stats().snapshot() == {(PATH, 200): 2}
    [document_path] = [p for p in (tmp_path / "out").rglob("*.json") if "_runs" not in p.parts]
    combined = {
        c["channel"]: c["display"] for c in json.loads(document_path.read_text())["combinedRecognizedPhrases"]
    }
    assert combined == dict(enumerate(call["channel_text"]))
