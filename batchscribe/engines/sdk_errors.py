"""The Speech SDK's failures as batchscribe errors, beside the SDK.

``classify_cancellation`` is the one place where the SDK's CancellationErrorCode *and* its text
become a batchscribe error (SDK_FACTS.md: throttling can arrive as BadRequest with "Quota
exceeded", or as close code 4429). Three classes:

- transient: throttling, network, service timeouts and 5xx, our own stall watchdog -> retried
  (``running/retry.py`` holds the retry policy);
- permanent: the request or the audio is wrong -> that file fails at once;
- fatal: authentication or access refused -> the whole run stops (exit 3).

``unreachable`` tells why a session never reached the service; ``stalled_error`` is the
watchdog's verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from batchscribe.errors import (
    EngineError,
    FatalEngineError,
    PermanentEngineError,
    TransientEngineError,
)

_THROTTLED_TEXT = re.compile(
    r"quota exceeded|throttl|too many requests|toomanyrequests|error code: 4429\b", re.IGNORECASE
)
_QUOTA_EXHAUSTED_TEXT = re.compile(r"ran out of quota|out of call volume quota", re.IGNORECASE)
# Refusals that retrying cannot change: the upgrade answered 404 (no such endpoint path) and the
# like, or the service closed with 1008 (policy violation). The SDK reports them as ServiceError
# and ConnectionFailure, which are otherwise transient (SDK_FACTS.md).
_REFUSED_UPGRADE = re.compile(r"upgrade failed:.*\((40[45]|41[0-5])\)|failed with HTTP (40[45]|41[0-5])\b",
                              re.IGNORECASE | re.DOTALL)  # fmt: skip
_POLICY_CLOSE = re.compile(r"error code: 1008\b", re.IGNORECASE)

# (batchscribe code, message, hint) per SDK code for the transient and permanent cases.
_TRANSIENT: dict[str, tuple[str, str, str]] = {
    "ConnectionFailure": (
        "connection_failed",
        "the connection to the Speech service failed",
        "check the network or proxy and --region/--endpoint; run again to retry",
    ),
    "ServiceTimeout": (
        "service_timeout",
        "the Speech service timed out",
        "temporary service trouble; run again to retry",
    ),
    "ServiceError": (
        "service_error",
        "the Speech service reported an internal error",
        "temporary service trouble; run again to retry",
    ),
    "ServiceUnavailable": (
        "service_unavailable",
        "the Speech service is unavailable",
        "temporary service trouble; run again later",
    ),
    "RuntimeError": (
        "sdk_runtime_error",
        "the Speech SDK failed at runtime",
        "run again; if it persists, run with --verbose and report it",
    ),
}

THROTTLED_HINT = (
    "the service is throttling: lower --workers, or raise the resource's concurrency quota "
    "(the free F0 tier allows 1 session)"
)


def classify_cancellation(sdk_code: str, detail: str) -> EngineError:
    """Turn the SDK's CancellationErrorCode name and its (already masked) text into our error."""
    first_line = detail.strip().splitlines()[0] if detail.strip() else sdk_code
    if sdk_code == "AuthenticationFailure":
        return FatalEngineError(
            "the Speech service rejected the credentials",
            code="auth_failed",
            sdk_code=sdk_code,
            detail=detail,
            hint="check that SPEECH_KEY and SPEECH_REGION (or --endpoint/--host) belong to the same "
            "Speech resource",
        )
    if sdk_code == "Forbidden":
        if _QUOTA_EXHAUSTED_TEXT.search(detail):
            return FatalEngineError(
                "the Speech resource's quota is used up",
                code="quota_exhausted",
                sdk_code=sdk_code,
                detail=detail,
                hint="the free F0 tier's monthly hours are used: wait for the next month or move "
                "the resource to S0",
            )
        return FatalEngineError(
            "the Speech service refused access",
            code="forbidden",
            sdk_code=sdk_code,
            detail=detail,
            hint="check the resource's network rules, pricing tier and the key's permissions",
        )
    if sdk_code == "TooManyRequests" or _THROTTLED_TEXT.search(detail):
        return TransientEngineError(
            "the Speech service is throttling requests",
            code="throttled",
            sdk_code=sdk_code,
            detail=detail,
            hint=THROTTLED_HINT,
        )
    if _REFUSED_UPGRADE.search(detail):
        return PermanentEngineError(
            f"the Speech service refused the connection: {first_line}",
            code="endpoint_refused",
            sdk_code=sdk_code,
            detail=detail,
            hint="check --endpoint/--host/--region: the service has no such address (404)",
        )
    if _POLICY_CLOSE.search(detail):
        return PermanentEngineError(
            "the Speech service closed the session for a policy violation (1008)",
            code="policy_violation",
            sdk_code=sdk_code,
            detail=detail,
            hint="check the request settings (language, endpoint id, audio format) and the resource's rules",
        )
    if sdk_code == "BadRequest":
        return PermanentEngineError(
            f"the Speech service rejected the request: {first_line}",
            code="bad_request",
            sdk_code=sdk_code,
            detail=detail,
            hint="check --language/--languages, --endpoint-id and that the recording is real audio",
        )
    code, message, hint = _TRANSIENT.get(
        sdk_code,
        (
            "unexpected_error",
            f"the Speech SDK reported {sdk_code or 'an unknown error'}",
            "run again; if it persists, run with --verbose and report it",
        ),
    )
    return TransientEngineError(message, code=code, sdk_code=sdk_code, detail=detail, hint=hint)


@dataclass(frozen=True)
class Unreachable:
    """Why a session never reached the service, and the address it tried (when the SDK said)."""

    what: str  # "connection refused", "host name not found (DNS)", ...
    check: str  # what the user should look at
    address: str = ""


_URL = re.compile(r"\b(?:wss?|https?)://[^\s/?]+")
_UNREACHABLE: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"connection refused|code=111\b", re.IGNORECASE), "connection refused",
     "nothing listens there: check --host/--endpoint and that the service or container is running"),
    (re.compile(r"\[DNS\]|dns resolution|name or service not known|code=-2\b", re.IGNORECASE),
     "host name not found (DNS)",
     "check the spelling of --region (e.g. westeurope) or --endpoint, and the DNS/proxy settings"),
    (re.compile(r"\b(?:ssl|tls)\b|certificate|handshake|code=2859\b", re.IGNORECASE), "TLS handshake failed",
     "check the proxy, the certificates, and wss:// versus ws:// in --host/--endpoint"),
    (re.compile(r"timed? ?out|timeout|unreachable", re.IGNORECASE), "no answer (timed out)",
     "check the network, firewall or proxy between this machine and the service"),
)  # fmt: skip
_NETWORK_SDK_CODES = frozenset({"ConnectionFailure", "ServiceTimeout", "ConnectTimeout"})


def unreachable(error: BaseException) -> Unreachable | None:
    """The network-level reason a session failed (refused, DNS, TLS, timeout), or None when the
    service was reached and answered (throttling, bad request, a mid-stream server error)."""
    if not isinstance(error, EngineError) or error.sdk_code not in _NETWORK_SDK_CODES:
        return None
    found = _URL.search(error.detail)
    address = found.group(0) if found else ""
    for pattern, what, check in _UNREACHABLE:
        if pattern.search(error.detail):
            return Unreachable(what, check, address)
    if error.sdk_code == "ConnectionFailure" and "upgrade failed" not in error.detail.lower():
        return Unreachable("connection failed", _UNREACHABLE[-1][2], address)
    if error.sdk_code in ("ServiceTimeout", "ConnectTimeout"):
        return Unreachable("no answer (timed out)", _UNREACHABLE[-1][2], address)
    return None


def stalled_error(stall_timeout: float, *, connected: bool = True) -> TransientEngineError:
    """The watchdog's verdict. Only a session that never got its connection up says the service
    may be unreachable; one that connected and then went quiet reached the service."""
    if not connected:
        return TransientEngineError(
            f"no connection to the Speech service within {stall_timeout:g} s; the session was cancelled",
            code="stalled",
            sdk_code="ConnectTimeout",
            hint="check the network, proxy and firewall; raise --stall-timeout if the network is just slow",
        )
    return TransientEngineError(
        f"no answer from the Speech service for {stall_timeout:g} s; the session was cancelled",
        code="stalled",
        sdk_code="Stalled",
        hint="temporary service trouble; raise --stall-timeout if the service is just slow",
    )
