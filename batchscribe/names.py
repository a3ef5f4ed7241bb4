"""File names as users see them and as the state stores them, whatever bytes they hold.

A POSIX file name is any bytes but ``/`` and NUL. Python gives undecodable bytes back as lone
surrogates (``\\udcff`` for byte ``\\xff``), which no UTF-8 stream, JSON file or SQLite text
accepts, and a name may hold a newline, a tab or an ESC that would forge log lines or drive the
terminal. So:

- ``shown(name)`` is the one way a name reaches a terminal, a log line or a report: control
  characters (``\\n``, ``\\t``, ``\\x1b``...), bidirectional overrides and undecodable bytes are
  written as backslash escapes; everything else, accents and CJK included, is kept.
- ``stored(name)`` is the name as a database key: itself when it is valid UTF-8 (so existing
  state keeps its keys), else an escaped form no UTF-8 name can have (it starts with ``//``,
  which no relative path does, and escapes backslashes too), so ``\xff.wav`` (byte 0xff) and a
  file literally named ``\xff.wav`` never share a key.
- ``text_of(name)`` is the name inside a UTF-8 file (a transcript's JSON): itself when valid
  UTF-8, else as shown.

Output files keep the original bytes: they mirror the input tree exactly.
"""

from __future__ import annotations

import unicodedata

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode gives it
        return f"\\x{code - 0xDC00:02x}"
    if char in _NAMED:
        return _NAMED[char]
    if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def shown(name: str) -> str:
    """``name`` safe to print: one line, no terminal control, valid UTF-8."""
    if name.isprintable() and name.isascii():
        return name  # the common case, at no cost
    return "".join(_escape(c) for c in name)


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_NOT_UTF8 = "//"  # no relative path starts so: marks a key made from a name that is not UTF-8


def stored(name: str) -> str:
    """``name`` as a text key for the state database: valid UTF-8, stable across runs, and one
    key per name (undecodable bytes become ``\\xNN``, a backslash ``\\\\``, after ``//``)."""
    if is_utf8(name):
        return name
    return _NOT_UTF8 + "".join(_key_escape(c) for c in name)


def _key_escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode gives it
        return f"\\x{code - 0xDC00:02x}"
    if 0xD800 <= code <= 0xDFFF:  # any other lone surrogate
        return f"\\u{code:04x}"
    return "\\\\" if char == "\\" else char


def text_of(name: str) -> str:
    """``name`` inside a UTF-8 file such as a transcript's JSON: itself, or as shown when it is
    not valid UTF-8."""
    return name if is_utf8(name) else shown(name)
