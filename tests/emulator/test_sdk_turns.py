"""The emulator ends turns after ``turn_seconds`` of audio, as the live service every 10 minutes,
and the real SDK goes on in a new turn: every phrase comes back once, in order, in file time."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchscribe.cli.emulator import emulator_app
from batchscribe.emulator import Emulator
from tests.emulator.helpers import run_sdk

pytestmark = pytest.mark.integration

TICKS = 10_000_000
BURSTS = 12  # tone k (each its own pitch) spans 0.5 + 3.5k .. 3.0 + 3.5k seconds
PATTERN = [("sil", 0.5)] + [("tone", 2.5), ("sil", 1.0)] * BURSTS
SECONDS = 0.5 + 3.5 * BURSTS
PHRASES = [f"Burst {k} says word{k}." for k in range(BURSTS)]


@pytest.fixture(name="scripted")
def fixture_scripted(tmp_path: Path, make_wav: Callable[..., Path]) -> tuple[Path, Path]:
    wav = make_wav(PATTERN)
    transcripts = tmp_path / "t.yaml"
    args = [arg for p in PHRASES for arg in ("--phrase", p)]
    result = CliRunner().invoke(
        emulator_app, ["script", "add", str(wav), "--transcripts", str(transcripts), *args]
    )
    assert result.exit_code == 0, result.output
    return wav, transcripts


@pytest.mark.parametrize(
    ("turn_seconds", "replayed"),
    [
        (20.0, 2.0 + 2.5),  # both limits fall inside a burst, replayed whole in the next turn
        (17.7, 0.0),  # 17.7 and 35.4 fall in silences: nothing is replayed
    ],
)
def test_every_phrase_comes_back_once_at_its_offset_across_turn_ends(
    scripted: tuple[Path, Path], turn_seconds: float, replayed: float
) -> None:
    wav, transcripts = scripted
    with Emulator(transcripts=transcripts, turn_seconds=turn_seconds) as emu:
        run = run_sdk(emu.url, wav, detailed=True, timeout=60)
        (session,) = emu.stats().sessions.values()
    assert not run.errors and run.cancel_reason == "EndOfStream"
    assert run.texts == PHRASES
    spoken = [r for r in run.recognized if r.reason == "RecognizedSpeech"]
    for k, phrase in enumerate(spoken):
        assert phrase.offset / TICKS == pytest.approx(0.5 + 3.5 * k, abs=0.03)
        assert phrase.duration / TICKS == pytest.approx(2.5, abs=0.03)
        words = phrase.json["NBest"][0]["Words"]
        assert [w["Word"] for w in words] == ["burst", str(k), "says", f"word{k}"]
        assert phrase.offset <= words[0]["Offset"] and words[-1]["Offset"] < phrase.offset + phrase.duration
    offsets = [r.offset for r in run.recognized]
    assert offsets == sorted(offsets)
    assert session.limited_turns == 2 and session.turns == 3 and session.completed_turns == 1
    starts = list(session.turn_offsets)
    assert starts[0] == 0.0 and all(0 < b - a <= turn_seconds for a, b in itertools.pairwise(starts))
    assert session.audio_seconds == pytest.approx(SECONDS + replayed, abs=0.05)
    assert session.replayed_seconds == pytest.approx(replayed, abs=0.05)


def test_turns_have_no_limit_when_turn_seconds_is_none(scripted: tuple[Path, Path]) -> None:
    wav, transcripts = scripted
    with Emulator(transcripts=transcripts, turn_seconds=None) as emu:
        run = run_sdk(emu.url, wav, timeout=60)
        (session,) = emu.stats().sessions.values()
    assert run.texts == PHRASES
    assert (session.turns, session.limited_turns) == (1, 0)


def test_the_conversation_transcriber_also_goes_on_across_turn_ends(scripted: tuple[Path, Path]) -> None:
    wav, transcripts = scripted
    with Emulator(transcripts=transcripts, turn_seconds=20.0) as emu:
        run = run_sdk(emu.url, wav, transcriber=True, timeout=60)
        (session,) = emu.stats().sessions.values()
    assert run.texts == PHRASES and run.cancel_reason == "EndOfStream"
    assert [round(r.offset / TICKS, 2) for r in run.recognized if r.text] == [
        0.5 + 3.5 * k for k in range(BURSTS)
    ]
    assert session.limited_turns == 2
