"""USP framing: what the SDK sends parses, what the emulator builds reads back, junk is refused."""

from __future__ import annotations

import json
import struct

import pytest

from batchscribe.emulator import usp


def riff_header(rate: int = 16_000, channels: int = 1, tag: int = 1) -> bytes:
    """The 44-byte header the SDK sends: real fmt chunk, zero RIFF and data sizes."""
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + b"\0" * 4


def test_text_message_parses_with_or_without_space_after_colon() -> None:
    native = "X-Timestamp:2026-11-21T19:38:52.868Z\r\nPath:speech.context\r\nX-RequestId:ab\r\n\r\n{}"
    js = 'Path: speech.config\r\nX-RequestId: cd\r\nContent-Type: application/json\r\n\r\n{"a":1}'
    first, second = usp.parse(native), usp.parse(js)
    assert (first.path, first.request_id, first.json()) == ("speech.context", "ab", {})
    assert (second.path, second.request_id, second.json()) == ("speech.config", "cd", {"a": 1})
    assert first.headers["x-timestamp"] == "2026-11-21T19:38:52.868Z"  # only the first colon splits


def test_binary_audio_message_round_trips() -> None:
    frame = usp.build_client_audio("ef", riff_header() + b"\1\2", first=True)
    message = usp.parse(frame)
    assert message.binary and message.path == "audio" and message.request_id == "ef"
    assert message.headers["content-type"] == "audio/x-wav"
    header = usp.parse_riff(message.payload)
    assert header.format == usp.WaveFormat(16_000, 1, 16) and header.data == b"\1\2"


def test_riff_header_gives_the_native_rate_and_channels() -> None:
    fmt = usp.parse_riff(riff_header(8_000, 2)).format
    assert (fmt.sample_rate, fmt.channels, fmt.bytes_per_second) == (8_000, 2, 32_000)


def test_server_message_has_path_request_id_and_json_body() -> None:
    text = usp.build("speech.phrase", "ab12", {"DisplayText": "Grüße"})
    head, _, body = text.partition("\r\n\r\n")
    assert "Path:speech.phrase" in head.split("\r\n") and "X-RequestId:ab12" in head.split("\r\n")
    assert json.loads(body) == {"DisplayText": "Grüße"}
    assert usp.build("turn.end", "ab12").endswith("\r\n\r\n")


@pytest.mark.parametrize(
    "frame",
    [
        "no blank line",
        "Path speech.config\r\n\r\n{}",
        "X-RequestId:1\r\n\r\n{}",
        b"\x00",
        b"\xff\xff" + b"x" * 10,
        struct.pack(">H", 4) + b"\xff\xfe\xfd\xfc",
    ],
)
def test_malformed_frames_raise_usp_error(frame: str | bytes) -> None:
    with pytest.raises(usp.UspError):
        usp.parse(frame)


@pytest.mark.parametrize(
    "payload",
    [b"", b"RIFF\0\0\0\0WAVX", riff_header()[:36] + b"data", riff_header(tag=3), riff_header(rate=0)],
)
def test_bad_riff_headers_raise_usp_error(payload: bytes) -> None:
    with pytest.raises(usp.UspError):
        usp.parse_riff(payload)


def test_body_that_is_not_a_json_object_raises() -> None:
    with pytest.raises(usp.UspError):
        usp.parse("Path:speech.context\r\n\r\n[1]").json()
