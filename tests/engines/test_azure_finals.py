"""The engine reads finals through the SDK's C API when the installed SDK allows it, and through
its Python signals otherwise: both ways give the same transcript, options included (real SDK)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.emulator import ScriptPhrase
from batchscribe.engines import azure
from batchscribe.engines.base import RecognitionOptions
from batchscribe.running.run import run_batch
from tests.conftest import Recordings

pytestmark = pytest.mark.integration

OPTIONS = {
    "words": RecognitionOptions(word_timestamps=True),
    "languages": RecognitionOptions(languages=("en-US", "de-DE")),
    "diarize": RecognitionOptions(diarize=True),
}


def transcribe(recordings: Recordings, out: Path, url: str, options: RecognitionOptions) -> dict[str, object]:
    settings = RunSettings(inputs=(recordings.root,), out=out, options=options, workers=2, retries=0,
                           endpoint=Endpoint(kind="emulator", key="emulator", url=url), sdk_send_rate=50.0)  # fmt: skip
    result = run_batch(settings)
    assert result.exit_code == 0, [f.failure for f in result.files]
    document = json.loads((out / "call.wav.json").read_text())
    return {"phrases": document["recognizedPhrases"], "combined": document["combinedRecognizedPhrases"]}


@pytest.mark.parametrize("name", OPTIONS)
def test_finals_read_natively_equal_finals_read_through_the_sdks_signals(
    name: str,
    recordings: Recordings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    assert azure.NATIVE_FINALS, "the installed SDK's C API path is the one in use"
    recordings.add("call.wav", seed=5, seconds=8.0, text=[
        ScriptPhrase("Good morning, how can I help?", speaker="Guest-1", language="en-US"),
        ScriptPhrase("Guten Morgen, ich habe eine Frage.", speaker="Guest-2", language="de-DE"),
        ScriptPhrase("Of course, go ahead.", speaker="Guest-1", language="en-US"),
    ])  # fmt: skip
    url = emulator_for(recordings).url
    native = transcribe(recordings, tmp_path / "native", url, OPTIONS[name])
    monkeypatch.setattr(azure, "NATIVE_FINALS", False)  # as with an SDK whose ctypes layer changed
    public = transcribe(recordings, tmp_path / "public", url, OPTIONS[name])
    assert native == public
    phrases = native["phrases"]
    assert isinstance(phrases, list) and len(phrases) == 3
    if name == "words":
        assert all(p["nBest"][0]["words"] for p in phrases)
    if name == "languages":
        assert [p["locale"] for p in phrases] == ["en-US", "de-DE", "en-US"]
    if name == "diarize":
        assert [p["speaker"] for p in phrases] == [1, 2, 1]


LONG = {
    "ascii": " ".join(f"word{i}" for i in range(700))[:3000],  # 3,000 bytes
    "cjk": ("我们今天讨论的是项目的进度" * 80)[:1000],  # 3,000 bytes of UTF-8, 3 per character
}


def transcribe_long(recordings: Recordings, out: Path, url: str) -> tuple[int, list[str], list[str]]:
    settings = RunSettings(inputs=(recordings.root,), out=out, options=RecognitionOptions(), workers=1,
                           retries=0, endpoint=Endpoint(kind="emulator", key="emulator", url=url),
                           sdk_send_rate=50.0)  # fmt: skip
    result = run_batch(settings)
    codes = [f.failure.code for f in result.files if f.failure is not None]
    written = out / "call.wav.json"
    phrases = json.loads(written.read_text())["recognizedPhrases"] if written.exists() else []
    return result.exit_code, codes, [p["nBest"][0]["display"] for p in phrases]


@pytest.mark.parametrize("script", LONG)
def test_no_length_limit_cuts_or_drops_a_phrase(
    script: str,
    recordings: Recordings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    emulator_for,  # type: ignore[no-untyped-def]
) -> None:
    """Over the wrapper's 2,048 bytes: whole natively; whole through the public signals, or (CJK,
    which the wrapper itself cannot decode there) the recording fails, never done without it."""
    assert azure.NATIVE_FINALS, azure.FINALS_PATH.describe()
    text = LONG[script]
    recordings.add("call.wav", seed=7, seconds=8.0, text=[ScriptPhrase(text)])
    url = emulator_for(recordings).url
    assert transcribe_long(recordings, tmp_path / "native", url) == (0, [], [text])
    monkeypatch.setattr(azure, "NATIVE_FINALS", False)  # as with an SDK the fence turns away
    public = transcribe_long(recordings, tmp_path / "public", url)
    if script == "ascii":
        assert public == (0, [], [text])
    else:
        assert public == (1, ["phrase_lost"], [])
