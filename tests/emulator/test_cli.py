"""``batchscribe emulator``: serving from the command line, and ``script add``."""

from __future__ import annotations

import asyncio
import re
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from batchscribe.cli.emulator import emulator_app
from batchscribe.emulator import Transcripts

PATTERN = [("sil", 0.5), ("tone", 2), ("sil", 1), ("noise", 3), ("sil", 0.7), ("tone", 1.5), ("sil", 0.4)]


def read_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "no output in time"
    return process.stdout.readline().rstrip("\n")


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_real_port_first_and_stops_on_a_signal(tmp_path: Path, stop_with: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "batchscribe.emulator", "--port", "0", "--fault", "http:401"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = read_line(process)
        match = re.fullmatch(r"listening on ws://127\.0\.0\.1:(\d+)", first)
        assert match, first

        async def knock() -> int:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"ws://127.0.0.1:{match.group(1)}/speech"):
                    pass
            return refused.value.response.status_code

        assert asyncio.run(knock()) == 401  # the printed port is the one serving, with the fault
        process.send_signal(stop_with)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None and "stopped" in process.stderr.read()
    finally:
        process.kill()
        process.communicate()


def test_a_bad_fault_spec_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(emulator_app, ["--fault", "close:99"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: bad fault spec 'close:99': close code must be a number in 1000-4999, not '99' "
        "(see `batchscribe emulator --help` for the fault spec grammar)"
    ]


def test_script_add_writes_the_default_file_in_the_current_directory(
    tmp_path: Path, make_wav: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATCHSCRIBE_EMULATOR_TRANSCRIPTS", raising=False)
    wav = make_wav(PATTERN, name="talk.wav")
    result = CliRunner().invoke(
        emulator_app, ["script", "add", str(wav), "--text", "One two three four five."]
    )
    assert result.exit_code == 0, result.output
    assert "added talk.wav: 3 phrases on 3 segments" in result.output
    (entry,) = Transcripts.load(tmp_path / "emulator-transcripts.yaml").entries
    assert " ".join(p.text for p in entry.phrases) == "One two three four five."
    assert [p.start for p in entry.phrases] == pytest.approx([0.5, 3.5, 7.2], abs=0.03)
    saved = yaml.safe_load((tmp_path / "emulator-transcripts.yaml").read_text())
    assert saved["version"] == 1 and saved["recordings"][0]["fingerprint"].startswith("e2:")


def test_script_add_takes_phrases_from_a_text_file_and_the_env_var(
    tmp_path: Path, make_wav: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "scripts.yaml"
    monkeypatch.setenv("BATCHSCRIBE_EMULATOR_TRANSCRIPTS", str(target))
    lines = tmp_path / "lines.txt"
    lines.write_text("Bonjour.\n\nÇa va ?\n", encoding="utf-8")
    wav = make_wav(PATTERN)
    result = CliRunner().invoke(emulator_app, [
        "script", "add", str(wav), "--text-file", str(lines), "--id", "french", "--language", "fr-FR",
        "--speaker", "Guest-2", "--fault", "reset:sessions=1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (entry,) = Transcripts.load(target).entries
    assert [(p.text, p.language, p.speaker) for p in entry.phrases] == [
        ("Bonjour.", "fr-FR", "Guest-2"),
        ("Ça va ?", "fr-FR", "Guest-2"),
    ]
    assert [str(f) for f in entry.faults] == ["reset:sessions=1"]
    again = CliRunner().invoke(emulator_app, ["script", "add", str(wav), "--text", "Replaced."])
    assert again.exit_code == 0
    assert [e.phrases[0].text for e in Transcripts.load(target).entries] == ["Replaced."]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ([], "give exactly one of --text, --phrase (repeatable) or --text-file"),
        (["--text", "a", "--phrase", "b"], "give exactly one of"),
        (["--text", "a", "--fault", "http:503"], "cannot use http"),
    ],
)
def test_script_add_usage_errors_are_one_line(
    tmp_path: Path, make_wav: Callable[..., Path], args: list[str], complaint: str
) -> None:
    wav = make_wav([("tone", 1)])
    result = CliRunner().invoke(
        emulator_app, ["script", "add", str(wav), "--transcripts", str(tmp_path / "t.yaml"), *args]
    )
    assert result.exit_code == 2 and complaint in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "t.yaml").exists()


def test_script_add_on_an_unreadable_file_reports_the_audio_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF....not audio at all")
    result = CliRunner().invoke(
        emulator_app, ["script", "add", str(bad), "--text", "x", "--transcripts", str(tmp_path / "t.yaml")]
    )
    assert result.exit_code == 1 and result.output.startswith("error: ")
    assert [p.name for p in tmp_path.iterdir()] == ["broken.wav"]


def test_help_documents_every_fault_kind_and_option() -> None:
    from batchscribe.emulator.faults import KINDS

    result = CliRunner().invoke(emulator_app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for word in (*[f"{kind}" for kind in KINDS], "after=", "first=", "sessions=", "reason="):
        assert word in result.output


def test_turn_seconds_reaches_the_emulator_and_0_turns_the_limit_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from batchscribe.emulator import runtime
    from batchscribe.errors import UsageError

    seen: list[float | None] = []

    class Stop(UsageError):
        pass

    def fake_emulator(**kwargs: object) -> None:
        seen.append(kwargs["turn_seconds"])  # type: ignore[arg-type]
        raise Stop("stop here")

    monkeypatch.setattr(runtime, "Emulator", fake_emulator)  # serve imports it when it runs
    for args in ([], ["--turn-seconds", "20"], ["--turn-seconds", "0"]):
        assert CliRunner().invoke(emulator_app, args).exit_code == 2
    assert seen == [600.0, 20.0, None]


def test_a_too_short_turn_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(emulator_app, ["--turn-seconds", "0.5"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: a turn must last at least 1 s of audio, not 0.5 s "
        "(for turns without a limit use --turn-seconds 0 (turn_seconds=None))"
    ]


@pytest.mark.parametrize("make", ["missing", "folder"])
def test_script_add_on_a_missing_file_or_a_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if make == "folder":
        (tmp_path / "call.mp3").mkdir()
    result = CliRunner().invoke(emulator_app, ["script", "add", "call.mp3", "--text", "Hello."])
    expected = "call.mp3 does not exist" if make == "missing" else "call.mp3 is not a file"
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {expected}"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "emulator-transcripts.yaml").exists()


def test_key_env_makes_the_emulator_require_that_key_and_never_shows_it(tmp_path: Path) -> None:
    from batchscribe.cli import app
    from tests.cli.cli_process import cli_env

    secret = "emulator-key-" + "7" * 20
    process = subprocess.Popen(
        [sys.executable, "-m", "batchscribe", "emulator", "--port", "0", "--key-env", "EMU_KEY"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(EMU_KEY=secret),
    )  # fmt: skip
    try:
        url = read_line(process).removeprefix("listening on ")
        out = ["--out", str(tmp_path / "out"), "--host", url]
        accepted = CliRunner().invoke(app, ["doctor", *out], env={"SPEECH_KEY": secret})
        assert accepted.exit_code == 0 and "(the key was accepted)" in accepted.output, accepted.output
        rejected = CliRunner().invoke(app, ["doctor", *out], env={"SPEECH_KEY": "another-key"})
        assert rejected.exit_code == 1 and "the key was rejected" in rejected.output
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "requires the key in $EMU_KEY" in stderr
        assert secret not in stdout + stderr
    finally:
        process.kill()
        process.communicate()


def test_key_env_naming_an_unset_variable_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(
        emulator_app, ["--key-env", "NO_SUCH_KEY_VARIABLE"], env={"NO_SUCH_KEY_VARIABLE": ""}
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --key-env: NO_SUCH_KEY_VARIABLE is not set (export NO_SUCH_KEY_VARIABLE=<the key clients must send>)"
    ]
