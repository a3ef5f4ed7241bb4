"""Make settings safe to store: JSON values only, nothing named like a secret.

Settings handed to the outputs are meant to hold no secret already; this is the last line of
defence before they land in files people share, so any entry *named* like a credential (``key``,
``api_key``, ``token``, ``password``, ``secret``...) is dropped rather than trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from pathlib import PurePath

from batchscribe.names import text_of
from batchscribe.outputs.timefmt import utc_iso
from batchscribe.secrets import is_secret_name

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


def json_safe(value: object) -> JsonValue:
    """Plain JSON values: paths and enums become strings, tuples and sets lists, datetimes UTC."""
    if isinstance(value, str):
        return text_of(value)  # a name with undecodable bytes, escaped: JSON files are UTF-8
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, PurePath):
        return text_of(value.as_posix())
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
