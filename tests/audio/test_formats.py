"""Every fixture format through the whole pipeline, the way a user would: `emulator script add`
for each recording's known text, then `run --emulate`; and the bad files fail with their reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchscribe.cli import app

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CATALOGUE: list[dict[str, Any]] = json.loads((FIXTURES / "recordings.json").read_text())["recordings"]
GOOD = [r for r in CATALOGUE if r["outcome"] == "ok" and "warning" not in r.get("note", "").lower()]


def script_add(cli: CliRunner, transcripts: Path, path: Path, text: str, *extra: str) -> None:
    result = cli.invoke(
        app,
        ["emulator", "script", "add", str(path), "--text", text, "--transcripts", str(transcripts), *extra],
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(name="scripted", scope="module")
def scripted_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    transcripts = tmp_path_factory.mktemp("scripts") / "t.yaml"
    cli = CliRunner()
    for recording in GOOD:
        script_add(cli, transcripts, FIXTURES / recording["path"], recording["text"])
        for channel, text in enumerate(recording.get("channel_text", ())):
            script_add(cli, transcripts, FIXTURES / recording["path"], text, "--channel", str(channel))
    return transcripts


def test_every_format_is_transcribed_with_its_text(scripted: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(FIXTURES),
            "--out",
            str(out),
            "--emulate",
            "--emulator-transcripts",
            str(scripted),
            "--sdk-send-rate",
            "50",
            "--workers",
            "4",
        ],
    )
    assert result.exit_code == 1, result.output  # fixtures/bad holds the failures
    summary = json.loads(next((out / "_runs").glob("*/summary.json")).read_text())
    failures = {f["source"]: f["code"] for f in summary["failures"]}
    for recording in CATALOGUE:
        source = recording["path"]
        if recording["outcome"] != "ok":
            assert failures.get(source) == recording["outcome"], source
            assert not (out / f"{source}.json").exists()
            continue
        document = json.loads((out / f"{source}.json").read_text())
        block = document["batchscribe"]
        assert block["audio"]["codec"] == recording["format"]["codec"], source
        assert block["audio"]["channels"] == recording["format"]["channels"], source
        # What was decoded (and sent, and paid for), not what the header announces (issue 17, item 16).
        decoded_s = recording["format"].get("decoded_s", recording["format"]["duration_s"])
        assert block["audio"]["duration_s"] == pytest.approx(decoded_s, abs=0.15), source
        if recording in GOOD:
            assert document["combinedRecognizedPhrases"][0]["display"] == recording["text"], source


def test_stereo_call_with_separate_channels_interleaves_both_speakers(scripted: Path, tmp_path: Path) -> None:
    call = next(r for r in CATALOGUE if "channel_text" in r)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(FIXTURES / call["path"]),
            "--out",
            str(out),
            "--emulate",
            "--emulator-transcripts",
            str(scripted),
            "--channels",
            "separate",
            "--sdk-send-rate",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    [document_path] = [p for p in out.rglob("*.json") if "_runs" not in p.parts]
    document = json.loads(document_path.read_text())
    phrases = document["recognizedPhrases"]
    assert {p["channel"] for p in phrases} == {0, 1}
    assert [p["offsetInTicks"] for p in phrases] == sorted(p["offsetInTicks"] for p in phrases)
    combined = {c["channel"]: c["display"] for c in document["combinedRecognizedPhrases"]}
    assert combined == dict(enumerate(call["channel_text"]))
    assert document["batchscribe"]["settings"]["channels"] == "separate"
