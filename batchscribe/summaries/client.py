"""The one place that talks to Azure OpenAI: chat completions through the ``openai`` package.

API surface: the v1 API, ``OpenAI(base_url=f"{endpoint}/openai/v1/")`` with the deployment as
``model``. It needs no ``api-version`` (none to pin, none to retire: the classic
``AzureOpenAI(api_version=...)`` surface ties every request to a dated version Azure retires),
and its client takes the key or, for Microsoft Entra ID, a function returning a fresh token
(``api_key=callable``), so one client covers both sign-ins. The emulator serves both surfaces.

The client's own retries are off (``max_retries=0``): retries are ours, visible in the log and
bounded by ``SummaryOptions.retries``; a 429 waits what its ``retry-after-ms`` or
``retry-after`` header says, 5xx, timeouts and dropped connections back off exponentially.
Every failure becomes one of ``errors.SummaryError``'s classes here, with any secret masked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import openai

from batchscribe.cancel import CancelToken
from batchscribe.config.entra import SCOPE, TokenProvider, TokenSource
from batchscribe.config.summaries import KEY_VARIABLE, SummaryOptions
from batchscribe.errors import BatchscribeError, SummariesStopped, SummaryError, SummaryRefused
from batchscribe.names import shown
from batchscribe.secrets import Redactor
from batchscribe.summaries.prompt import ANSWER_TOKENS

log = logging.getLogger(__name__)
MAX_WAIT_S = 60.0  # the longest a retry-after or a backoff is honoured
EMULATOR_KEY = "emulator"  # any key passes the in-process emulator


class ContextTooLong(SummaryError):
    """The request was longer than the deployment's context: split it (``summarize.py``)."""


class RetryLater(SummaryError):
    """429, 5xx: worth another try, after ``retry_after`` seconds when the service said so."""

    def __init__(self, message: str, *, code: str, retry_after: float | None) -> None:
        super().__init__(message, code=code, transient=True)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int


Sleep = Callable[[float], bool]
"""Waits that many seconds; True when the run was cancelled meanwhile (``CancelToken.wait``)."""


class ChatClient:
    """Chat completions on one deployment; thread-safe (one ``openai.OpenAI`` shared)."""

    def __init__(
        self,
        options: SummaryOptions,
        *,
        endpoint: str = "",
        credential: TokenSource | None = None,
        cancel: CancelToken | None = None,
        sleep: Sleep | None = None,
        backoff_s: float = 1.0,
    ) -> None:
        self.options = options
        self.endpoint = (endpoint or options.endpoint).rstrip("/")
        self._cancel = cancel or CancelToken()
        self._sleep = sleep or self._cancel.wait
        self._backoff_s = backoff_s
        self._tokens: TokenProvider | None = None
        api_key: str | Callable[[], str]
        if options.entra:
            self._tokens = TokenProvider(credential)
            api_key = self._token
        else:
            api_key = options.key or EMULATOR_KEY
        self._client = openai.OpenAI(
            base_url=f"{self.endpoint}/openai/v1/", api_key=api_key, max_retries=0, timeout=options.timeout_s
        )

    def close(self) -> None:
        self._client.close()

    def _token(self) -> str:
        assert self._tokens is not None
        try:
            return self._tokens.token()
        except BatchscribeError as exc:
            raise SummariesStopped(
                f"Azure OpenAI: {exc.message}", code="sign_in_failed",
                hint=f"set {KEY_VARIABLE}, or sign in for DefaultAzureCredential (e.g. 'az login', a managed "
                "identity) with the Cognitive Services OpenAI User role on the resource",
            ) from exc  # fmt: skip

    def mask(self, text: str) -> str:
        tokens = self._tokens.secrets() if self._tokens is not None else ()
        return Redactor((*self.options.secrets, *tokens))(text)

    def probe(self) -> str:
        """One tiny request (a handful of tokens, not retried): the model's name, or a ``SummaryError``."""
        try:
            response = self._client.chat.completions.create(
                model=self.options.deployment, messages=[{"role": "user", "content": "Say OK."}], max_tokens=1
            )
        except openai.APIError as exc:
            raise self._error(exc) from None
        return response.model or ""

    def complete(self, messages: Sequence[dict[str, str]]) -> Completion:
        """One chat completion, retried on 429, 5xx and timeouts; raises a ``SummaryError``."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._interruptible(messages, attempt)
            except SummaryError as exc:
                if not exc.transient or exc.code == "invalid_answer" or attempt > self.options.retries:
                    raise
                delay = exc.retry_after if isinstance(exc, RetryLater) else None
                delay = min(MAX_WAIT_S, delay if delay is not None else self._backoff_s * 2 ** (attempt - 1))
                log.info("summary request: %s; retry %d of %d in %.1f s",
                         exc.message, attempt, self.options.retries, delay)  # fmt: skip
                if self._sleep(delay):
                    raise SummaryError("cancelled", code="cancelled") from exc

    def _interruptible(self, messages: Sequence[dict[str, str]], attempt: int) -> Completion:
        """``_once`` on its own daemon thread, so Ctrl-C is not held up by a request in flight
        (closing the client does not interrupt a blocked read): its answer is then dropped."""
        outcome: list[Completion | BaseException] = []
        finished = threading.Event()

        def request() -> None:
            try:
                outcome.append(self._once(messages, attempt))
            except BaseException as exc:  # handed to the waiting thread, raised there
                outcome.append(exc)
            finally:
                finished.set()

        threading.Thread(target=request, name="batchscribe-summary-request", daemon=True).start()
        unregister = self._cancel.on_cancel(finished.set)
        try:
            finished.wait()
        finally:
            unregister()
        if not outcome:
            raise SummaryError("cancelled", code="cancelled")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _once(self, messages: Sequence[dict[str, str]], attempt: int) -> Completion:
        try:
            response = self._client.chat.completions.create(
                model=self.options.deployment,
                messages=cast(Any, list(messages)),  # plain role/content dicts
                response_format={"type": "json_object"},
                temperature=0,
                max_tokens=ANSWER_TOKENS,
            )
        except openai.APIError as exc:
            raise self._error(exc) from None
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        if choice is not None and choice.finish_reason == "content_filter":
            raise SummaryRefused("the deployment's content filter withheld the answer (finish_reason "
                                 "content_filter)", code="content_filter")  # fmt: skip
        content = choice.message.content if choice is not None else None
        if choice is not None and choice.finish_reason == "length":
            content = None  # cut off at max_tokens: not the whole JSON
        return Completion(
            content=content or "",
            model=response.model or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            attempts=attempt,
        )

    def _error(self, exc: openai.APIError) -> SummaryError:
        """The one mapping from the ``openai`` package's errors to ours."""
        where = f"{self.options.deployment} at {self.endpoint}"
        if isinstance(exc, openai.APITimeoutError):
            return SummaryError(f"no answer within {self.options.timeout_s:g} s", code="timeout",
                                transient=True)  # fmt: skip
        if isinstance(exc, openai.APIConnectionError):
            return SummaryError(f"cannot reach {self.endpoint}: {self.mask(str(exc))}", code="connection",
                                transient=True)  # fmt: skip
        if not isinstance(exc, openai.APIStatusError):
            return SummaryError(self.mask(str(exc)), code="openai_error")
        status, code, text = exc.status_code, str(exc.code or ""), self.mask(_message(exc))
        if status in (401, 403):
            how = f"the key in {KEY_VARIABLE}" if self.options.key else "the Entra ID token"
            return SummariesStopped(f"Azure OpenAI rejected {how} (HTTP {status}): {text}",
                                    code="unauthorized")  # fmt: skip
        if status == 404:
            return SummariesStopped(f"no deployment {where} (HTTP 404): {text}", code="deployment_not_found")
        if code == "content_filter" or "content management policy" in text:
            return SummaryRefused(f"refused by the deployment's content filter: {text}",
                                  code="content_filter")  # fmt: skip
        if code == "context_length_exceeded":
            return ContextTooLong(text, code="context_length_exceeded")
        if status == 429 or status >= 500 or status == 408:
            return RetryLater(f"HTTP {status} from {where}: {text}", code=f"http_{status}",
                              retry_after=_retry_after(exc.response.headers))  # fmt: skip
        return SummaryError(f"HTTP {status} from {where}: {text}", code=code or f"http_{status}")


def _message(exc: openai.APIStatusError) -> str:
    """The service's own words, on one line without terminal control (they reach the console)."""
    body: Any = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return shown(str(inner["message"])[:300])
    return shown(str(exc.message)[:300])


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (preferred) or ``retry-after``, if given."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        try:
            seconds = float(value) / divisor if value is not None else None
        except ValueError:
            seconds = None
        if seconds is not None and seconds >= 0:
            return seconds
    return None


__all__ = ["SCOPE", "ChatClient", "Completion", "ContextTooLong"]
