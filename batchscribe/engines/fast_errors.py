"""What a failed fast transcription request means: transient, permanent or fatal (``errors.py``).

- 429 (honouring ``Retry-After``), 408, 5xx, timeouts and dropped connections: transient, the
  runner retries them with backoff;
- 401 and 403: fatal, nothing in this run can succeed with these credentials;
- any other 4xx: permanent for this file, with the service's code and message and a hint.

The service's text is masked (``Redactor``) before it goes anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from batchscribe.engines.sdk_errors import THROTTLED_HINT
from batchscribe.errors import EngineError, FatalEngineError, PermanentEngineError, TransientEngineError

MAX_RETRY_AFTER_S = 120.0
MAX_DETAIL_CHARS = 300

_HINTS = {
    "InvalidAudioFormat": "the service could not read the audio: check it, or convert it to WAV or FLAC",
    "AudioLengthLimitExceeded": "over the fast API limits: it should have been cut into parts; report it",
    "EmptyAudioFile": "the recording holds no audio",
    "InvalidLocale": "check --language / --languages: the fast API may not offer that locale",
    "InvalidArgument": "check the recognition settings (--language, --diarize, --channels, --phrases)",
}


@dataclass(frozen=True)
class RequestFailure:
    exception: EngineError
    retry_after_s: float = 0.0  # wait this long before the attempt may be retried


def _service_error(body: bytes) -> tuple[str, str]:
    """The service's (code, message): the flat Azure shape, or OpenAI-style ``{"error": {...}}``."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "", body[:MAX_DETAIL_CHARS].decode("utf-8", "replace").strip()
    if isinstance(doc, Mapping) and isinstance(doc.get("error"), Mapping):
        doc = doc["error"]
    if not isinstance(doc, Mapping):
        return "", ""
    code, message = str(doc.get("code") or ""), str(doc.get("message") or "")
    inner = doc.get("innerError")
    if isinstance(inner, Mapping) and inner.get("code"):
        code = str(inner["code"])
        message = message or str(inner.get("message") or "")
    return code, message[:MAX_DETAIL_CHARS]


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        seconds = float(headers.get("retry-after", "") or 0)
    except ValueError:
        return 0.0  # an HTTP date: the runner's backoff decides
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, redact: Callable[[str], str]
) -> RequestFailure:
    """The error for a non-200 answer."""
    code, message = _service_error(body)
    code = code or f"HTTP{status}"
    detail = redact(f"HTTP {status} {code}: {message}".rstrip(": "))
    said = f"the fast transcription API answered {detail}"
    if status == 429:
        wait = _retry_after(headers)
        return RequestFailure(
            TransientEngineError(said, code="throttled", sdk_code=code, detail=detail, hint=THROTTLED_HINT),
            wait,
        )
    if status == 408 or status >= 500:
        return RequestFailure(
            # the SDK's names for these, so resource rotation counts them as it does for sessions
            TransientEngineError(
                said,
                code="service_error",
                detail=detail,
                sdk_code="ServiceUnavailable" if status == 503 else "ServiceError",
            ),
            _retry_after(headers),
        )
    if status in (401, 403):
        return RequestFailure(
            FatalEngineError(
                said, code="auth_failed" if status == 401 else "forbidden", sdk_code=code, detail=detail
            )
        )
    hint = _HINTS.get(code, "check the recording and the recognition settings")
    return RequestFailure(
        PermanentEngineError(said, code="bad_request", sdk_code=code, detail=detail, hint=hint)
    )


def error_from_transport(error: BaseException, timeout_s: float, redact: Callable[[str], str]) -> EngineError:
    """The error for a request that got no answer (timeout, refused or dropped connection)."""
    detail = redact(f"{type(error).__name__}: {error}")
    if isinstance(error, httpx.TimeoutException):
        return TransientEngineError(
            f"no answer from the fast transcription API within {timeout_s:g} s",
            code="service_timeout",
            sdk_code="ConnectTimeout" if isinstance(error, httpx.ConnectTimeout) else "ServiceTimeout",
            detail=detail,
            hint="temporary service trouble; run again to retry",
        )
    return TransientEngineError(
        f"the connection to the fast transcription API failed ({detail})",
        code="connection_failed",
        sdk_code="ConnectionFailure",
        detail=detail,
        hint="check the network or proxy and --region/--endpoint; run again to retry",
    )


def invalid_answer(why: str) -> EngineError:
    return TransientEngineError(
        f"the fast transcription API sent an answer batchscribe cannot read: {why}",
        code="invalid_answer",
        sdk_code="InvalidAnswer",
        hint="temporary service trouble; run again, and report it if it persists",
    )
