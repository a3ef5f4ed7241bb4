"""Make settings and endpoints safe to store: JSON values only, nothing that looks like a secret.

Settings handed to the outputs are meant to hold no secret already; this is the last line of
defence before they land in files people share, so any entry *named* like a credential (``key``,
``api_key``, ``token``, ``password``, ``secret``...) is dropped rather than trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import PurePath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from batchscribe.outputs.timefmt import utc_iso

MASK = "***"

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

_SECRET_NAME = re.compile(r"(?i)(^|[_-])(key|api[_-]?key|subscription[_-]?key|secret|token|password)$")


def is_secret_name(name: str) -> bool:
    """``key``, ``speech_key``, ``auth-token`` are; ``key_file`` and ``key_variable`` are not."""
    return bool(_SECRET_NAME.search(name))


def json_safe(value: object) -> JsonValue:
    """Plain JSON values: paths and enums become strings, tuples and sets lists, datetimes UTC."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, Mapping):
        return public_settings(value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=str)
    return str(value)


def public_settings(settings: Mapping[str, object]) -> dict[str, JsonValue]:
    """A JSON-safe copy of ``settings`` without secret-named entries, at any depth."""
    return {str(name): json_safe(value) for name, value in settings.items() if not is_secret_name(str(name))}


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
