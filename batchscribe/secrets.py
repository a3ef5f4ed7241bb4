"""Keys and tokens, in one place: recognizing them and masking them before anyone sees them.

The SDK's error texts can echo request details; a key must never reach a terminal, a log, a
report, a transcript file or an error message about the jobs file. Three kinds of check live here:

- ``Redactor`` masks known secrets wherever they appear in a text, and anything shaped like a
  subscription-key or bearer header;
- names: ``is_secret_name`` (strict, for settings about to be stored: such entries are dropped)
  and ``is_credential_field`` (broad, for fields a jobs file must not have: it is refused);
- values: ``looks_like_key`` (a Speech resource key's shape) and ``public_endpoint`` (a URL with
  its credentials masked).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

_HEADER_SECRET = re.compile(
    r"(?i)(ocp-apim-subscription-key|authorization|subscription[-_ ]?key|api[-_ ]?key)"
    r"(\s*[:=]\s*)(bearer\s+)?[^\s,;\"']+"
)
# Speech resource keys: 32 hex digits, or the newer 84-character alphanumeric keys.
_KEY_SHAPED = re.compile(r"[0-9a-fA-F]{32}|[A-Za-z0-9]{84}")
_SECRET_NAME = re.compile(r"(?i)(^|[_-])(key|api[_-]?key|subscription[_-]?key|secret|token|password)$")
_CREDENTIAL_WORDS = {"key", "keys", "apikey", "subscriptionkey", "speechkey", "pwd", "passwd"}
_CREDENTIAL_PARTS = ("subscription", "password", "secret", "token", "credential")


class Redactor:
    """Replaces the given secrets (and header-shaped secrets) with ``***``."""

    def __init__(
        self, secrets: Iterable[str] = (), *, live: Callable[[], Iterable[str]] | None = None
    ) -> None:
        """``live``: secrets that change while it is used (an Entra token provider's
        ``secrets``), asked for at every call."""
        self._secrets = _longest_first(secrets)
        self._live = live

    def __call__(self, text: str) -> str:
        secrets = self._secrets if self._live is None else _longest_first([*self._secrets, *self._live()])
        for secret in secrets:
            text = text.replace(secret, MASK)
        return _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def _longest_first(secrets: Iterable[str]) -> list[str]:
    """Longest first, so a secret that contains another is masked whole."""
    return sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)


def looks_like_key(value: str) -> bool:
    """Shaped like a Speech resource key (32 hex digits, or 84 letters and digits), also when
    split by spaces or line breaks (a YAML folded or plain scalar over several lines)."""
    return bool(_KEY_SHAPED.fullmatch("".join(value.split())))


def key_problem(key: str) -> str:
    """What makes ``key`` unusable as a Speech key ("" when nothing does), never echoing it:
    a line break or a space inside (two lines pasted, ``export SPEECH_KEY="a b"``), or a control
    character. The service would only refuse such a key, and say it as a failed connection."""
    if any(c in key for c in "\r\n"):
        return "contains a line break: keep the key on one line"
    if any(c.isspace() for c in key):
        return "contains spaces: a Speech key is one word of letters and digits"
    if not key.isprintable():
        return "contains control characters: a Speech key is letters and digits"
    return ""


def is_secret_name(name: str) -> bool:
    """``key``, ``speech_key``, ``auth-token`` are; ``key_file`` and ``key_variable`` are not."""
    return bool(_SECRET_NAME.search(name))


def is_credential_field(name: str) -> bool:
    """Field names like ``key``, ``api_key``, ``subscriptionKey``, ``password``, ``token``.

    Broader than ``is_secret_name`` (``key_file`` is one): callers exempt the fields they know."""
    lowered = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    return bool(words & _CREDENTIAL_WORDS) or any(part in lowered for part in _CREDENTIAL_PARTS)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials written into a URL: its user info and its secret-named query values."""
    if "://" not in url:
        return ()
    parts = urlsplit(url)
    found = [parts.password or parts.username or ""] if "@" in parts.netloc else []  # ws://KEY@host too
    found += [value for name, value in parse_qsl(parts.query) if is_secret_name(name)]
    return tuple(s for s in found if s)


def public_endpoint(endpoint: str) -> str:
    """``endpoint`` with any credentials in a URL (user info, secret-named query values) masked."""
    kind, sep, rest = endpoint.partition(":")
    url = rest if sep and "://" in rest else endpoint
    if "://" not in url:
        return endpoint
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    query = urlencode(
        [(name, MASK if is_secret_name(name) else value) for name, value in parse_qsl(parts.query)],
        safe="*",
    )
    safe_url = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return f"{kind}:{safe_url}" if url is rest else safe_url
