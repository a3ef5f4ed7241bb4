"""USP framing: parse what the Speech SDK sends and build what the service answers.

A text frame is ``Name:Value`` header lines separated by CRLF, an empty line, then a body. A
binary frame is a big-endian uint16 header length, that many bytes of ASCII headers, then the
payload (audio). See ``/shared/design/USP_PROTOCOL.md`` sections 2 and 3.

Header names are matched case-insensitively (they are stored lower-cased); the ``Path`` values we
send keep the exact case the native SDK compares against.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MAX_HEADER_BYTES = 8192  # a real client sends ~200 bytes of headers; refuse anything absurd


class UspError(ValueError):
    """A frame that does not follow USP framing."""


@dataclass(frozen=True)
class Message:
    """One client message: its headers (lower-cased names), text body or binary payload."""

    headers: dict[str, str]
    body: str = ""
    payload: bytes = b""
    binary: bool = False

    @property
    def path(self) -> str:
        return self.headers.get("path", "").lower()

    @property
    def request_id(self) -> str:
        return self.headers.get("x-requestid", "")

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is an empty object)."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise UspError(f"{self.path or 'message'} body is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise UspError(f"{self.path or 'message'} body is not a JSON object")
        return value


def _parse_headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise UspError(f"bad header line {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    if "path" not in headers:
        raise UspError("message has no Path header")
    return headers


def parse_text(frame: str) -> Message:
    """Parse a text frame (headers, blank line, body)."""
    head, sep, body = frame.partition("\r\n\r\n")
    if not sep:
        raise UspError("text message has no blank line after its headers")
    if len(head) > MAX_HEADER_BYTES:
        raise UspError("text message headers are too long")
    return Message(headers=_parse_headers(head), body=body)


def parse_binary(frame: bytes) -> Message:
    """Parse a binary frame (uint16 header length, headers, payload)."""
    if len(frame) < 2:
        raise UspError("binary message shorter than its header length field")
    (size,) = struct.unpack_from(">H", frame)
    if size > MAX_HEADER_BYTES or len(frame) < 2 + size:
        raise UspError(f"binary message header length {size} does not fit the frame")
    try:
        head = frame[2 : 2 + size].decode("ascii")
    except UnicodeDecodeError as exc:
        raise UspError("binary message headers are not ASCII") from exc
    return Message(headers=_parse_headers(head), payload=frame[2 + size :], binary=True)


def parse(frame: str | bytes) -> Message:
    """Parse a frame as received from the websocket."""
    return parse_text(frame) if isinstance(frame, str) else parse_binary(frame)


def timestamp() -> str:
    """UTC ISO-8601 with milliseconds, as USP's X-Timestamp."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def build(path: str, request_id: str, body: dict[str, Any] | None = None) -> str:
    """A server text message; ``body=None`` sends no body (e.g. ``turn.end``)."""
    lines = [f"X-RequestId:{request_id}", f"Path:{path}", f"X-Timestamp:{timestamp()}"]
    text = ""
    if body is not None:
        lines.append("Content-Type:application/json; charset=utf-8")
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return "\r\n".join(lines) + "\r\n\r\n" + text


def build_client_text(path: str, request_id: str, body: str, *, content_type: str = "") -> str:
    """A client text message (for tests and tools that talk USP without the SDK)."""
    lines = [f"X-Timestamp:{timestamp()}", f"Path:{path}"]
    if content_type:
        lines.append(f"Content-Type:{content_type}")
    lines.append(f"X-RequestId:{request_id}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def build_client_audio(request_id: str, payload: bytes, *, first: bool = False) -> bytes:
    """A client binary audio message (for tests and tools that talk USP without the SDK)."""
    lines = [f"X-Timestamp:{timestamp()}", "Path:audio"]
    if first:
        lines.append("Content-Type:audio/x-wav")
    lines += [f"X-RequestId:{request_id}", "X-StreamId:1"]
    head = "\r\n".join(lines).encode("ascii")
    return struct.pack(">H", len(head)) + head + payload


@dataclass(frozen=True)
class WaveFormat:
    """The PCM format a turn's RIFF header announces."""

    sample_rate: int = 16_000
    channels: int = 1
    bits: int = 16

    @property
    def bytes_per_frame(self) -> int:
        return self.channels * self.bits // 8

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.bytes_per_frame


@dataclass
class RiffHeader:
    """Result of reading the start of a turn's first audio payload."""

    format: WaveFormat
    data: bytes = field(default=b"")  # PCM that followed the header in the same message


def parse_riff(payload: bytes) -> RiffHeader:
    """Read the RIFF/WAVE header that starts a turn's audio; PCM after it is returned as ``data``.

    The SDK sends a 44-byte header whose sizes are zero, so chunk sizes are trusted only for
    ``fmt ``; everything after the ``data`` chunk header is audio.
    """
    if len(payload) < 12 or payload[:4] != b"RIFF" or payload[8:12] != b"WAVE":
        raise UspError("first audio message of a turn is not a RIFF/WAVE header")
    pos, fmt = 12, None
    while pos + 8 <= len(payload):
        chunk, size = payload[pos : pos + 4], struct.unpack_from("<I", payload, pos + 4)[0]
        if chunk == b"data":
            if fmt is None:
                raise UspError("WAVE header has no fmt chunk before its data")
            return RiffHeader(format=fmt, data=payload[pos + 8 :])
        if chunk == b"fmt ":
            if size < 16 or pos + 8 + 16 > len(payload):
                raise UspError("WAVE fmt chunk is too short")
            tag, channels, rate = struct.unpack_from("<HHI", payload, pos + 8)
            bits = struct.unpack_from("<H", payload, pos + 22)[0]
            if tag not in (1, 0xFFFE) or bits != 16 or not 1 <= channels <= 8:
                raise UspError(f"unsupported audio format tag={tag} bits={bits} ch={channels}")
            if not 1000 <= rate <= 192_000:
                raise UspError(f"unsupported sample rate {rate}")
            fmt = WaveFormat(sample_rate=rate, channels=channels, bits=bits)
        pos += 8 + size + (size & 1)
    raise UspError("WAVE header has no data chunk")
