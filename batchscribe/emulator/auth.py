"""Who may connect: a subscription key and Microsoft Entra bearer tokens, checked at the upgrade.

The SDK sends ``Ocp-Apim-Subscription-Key: <key>`` for a key and ``Authorization: Bearer <token>``
for a token (``SpeechConfig(host=...)`` then ``config.authorization_token = token``: SDK 1.53
refuses ``auth_token=`` together with ``host=``/``endpoint=``; with both a key and a token it sends
both headers). The live service answers an unknown or expired credential with HTTP 401, which
the SDK reports as ``CancellationErrorCode.AuthenticationFailure`` ("WebSocket upgrade failed:
Authentication error (401). Please check subscription information and region name.") without
retrying. Credentials are checked only when a connection opens, so a session keeps running past
its token's expiry; the SDK's reconnections present whatever token the recognizer holds then.

``BearerTokens`` is the token validator: tokens accepted until an expiry on its clock (wall
time by default; tests pass their own clock to expire tokens without waiting). It is thread-safe:
tests add, refresh and expire tokens while the server's thread checks them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

Clock = Callable[[], float]

WRONG_KEY = "wrong subscription key"
UNKNOWN_TOKEN = "unknown token"
EXPIRED_TOKEN = "expired token"
NO_CREDENTIALS = "no credentials"


class BearerTokens:
    """Tokens the emulator accepts, each until it expires (``None``: never)."""

    def __init__(
        self, tokens: Iterable[str] | Mapping[str, float | None] = (), *, clock: Clock = time.time
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float | None] = {}
        items = tokens.items() if isinstance(tokens, Mapping) else ((t, None) for t in tokens)
        for token, lifetime in items:
            self.accept(token, lifetime=lifetime)

    def accept(self, token: str, *, lifetime: float | None = None) -> None:
        """Accept ``token`` for ``lifetime`` seconds from now on the clock (None: for ever)."""
        if not token:
            raise ValueError("a token cannot be empty")
        with self._lock:
            self._expiry[token] = None if lifetime is None else self._clock() + lifetime

    def expire(self, token: str) -> None:
        """Make ``token`` expired from now on (it stays known, so it is refused as expired)."""
        with self._lock:
            if token in self._expiry:
                self._expiry[token] = self._clock()

    def refusal(self, token: str) -> str:
        """Why ``token`` is refused: ``UNKNOWN_TOKEN``, ``EXPIRED_TOKEN``, or "" when it is valid."""
        with self._lock:
            if token not in self._expiry:
                return UNKNOWN_TOKEN
            expiry = self._expiry[token]
        return EXPIRED_TOKEN if expiry is not None and self._clock() >= expiry else ""


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def refusal(
    *, key: str | None, tokens: BearerTokens | None, sent_key: str | None, authorization: str | None
) -> str:
    """Why the credentials sent are refused (reply 401), or "" to accept them.

    With neither a key nor tokens configured, anything is accepted. Otherwise a request passes
    when one of the credentials it carries is valid: the configured key, or a token ``tokens``
    accepts (any bearer token when only a key is configured, any key when only tokens are).
    """
    if key is None and tokens is None:
        return ""
    token = bearer(authorization)
    reasons: list[str] = []
    if sent_key is not None:
        if key is None or sent_key == key:
            return ""
        reasons.append(WRONG_KEY)
    if token is not None:
        why = "" if tokens is None else tokens.refusal(token)
        if not why:
            return ""
        reasons.append(why)
    return "; ".join(reasons) or NO_CREDENTIALS
