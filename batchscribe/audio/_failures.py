"""AudioError codes and the one translation of OS, PyAV and FFmpeg exceptions into them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import av.error

from batchscribe.errors import UNREADABLE_HINT, VANISHED_HINT, AudioError

ERROR_HINTS: Mapping[str, str] = MappingProxyType(
    {
        "empty_file": "copy or export the recording again",
        "not_media": "check what the file is (wrong extension?), then remove or exclude it",
        "no_audio_stream": "export the recording again with its sound",
        "unsupported_codec": "convert it to WAV, FLAC or MP3 with the software that made it",
        "unreadable": UNREADABLE_HINT,
        "vanished": VANISHED_HINT,
        "truncated": "copy it again from its source; the copy here is cut off or damaged",
        "bad_channel": "choose a channel the recording has (0 is the first, or left, channel)",
    }
)
"""The stable ``AudioError`` codes and the fix each one's hint gives."""

# Leading bytes of formats whose header says "media" even when FFmpeg cannot open what follows.
_SIGNATURES = (
    (0, b"RIFF", "a WAV"),
    (4, b"ftyp", "an MP4/M4A/MOV"),
    (0, b"OggS", "an Ogg"),
    (0, b"fLaC", "a FLAC"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM"),
)

# What PyAV and the OS raise while opening or decoding; anything else is a bug in this package.
MAPPED = (av.error.FFmpegError, OSError, ValueError, RuntimeError, EOFError, UnicodeError)

NOT_A_FILE_HINT = "only regular files can be transcribed: exclude it"


def fail(code: str, message: str, hint: str | None = None) -> AudioError:
    return AudioError(message, code=code, hint=hint or ERROR_HINTS[code])


def to_audio_error(exc: BaseException, path: Path) -> AudioError:
    """The one place that turns OS, PyAV and FFmpeg exceptions into ``AudioError`` codes."""
    if isinstance(exc, AudioError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return fail("vanished", "the file no longer exists")
    if isinstance(exc, PermissionError):
        return fail("unreadable", "permission denied: the file cannot be read")
    if isinstance(exc, IsADirectoryError):
        return fail("unreadable", "the path is a directory, not a recording", NOT_A_FILE_HINT)
    if isinstance(exc, (av.error.DecoderNotFoundError, av.error.PatchWelcomeError, NotImplementedError)):
        return fail("unsupported_codec", "its audio codec is not supported by FFmpeg")
    if isinstance(exc, av.error.FFmpegError):
        kind = _media_signature(path)
        if kind:
            return fail(
                "truncated",
                f"it starts like {kind} file but FFmpeg cannot read it: "
                "it is cut off (an interrupted recording?) or damaged",
            )
        return fail("not_media", "not an audio or video file: FFmpeg recognises no format in it")
    if isinstance(exc, OSError):
        return fail("unreadable", f"the file cannot be read ({exc.strerror or 'I/O error'})")
    return fail("not_media", f"FFmpeg cannot read it ({type(exc).__name__})")


def _media_signature(path: Path) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return ""
    return next((kind for at, magic, kind in _SIGNATURES if head[at : at + len(magic)] == magic), "")


def reason(exc: BaseException) -> str:
    """A short, traceback-free description of a decoding failure for a warning."""
    strerror = exc.strerror if isinstance(exc, (av.error.FFmpegError, OSError)) else None
    return strerror or type(exc).__name__
