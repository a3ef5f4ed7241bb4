"""Probing and streaming decode (batchscribe.audio) against the recordings in fixtures/.

The expected facts come from fixtures/recordings.json, measured by ffprobe and the ffmpeg
command line when the fixtures were made (fixtures/make_fixtures.py), not by the code under test.
Long and odd inputs are synthesized with PyAV into tmp_path.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from batchscribe.audio import BYTES_PER_SECOND, SAMPLE_RATE, AudioInfo, PcmReader, open_pcm, probe
from batchscribe.emulator.synth import encode_samples
from batchscribe.errors import AudioError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MANIFEST = json.loads((FIXTURES / "recordings.json").read_text())
RECORDINGS: list[dict[str, Any]] = MANIFEST["recordings"]
PLAYABLE = [r for r in RECORDINGS if r["outcome"] == "ok"]
GOOD = [r for r in PLAYABLE if "warning" not in r]
BAD = [r for r in RECORDINGS if r["outcome"] != "ok"]
CALL = FIXTURES / "formats" / "call_stereo.wav"
TOLERANCE_S = 0.1


def ids(recordings: list[dict[str, Any]]) -> list[str]:
    return [r["path"] for r in recordings]


def read_all(reader: PcmReader, chunk: int = 3200) -> bytes:
    parts = []
    while data := reader.read(chunk):
        parts.append(data)
    return b"".join(parts)


def samples(pcm: bytes) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.frombuffer(pcm, dtype="<i2")


def loudness(pcm: np.ndarray[Any, np.dtype[np.int16]]) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0


def write_tone(
    path: Path,
    *,
    codec: str,
    rate: int,
    seconds: float,
    layout: str = "mono",
    freq: float = 440.0,
    container_format: str | None = None,
) -> Path:
    """Encode a sine tone with PyAV."""
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    return encode_samples(
        path, tone, codec=codec, rate=rate, layout=layout, container_format=container_format
    )


def write_pcm_wav(path: Path, data: np.ndarray[Any, Any], *, rate: int, channels: int) -> Path:
    """A plain 16-bit PCM WAV with no channel mask (FFmpeg sees an unnamed layout)."""
    raw = data.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(raw))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body) + len(raw)) + body + raw)
    return path


def remux(source: Path, target: Path, container_format: str, options: dict[str, str] | None = None) -> Path:
    """Copy the audio packets of ``source`` into another container, without re-encoding."""
    with (
        av.open(str(source)) as inp,
        av.open(str(target), "w", format=container_format, options=options or {}) as out,
    ):
        in_stream = inp.streams.audio[0]
        out_stream = out.add_stream_from_template(in_stream)
        for packet in inp.demux(in_stream):
            if packet.dts is not None:
                packet.stream = out_stream
                out.mux(packet)
    return target


@pytest.fixture(name="twenty_minute_flac", scope="module")
def fixture_twenty_minute_flac(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    return write_tone(folder / "twenty_minutes.flac", codec="flac", rate=8000, seconds=1200)


# --- probe -------------------------------------------------------------------------------


@pytest.mark.parametrize("recording", PLAYABLE, ids=ids(PLAYABLE))
def test_probe_matches_the_manifest(recording: dict[str, Any]) -> None:
    facts = recording["format"]
    info = probe(FIXTURES / recording["path"])
    assert info.codec == facts["codec"]
    assert info.sample_rate == facts["sample_rate"]
    assert info.channels == facts["channels"]
    assert info.container == facts["container"]
    assert info.duration_s == pytest.approx(facts["duration_s"], abs=TOLERANCE_S)
    assert info.passthrough is facts.get("passthrough", False)


def test_only_plain_16_bit_mono_pcm_wav_at_8_or_16_khz_is_passed_through() -> None:
    passed = {r["path"] for r in PLAYABLE if probe(FIXTURES / r["path"]).passthrough}
    assert passed == {"formats/wav16_mono.wav", "formats/wav8k_pcm16_mono.wav"}
    extensible = probe(FIXTURES / "formats" / "wav_extensible.wav")
    assert (extensible.codec, extensible.sample_rate, extensible.channels) == ("pcm_s16le", 16000, 1)


@pytest.mark.parametrize(("rate", "channels"), [(22050, 1), (44100, 1), (16000, 2)])
def test_other_pcm_wavs_are_decoded_not_passed_through(tmp_path: Path, rate: int, channels: int) -> None:
    wav = write_pcm_wav(
        tmp_path / "x.wav", np.zeros(rate * channels, dtype="<i2"), rate=rate, channels=channels
    )
    assert probe(wav).passthrough is False


def test_probe_does_not_decode_a_long_file(twenty_minute_flac: Path) -> None:
    info = probe(twenty_minute_flac)
    assert info == AudioInfo("flac", 8000, 1, pytest.approx(1200.0), "flac", False)


def test_a_webm_from_a_browser_recorder_without_duration_is_counted(tmp_path: Path) -> None:
    # MediaRecorder writes WebM as a live stream: no duration in the header at all.
    live = remux(
        FIXTURES / "formats" / "opus_audio.webm", tmp_path / "live.webm", "webm", options={"live": "1"}
    )
    with av.open(str(live)) as container:
        assert container.duration is None  # so the fallback is what is tested here
    assert probe(live).duration_s == pytest.approx(3.5, abs=TOLERANCE_S)


def test_a_raw_aac_stream_is_counted_not_guessed_from_its_bitrate(tmp_path: Path) -> None:
    adts = remux(FIXTURES / "formats" / "voice_memo.m4a", tmp_path / "memo.aac", "adts")
    with av.open(str(adts)) as container:
        assert container.duration is not None
        guessed = container.duration / av.time_base
    assert abs(guessed - 3.0) > 0.3  # FFmpeg's bitrate guess for speech is far off...
    assert probe(adts).duration_s == pytest.approx(3.0, abs=TOLERANCE_S)  # ...the count is not


def test_a_wav_with_an_unknown_data_size_gets_its_real_length(tmp_path: Path) -> None:
    wav = write_pcm_wav(tmp_path / "s.wav", np.zeros(16000 * 2, dtype="<i2"), rate=16000, channels=1)
    data = bytearray(wav.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # what recorders write before they know the size
    wav.write_bytes(bytes(data))
    assert probe(wav).duration_s == pytest.approx(2.0, abs=TOLERANCE_S)
    with open_pcm(wav) as reader:
        assert len(read_all(reader)) == 2 * BYTES_PER_SECOND


# --- decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("recording", GOOD, ids=ids(GOOD))
def test_each_recording_decodes_to_16k_mono_of_the_expected_length(
    recording: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    with open_pcm(FIXTURES / recording["path"]) as reader:
        pcm = read_all(reader)
        assert reader.warnings == []
        assert reader.seconds_read == pytest.approx(len(pcm) / BYTES_PER_SECOND)
    assert len(pcm) % 2 == 0
    assert len(pcm) / BYTES_PER_SECOND == pytest.approx(recording["format"]["decoded_s"], abs=TOLERANCE_S)
    speech = samples(pcm)
    assert loudness(speech[int(0.3 * SAMPLE_RATE) : int(1.3 * SAMPLE_RATE)]) > 300  # speech here
    assert loudness(speech[: int(0.2 * SAMPLE_RATE)]) < 100  # the quarter second of lead-in
    assert capfd.readouterr().err == ""  # FFmpeg's log never reaches the terminal


def test_resampling_keeps_the_pitch(tmp_path: Path) -> None:
    tone = write_tone(
        tmp_path / "tone.wav", codec="pcm_s16le", rate=44100, seconds=1.0, layout="stereo", freq=1000.0
    )
    with open_pcm(tone) as reader:
        pcm = samples(read_all(reader)).astype(np.float64)
    assert len(pcm) == pytest.approx(SAMPLE_RATE, abs=32)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(pcm)
    assert peak_hz == pytest.approx(1000.0, abs=2.0)


def test_a_change_of_sample_rate_mid_stream_is_decoded_through(tmp_path: Path) -> None:
    first = write_tone(tmp_path / "a.mp3", codec="libmp3lame", rate=22050, seconds=2.0)
    second = write_tone(tmp_path / "b.mp3", codec="libmp3lame", rate=44100, seconds=2.0, layout="stereo")
    joined = tmp_path / "joined.mp3"
    joined.write_bytes(first.read_bytes() + second.read_bytes())  # how "mp3 joiners" work
    with open_pcm(joined) as reader:
        pcm = read_all(reader)
    assert len(pcm) / BYTES_PER_SECOND == pytest.approx(4.0, abs=0.2)


def test_a_three_channel_wav_without_channel_names_mixes_down(tmp_path: Path) -> None:
    loud = np.full(8000, 3000, dtype="<i2")
    frames = np.stack([loud, np.zeros_like(loud), np.zeros_like(loud)], axis=1).reshape(-1)
    wav = write_pcm_wav(tmp_path / "three.wav", frames, rate=8000, channels=3)
    with open_pcm(wav) as reader:
        mixed = samples(read_all(reader))
    with open_pcm(wav, channel=0) as reader:
        first = samples(read_all(reader))
    assert len(mixed) == len(first) == pytest.approx(SAMPLE_RATE, abs=32)
    assert np.median(first) == pytest.approx(3000, abs=30)
    assert np.median(mixed) == pytest.approx(1000, abs=30)  # an even mix of the three


# --- channels ----------------------------------------------------------------------------


def test_channel_selection_returns_each_speaker_of_a_stereo_call() -> None:
    with open_pcm(CALL, channel=0) as left, open_pcm(CALL, channel=1) as right:
        agent, customer = samples(read_all(left)), samples(read_all(right))
    half = len(agent) // 2
    assert len(agent) == len(customer) == 5 * SAMPLE_RATE
    assert loudness(agent[:half]) > 300 > 10 > loudness(agent[half:])  # agent speaks first
    assert loudness(customer[:half]) < 10 < 300 < loudness(customer[half:])  # then the customer


def test_mixing_down_keeps_both_speakers() -> None:
    with open_pcm(CALL) as reader:
        mixed = samples(read_all(reader))
    half = len(mixed) // 2
    assert loudness(mixed[:half]) > 150 and loudness(mixed[half:]) > 150


@pytest.mark.parametrize("channel", [2, -1])
def test_asking_for_a_channel_the_file_lacks_is_bad_channel(channel: int) -> None:
    with pytest.raises(AudioError) as caught:
        open_pcm(CALL, channel=channel)
    assert caught.value.code == "bad_channel"
    assert "2 channels" in caught.value.message


def test_channel_one_of_a_mono_file_is_bad_channel() -> None:
    with pytest.raises(AudioError, match="1 channel ") as caught:
        open_pcm(FIXTURES / "formats" / "wav16_mono.wav", channel=1)
    assert caught.value.code == "bad_channel"


# --- bad files ---------------------------------------------------------------------------


def assert_plain(error: AudioError) -> None:
    text = error.one_line()
    assert "\n" not in text and error.hint
    for leak in ("Traceback", "av.error", "Errno", "FFmpegError", str(FIXTURES)):
        assert leak not in text


@pytest.mark.parametrize("recording", BAD, ids=ids(BAD))
def test_each_bad_file_fails_with_its_code_at_probe_and_open(
    recording: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / recording["path"]
    for attempt in (lambda: probe(path), lambda: open_pcm(path)):
        with pytest.raises(AudioError) as caught:
            attempt()
        assert caught.value.code == recording["outcome"]
        assert_plain(caught.value)
    assert capfd.readouterr().err == ""


def test_a_truncated_mp3_decodes_as_far_as_it_goes_with_a_warning(
    capfd: pytest.CaptureFixture[str],
) -> None:
    recording = next(r for r in RECORDINGS if r["path"] == "bad/truncated.mp3")
    with open_pcm(FIXTURES / recording["path"]) as reader:
        pcm = read_all(reader)
        warnings = list(reader.warnings)
    assert len(pcm) / BYTES_PER_SECOND == pytest.approx(recording["format"]["decoded_s"], abs=TOLERANCE_S)
    assert len(warnings) == 1
    assert warnings[0].startswith("decoding stopped early at 3.0 s of the 6.0 s")
    assert "truncated" in warnings[0]
    assert capfd.readouterr().err == ""


def test_damage_in_the_middle_is_skipped_with_a_warning(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "formats" / "tagged_cover.mp3").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = np.random.default_rng(1).bytes(3000)
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    with open_pcm(damaged) as reader:
        seconds = len(read_all(reader)) / BYTES_PER_SECOND
        warnings = " ".join(reader.warnings)
    assert 2.0 < seconds <= 3.6
    assert "damaged" in warnings


def test_a_read_error_mid_file_keeps_the_audio_so_far_with_a_warning() -> None:
    reader = open_pcm(FIXTURES / "formats" / "lossless.flac")
    packets = reader._packets

    def failing_after_a_second() -> Iterator[Any]:
        for packet in packets:
            yield packet
            if reader.seconds_decoded >= 1.0:
                raise OSError(5, "Input/output error")  # e.g. a network share dropping out

    reader._packets = failing_after_a_second()
    with reader:
        seconds = len(read_all(reader)) / BYTES_PER_SECOND
        warnings = list(reader.warnings)
    assert 1.0 <= seconds < 1.5
    assert warnings == [
        f"decoding stopped early at {seconds:.1f} s: the file cannot be read further (Input/output error)"
    ]


def test_a_file_deleted_after_the_scan_has_vanished(tmp_path: Path) -> None:
    gone = tmp_path / "gone.wav"
    gone.write_bytes((FIXTURES / "formats" / "wav16_mono.wav").read_bytes())
    probe(gone)
    gone.unlink()
    for attempt in (lambda: probe(gone), lambda: open_pcm(gone)):
        with pytest.raises(AudioError) as caught:
            attempt()
        assert caught.value.code == "vanished"
        assert_plain(caught.value)


def test_a_file_whose_folder_was_replaced_by_a_file_has_vanished(tmp_path: Path) -> None:
    (tmp_path / "folder").write_bytes(b"not a folder any more")
    with pytest.raises(AudioError) as caught:
        probe(tmp_path / "folder" / "call.wav")
    assert caught.value.code == "vanished"


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "looks_like.mp3"
    folder.mkdir()
    with pytest.raises(AudioError) as caught:
        open_pcm(folder)
    assert caught.value.code == "unreadable"
    assert "directory" in caught.value.message


@pytest.mark.timeout(10)
def test_a_fifo_is_unreadable_and_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for attempt in (lambda: probe(fifo), lambda: open_pcm(fifo)):
        with pytest.raises(AudioError) as caught:
            attempt()
        assert caught.value.code == "unreadable"


UNREADABLE_CHECK = """
import os, sys
from pathlib import Path
from batchscribe.audio import open_pcm
from batchscribe.errors import AudioError
if os.getuid() == 0:  # root reads any file whatever its permissions: become nobody (after imports)
    os.setgid(65534)
    os.setuid(65534)
try:
    open_pcm(Path(sys.argv[1]))
except AudioError as exc:
    print(exc.code)
"""


def test_a_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    locked = tmp_path / "locked.wav"
    locked.write_bytes((FIXTURES / "formats" / "wav16_mono.wav").read_bytes())
    locked.chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", UNREADABLE_CHECK, str(locked)],
            capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        assert done.stdout.strip() == "unreadable", done.stderr
    finally:
        locked.chmod(0o600)


def test_a_permission_error_from_ffmpeg_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root reads any file, so the open is made to fail the way FFmpeg reports EACCES.
    def refuse(*args: object, **kwargs: object) -> None:
        raise av.error.PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(av, "open", refuse)
    with pytest.raises(AudioError) as caught:
        open_pcm(FIXTURES / "formats" / "lossless.flac")  # a 16 kHz mono WAV never reaches FFmpeg
    assert caught.value.code == "unreadable"
    assert isinstance(caught.value.__cause__, PermissionError)
    assert_plain(caught.value)


# --- reader behaviour --------------------------------------------------------------------


def test_reads_return_at_most_what_was_asked_and_empty_bytes_at_the_end() -> None:
    with open_pcm(FIXTURES / "formats" / "wav16_mono.wav") as reader:
        assert reader.read(0) == b""
        assert len(reader.read(1001)) == 1001  # odd sizes are fine: it is a byte stream
        rest = read_all(reader, chunk=4096)
        assert reader.read(4096) == b""
        assert reader.seconds_read == pytest.approx(3.0)
        assert len(rest) + 1001 == 3 * BYTES_PER_SECOND
        with pytest.raises(ValueError):
            reader.read(-1)


def test_close_is_idempotent_and_reading_after_it_fails() -> None:
    reader = open_pcm(FIXTURES / "formats" / "lossless.flac")
    with reader:
        reader.read(100)
    assert reader.closed
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read(10)


def test_close_from_another_thread_waits_for_a_read_in_progress(twenty_minute_flac: Path) -> None:
    reader = open_pcm(twenty_minute_flac)
    results: list[int] = []
    first_read = threading.Event()

    def keep_reading() -> None:
        with contextlib.suppress(ValueError):  # "closed": the reader was closed between reads
            while data := reader.read(BYTES_PER_SECOND):
                results.append(len(data))
                first_read.set()

    worker = threading.Thread(target=keep_reading)
    worker.start()
    assert first_read.wait(10)
    reader.close()  # would free FFmpeg's file under the decoding thread without the lock
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert reader.closed and 0 < len(results) < 1200


def test_decoding_runs_only_as_far_as_reading(twenty_minute_flac: Path) -> None:
    with open_pcm(twenty_minute_flac) as reader:
        reader.read(BYTES_PER_SECOND)
        assert reader.seconds_read == 1.0
        assert reader.seconds_decoded < 2.0  # one second asked for, about one decoded
        assert reader.info.duration_s == pytest.approx(1200.0)


def test_memory_stays_flat_over_twenty_minutes(twenty_minute_flac: Path) -> None:
    chunk = 64 * 1024
    tracemalloc.start()
    try:
        with open_pcm(twenty_minute_flac) as reader:
            total = 0
            while data := reader.read(chunk):
                total += len(data)
                del data
            peak_buffer = reader.peak_buffered_bytes
        _, peak_traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 1200 * BYTES_PER_SECOND  # 38.4 MB of PCM went through...
    assert peak_buffer < chunk + 16 * 1024  # ...holding one read plus under one packet
    assert peak_traced < 2 * 1024 * 1024  # ...and Python memory never came near the total


def test_the_reader_describes_what_it_decodes() -> None:
    with open_pcm(FIXTURES / "formats" / "video.mkv", channel=0) as reader:
        assert reader.info == probe(FIXTURES / "formats" / "video.mkv")
        assert reader.channel == 0


@pytest.fixture(name="all_playable")
def fixture_all_playable() -> Iterator[list[Path]]:
    yield [FIXTURES / r["path"] for r in PLAYABLE]


def test_many_readers_can_be_open_at_once(all_playable: list[Path]) -> None:
    readers = [open_pcm(path) for path in all_playable]
    try:
        assert all(len(reader.read(BYTES_PER_SECOND)) == BYTES_PER_SECOND for reader in readers)
    finally:
        for reader in readers:
            reader.close()
