"""Mask secrets in any text before it is printed, logged or stored.

The SDK's error texts can echo request details; a key must never reach a terminal, a log, a
report or a transcript file. Known secrets are replaced wherever they appear, and anything shaped
like a subscription-key or bearer header is masked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
_HEADER_SECRET = re.compile(
    r"(?i)(ocp-apim-subscription-key|authorization|subscription[-_ ]?key|api[-_ ]?key)"
    r"(\s*[:=]\s*)(bearer\s+)?[^\s,;\"']+"
)


class Redactor:
    """Replaces the given secrets (and header-shaped secrets) with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _HEADER_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
