"""Reading the chunk store's JSON files without trusting them.

Everything under ``_state/chunks`` sits in a folder users and tools can reach, so each file is:

- opened with ``O_NONBLOCK | O_NOFOLLOW`` and checked on its descriptor to be a regular file of a
  sane size (a FIFO, a device or a symlink in its place is refused, never read, never waited on);
- sealed: ``seal`` adds a SHA-256 of the document's canonical JSON, ``unseal`` refuses a document
  whose digest does not match (an edited chunk text, a changed field);
- decoded strictly: every field of a ``Phrase`` or ``Word`` must have its declared type.

Any failure is an ``InvalidState``: the caller discards what it read and redoes it, never stitches
it in and never fails the recording for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from batchscribe.engines.base import Phrase, Word

MAX_STATE_FILE_BYTES = 256 << 20  # a chunk of a few minutes is a few hundred KB of phrases
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
CHECKSUM = "checksum"


class InvalidState(ValueError):
    """A state file that cannot be trusted; ``str()`` says why (for the log)."""


def read_document(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, None when there is none; ``InvalidState`` when it is not a
    small regular file holding a JSON object."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a symlink (ELOOP), a folder...
        raise InvalidState(f"{path.name} cannot be opened ({exc.strerror or exc})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidState(f"{path.name} is not a regular file")
        if st.st_size > MAX_STATE_FILE_BYTES:
            raise InvalidState(f"{path.name} is too large ({st.st_size} bytes)")
        with os.fdopen(fd, "rb", closefd=False) as file:
            raw = file.read(MAX_STATE_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidState(f"{path.name} cannot be read ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidState(f"{path.name} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidState(f"{path.name} does not hold a JSON object")
    return data


def _digest(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def seal(body: dict[str, Any]) -> str:
    """``body`` as JSON text, with the checksum of its content."""
    # ASCII: a name that is not UTF-8 (lone surrogates from the file system) survives the round trip
    return json.dumps({**body, CHECKSUM: _digest(body)}, ensure_ascii=True)


def unseal(data: dict[str, Any], what: str) -> dict[str, Any]:
    """``data`` without its checksum, if the checksum is there and matches."""
    body = {k: v for k, v in data.items() if k != CHECKSUM}
    if data.get(CHECKSUM) != _digest(body):
        raise InvalidState(f"{what} does not match its checksum (edited or damaged)")
    return body


def _is(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_is(value, option) for option in typing.get_args(hint))
    return False


def decode(cls: type[Any], data: Any, what: str) -> Any:
    """An instance of the dataclass ``cls`` (``Phrase`` or ``Word``) from ``data``, every field
    of its declared type; ``InvalidState`` otherwise."""
    if not isinstance(data, dict):
        raise InvalidState(f"{what}: not an object")
    hints = typing.get_type_hints(cls)
    declared = {f.name: f for f in fields(cls)}
    if unknown := set(data) - set(declared):
        raise InvalidState(f"{what}: unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, field in declared.items():
        if name not in data:
            if field.default is MISSING and field.default_factory is MISSING:
                raise InvalidState(f"{what}: {name} is missing")
            continue
        value = data[name]
        if cls is Phrase and name == "words":
            if not isinstance(value, list):
                raise InvalidState(f"{what}: words is not a list")
            value = tuple(decode(Word, w, what) for w in value)
        elif not _is(value, hints[name]):
            raise InvalidState(f"{what}: {name} has the wrong type ({type(value).__name__})")
        values[name] = value
    return cls(**values)


def whole_number(value: Any, what: str, *, minimum: int = 0) -> int:
    if not _is(value, int) or value < minimum:
        raise InvalidState(f"{what} is not a whole number >= {minimum}")
    return int(value)
