"""Azure batch transcription's REST API over httpx (api-version 2025-10-15), and its failures
mapped to the engine errors in one place (``_failure``).

Throttled calls (429) wait for ``Retry-After`` (at least a second when it says nothing) and go
again, up to ``retries`` times; so do 5xx answers and dropped connections, backing off. Lists
are followed through ``@nextLink``. Result links point at storage (a SAS URL): they are fetched
without the Speech key, which must never leave for another host. ``base_url``: where the API is
for a Speech resource's endpoint.

Who the caller is goes with every request, asked for each time (``headers`` may be a function):
with Entra ID an ``Authorization: Bearer`` token that its provider keeps fresh while jobs are
polled for hours, never one fixed when the client was made. Error texts are masked: header-shaped
secrets, SAS signatures and the live ``secrets`` (the tokens in use).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from batchscribe.engines.base import SpeechEndpoint
from batchscribe.errors import FatalEngineError, PermanentEngineError, TransientEngineError, UsageError
from batchscribe.names import shown
from batchscribe.secrets import Redactor

log = logging.getLogger(__name__)
_SAS_SIGNATURE = re.compile(r"(?i)(sig=)[^&\s\"']+")


def mask(text: str, redact: Callable[[str], str] | None = None) -> str:
    """Header-shaped secrets and SAS signatures masked (error texts may echo a content URL);
    ``redact``: the known secrets too (a ``Redactor`` of the tokens in use)."""
    return _SAS_SIGNATURE.sub(r"\1***", (redact or Redactor())(text))


# The HTTP clients' own loggers (httpx at INFO, urllib3 at DEBUG: ``--verbose``) write each
# request's URL, with a SAS URL's signature in it: masked there too (``mask_signatures_in_logs``).
HTTP_LOGGERS = ("httpx", "urllib3.connectionpool")


class _MaskSignatures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "sig=" in message.lower():
            record.msg, record.args = mask(message), ()
        return True


def mask_signatures_in_logs() -> None:
    """SAS signatures masked in what the HTTP clients log (once per process)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _MaskSignatures) for f in logger.filters):
            logger.addFilter(_MaskSignatures())


API_VERSION = "2025-10-15"
RETRIES = 5
MAX_PAGES = 10_000  # of a list (100 jobs or files each): a million jobs in a resource
MAX_RESULT_BYTES = 512 << 20  # a result file: a 1 GB recording's, word timings and all, is far less
MAX_RETRY_AFTER_S = 300.0  # a longer Retry-After is waited out by the poll loop, not in one call


def base_url(endpoint: SpeechEndpoint) -> str:
    """Where the batch API is: ``https://REGION.api.cognitive.microsoft.com/speechtotext``, or
    ``--endpoint``'s URL (``/speechtotext`` added when it is not there). Entra ID needs the
    resource's custom domain: the regional address takes only keys for REST."""
    if endpoint.kind == "region":
        if endpoint.entra:
            raise UsageError(
                "Entra ID sign-in needs the resource's custom domain with --engine batch",
                hint="give --endpoint https://NAME.cognitiveservices.azure.com instead of --region",
            )
        return f"https://{endpoint.region}.api.cognitive.microsoft.com/speechtotext"
    url = endpoint.url.rstrip("/")
    if not url.startswith(("https://", "http://")):  # the emulator's: its REST side, once started
        raise UsageError(
            "--engine batch needs the Speech resource's REST endpoint",
            hint="use --region, or --endpoint https://NAME.cognitiveservices.azure.com "
            "(for the emulator: --endpoint http://127.0.0.1:REST_PORT)",
        )
    return url if url.endswith("/speechtotext") else f"{url}/speechtotext"


class LinkExpired(Exception):
    """A result link answered 403/404: list the files again for fresh links."""


Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]
"""The caller's credentials: fixed, or a function asked at every request (a fresh token)."""


class BatchClient:
    def __init__(
        self,
        base_url: str,
        headers: Headers,
        *,
        secrets: Callable[[], Iterable[str]] | None = None,
        sleep: Callable[[float], object] | None = None,
        retries: int = RETRIES,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        mask_signatures_in_logs()  # result links are SAS URLs: fetched here, logged by httpx
        self._interrupted = threading.Event()
        self._wait = sleep or self._interrupted.wait  # a wait that Ctrl-C (interrupt) cuts short
        self._retries = retries
        self.throttled = 0  # 429s seen
        self.max_pages = MAX_PAGES
        self.max_result_bytes = MAX_RESULT_BYTES
        self._headers = headers if callable(headers) else _fixed(headers)
        self._redact = Redactor(live=secrets)
        self._http = httpx.Client(transport=transport, timeout=timeout_s)
        self._plain = httpx.Client(transport=transport, timeout=timeout_s)  # storage links: no key

    def interrupt(self) -> None:
        """Stop waiting: a wait under way, or any later one, ends the call as transient."""
        self._interrupted.set()

    def _sleep(self, seconds: float) -> None:
        if not self._interrupted.is_set():
            self._wait(seconds)
        if self._interrupted.is_set():
            raise TransientEngineError(
                "stopped waiting for the batch service: interrupted",
                code="cancelled",
                hint="the next run goes on from here",
            )

    def close(self) -> None:
        self._http.close()
        self._plain.close()

    def __enter__(self) -> BatchClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, path_or_url: str, *, body: object = None, allow_404: bool = False) -> Any:
        """One API call with retries; the JSON answer (None for 204, or a 404 when allowed)."""
        url = path_or_url if path_or_url.startswith("http") else f"{self.base_url}{path_or_url}"
        if _origin(url) != _origin(self.base_url):  # a link in an answer: the key stays home
            raise FatalEngineError(
                f"the batch service answered with a link to another host ({_origin(url)}); not followed",
                code="bad_answer",
                hint="the Speech key is only sent to the --endpoint/--region host: check --endpoint",
            )
        if "api-version=" not in url:  # added to the query (httpx's params= would replace it)
            url = f"{url}{'&' if '?' in url else '?'}api-version={API_VERSION}"
        for attempt in range(self._retries + 1):
            try:
                response = self._http.request(method, url, json=body, headers=dict(self._headers()))
            except httpx.TransportError as exc:
                if attempt == self._retries:
                    said = mask(str(exc), self._redact)
                    raise TransientEngineError(
                        f"cannot reach the batch transcription endpoint: {said}", code="network", detail=said
                    ) from exc
                self._sleep(min(2.0**attempt, 30.0))
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if attempt == self._retries:
                    raise _failure(response, self._redact)
                self.throttled += response.status_code == 429
                self._sleep(_retry_after(response, default=min(2.0**attempt, 30.0)))
                continue
            if response.status_code == 404 and allow_404:
                return None
            if response.status_code >= 400:
                raise _failure(response, self._redact)
            return _json(response)
        raise AssertionError("unreachable")

    def pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every value of a paged list, following ``@nextLink``."""
        url: str | None = path
        seen: set[str] = set()
        while url and url not in seen:  # a link already followed would loop for ever
            if len(seen) == self.max_pages:  # nor may links that never end (another skip each time)
                raise TransientEngineError(
                    f"the batch service's list did not end after {self.max_pages} pages", code="bad_answer"
                )
            seen.add(url)
            page = self.call("GET", url)
            values = page.get("values") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise TransientEngineError("the batch service sent a list without values", code="bad_answer")
            yield from values
            link = page.get("@nextLink")
            url = link if isinstance(link, str) else None

    def _bounded(self, response: httpx.Response) -> bytes:
        """The answer's bytes, read up to ``max_result_bytes`` (memory stays bounded)."""
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_result_bytes:
                raise ResultTooLarge(
                    f"the service's result file is over {self.max_result_bytes >> 20} MB: not read",
                    code="result_too_large",
                    hint="run again to retry the recording; report it if it keeps happening",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def download(self, url: str) -> bytes:
        """A result file through its link; ``LinkExpired`` when the link no longer works."""
        for attempt in range(self._retries + 1):
            try:
                with self._plain.stream("GET", url) as response:
                    if response.status_code in (403, 404):
                        raise LinkExpired(str(response.status_code))
                    if response.status_code == 429 or response.status_code >= 500:
                        self._sleep(_retry_after(response, default=min(2.0**attempt, 30.0)))
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise _failure(response, self._redact)
                    return self._bounded(response)
            except httpx.TransportError as exc:
                if attempt == self._retries:
                    raise TransientEngineError(
                        f"cannot download a result: {mask(str(exc), self._redact)}", code="network"
                    ) from exc
                self._sleep(min(2.0**attempt, 30.0))
        raise TransientEngineError("the result could not be downloaded", code="throttled")


class ResultTooLarge(PermanentEngineError):
    """A result file beyond any recording's (``BatchClient.max_result_bytes``): not read whole."""


def _fixed(headers: Mapping[str, str]) -> Callable[[], Mapping[str, str]]:
    fixed = dict(headers)
    return lambda: fixed


def _retry_after(response: httpx.Response, *, default: float) -> float:
    """Retry-After's seconds (or HTTP date), within 0..``MAX_RETRY_AFTER_S``; ``default`` when it
    says nothing usable (a huge or endless wait would outlive --max-runtime and Ctrl-C)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError, IndexError):
            return default
    if math.isnan(seconds) or seconds < 0:
        return default
    return min(seconds, MAX_RETRY_AFTER_S)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _json(response: httpx.Response) -> Any:
    """A 2xx answer's JSON (None when empty); an answer that is not JSON is transient."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise TransientEngineError(
            f"the batch service answered {response.status_code} with something that is not JSON",
            code="bad_answer",
        ) from None


def _failure(response: httpx.Response, redact: Callable[[str], str]) -> Exception:
    """The service's answer as the engine error it means."""
    try:
        parsed = response.json()
    except ValueError:
        parsed = {}
    body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    inner: dict[str, Any] = body["innerError"] if isinstance(body.get("innerError"), dict) else {}
    code = str(inner.get("code") or body.get("code") or response.status_code)
    message = shown(mask(str(inner.get("message") or body.get("message") or response.reason_phrase), redact))
    code = shown(code)
    status = response.status_code
    if status in (401, 403):
        return FatalEngineError(
            f"the batch transcription endpoint refused the credentials ({status}: {message})",
            code="auth_failed",
            sdk_code=code,
            detail=message,
        )
    if status in (404, 405):  # no such API there: every job would be refused alike
        return FatalEngineError(
            f"the batch transcription API is not at this endpoint ({status}: {message})",
            code="endpoint_not_found",
            sdk_code=code,
            detail=message,
            hint="check --endpoint or --region (the Speech resource's); 'batchscribe doctor' checks it",
        )
    if status == 429:
        return TransientEngineError(f"throttled by the service: {message}", code="throttled", sdk_code=code)
    if status >= 500:
        return TransientEngineError(
            f"the service failed ({status}): {message}", code="service_error", sdk_code=code
        )
    return PermanentEngineError(
        f"the service refused the request ({status} {code}): {message}",
        code="bad_request",
        sdk_code=code,
        detail=message,
    )
