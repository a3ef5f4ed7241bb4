"""Microsoft Entra ID sign-in for Speech resources: tokens from azure-identity, kept fresh.

A resource configured with Entra ID (``Resource(entra=True)``) signs in with an access token for
the scope ``https://cognitiveservices.azure.com/.default`` from azure-identity's
``DefaultAzureCredential`` chain (environment, workload identity, managed identity, Azure CLI,
...). What the Speech SDK wants (SDK 1.53, checked in its wheel and Microsoft's "Microsoft Entra
authentication with the Speech SDK"):

- a **region**: ``SpeechConfig(auth_token="aad#<resource id>#<token>", region=...)``;
- a **custom-domain endpoint** or a host: the plain token, set as ``config.authorization_token``
  after ``SpeechConfig(endpoint=...)`` / ``SpeechConfig(host=...)`` (the SDK sends it as
  ``Authorization: Bearer <token>``), or ``SpeechConfig(endpoint=..., token_credential=provider)``
  where the SDK itself asks ``provider.get_token(scope)`` whenever it needs one. Both seen here
  against a local websocket server: the upgrade carried ``Authorization: Bearer <token>``.

The SDK copies the token into each recognizer when it is made: a recognizer that outlives the
token must be given a new one (``recognizer.authorization_token = ...``). ``TokenProvider``
keeps one token, fetches a new one ``refresh_before`` seconds before it expires (at most half
its lifetime), tells every subscriber (the engine's recognizers in flight) the new
authorization token, and is safe to share between threads. ``refresh_if_due`` does the work on
the caller's schedule; ``start`` runs it in a daemon thread.

Tokens are secrets: they never appear in a repr, a log line or an error message; ``secrets()``
hands the current ones to a ``Redactor``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from batchscribe.errors import FatalEngineError
from batchscribe.secrets import Redactor

log = logging.getLogger(__name__)

SCOPE = "https://cognitiveservices.azure.com/.default"
SIGN_IN_HINT = (
    "sign in for DefaultAzureCredential (e.g. 'az login', a managed identity, or AZURE_CLIENT_ID, "
    "AZURE_TENANT_ID and AZURE_CLIENT_SECRET) and give it the Cognitive Services Speech User role"
)


UNREACHABLE_HINT = (
    "check this machine's DNS, network and proxy (HTTPS_PROXY) for login.microsoftonline.com; "
    "signing in again (az login) will not help until it can be reached"
)
# What a failed name lookup says, in azure-identity's texts and in the exceptions under them
# (urllib3, requests, socket): the sign-in never reached Entra ID. (The managed-identity probe of
# a machine outside Azure goes to an IP address: no lookup, so none of these.)
_NO_LOOKUP = ("name resolution", "name or service not known", "nodename nor servname", "getaddrinfo failed",
              "failed to resolve", "no address associated")  # fmt: skip
# A connection that failed, counted only when it names Entra ID's sign-in host.
_NO_CONNECTION = (
    ("connection refused", "connection refused"),
    ("network is unreachable", "network unreachable"),
    ("timed out", "the connection timed out"),
)
_SIGN_IN_HOST = "login.microsoftonline."


def _network_cause(exc: BaseException) -> str:
    """Why the sign-in could not reach Entra ID at all ("" when it could): a DNS failure, or a
    refused or timed-out connection to its sign-in host, anywhere in the exception's chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        if isinstance(current, socket.gaierror) or any(marker in text for marker in _NO_LOOKUP):
            return "name resolution failed"
        if _SIGN_IN_HOST in text:
            for marker, cause in _NO_CONNECTION:
                if marker in text:
                    return cause
        current = current.__cause__ or current.__context__
    return ""


def quiet_azure_identity() -> None:
    """azure-identity logs every failed sign-in as a WARNING of a dozen lines (each credential of
    the chain and why it was unavailable), and the error it raises says the same: the run says
    it once, in one line. With --verbose (DEBUG) its log stays."""
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("azure.identity").setLevel(logging.ERROR)


class AccessToken(NamedTuple):
    """What ``get_token`` returns (the shape of ``azure.core.credentials.AccessToken``)."""

    token: str
    expires_on: int  # seconds since the epoch


class TokenSource(Protocol):
    """An azure-identity credential, or a fake one in tests."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def default_credential() -> TokenSource:
    """azure-identity's ``DefaultAzureCredential`` (imported only when Entra ID is used)."""
    from azure.identity import DefaultAzureCredential

    credential: TokenSource = DefaultAzureCredential()
    return credential


def authorization_token(token: str, resource_id: str = "") -> str:
    """What the SDK's ``authorization_token`` takes: ``aad#ID#TOKEN`` for a region, else the token."""
    return f"aad#{resource_id}#{token}" if resource_id else token


class TokenProvider:
    """One Entra token for one resource, refreshed before it expires; thread-safe.

    ``resource_id``: set for a resource addressed by region (the token then goes to the SDK as
    ``aad#ID#TOKEN``); empty for a custom-domain endpoint or a host. ``clock`` gives seconds
    since the epoch, like the tokens' ``expires_on``.
    """

    def __init__(
        self,
        credential: TokenSource | None = None,
        *,
        resource_id: str = "",
        refresh_before: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self._resource_id = resource_id
        self._refresh_before = refresh_before
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self._refresh_at = 0.0
        self._previous = ""
        self._subscribers: list[Callable[[str], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        state = "no token yet" if self._token is None else f"expires at {self._token.expires_on}"
        return f"TokenProvider(resource_id={self._resource_id!r}, token=***, {state})"

    # -- tokens ---------------------------------------------------------------------------------

    def token(self) -> str:
        """A valid Entra access token (fetched or refreshed when due)."""
        return self._current().token

    def authorization_token(self) -> str:
        """What the SDK's ``authorization_token`` takes for this resource."""
        return authorization_token(self.token(), self._resource_id)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """``TokenCredential``'s method, so the SDK can ask this provider itself
        (``SpeechConfig(endpoint=..., token_credential=provider)``); any scope gets ``SCOPE``'s."""
        return self._current()

    def secrets(self) -> tuple[str, ...]:
        """The tokens a text might echo now (current and previous), for a ``Redactor``."""
        with self._lock:
            current = self._token.token if self._token is not None else ""
            return tuple(s for s in (current, self._previous) if s)

    def _current(self) -> AccessToken:
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._fetch_locked()
            assert self._token is not None
            return self._token

    def _fetch_locked(self) -> bool:
        """Fetch a new token; True when it changed. Keeps a still valid one if fetching fails."""
        now = self._clock()
        try:
            if self._credential is None:
                self._credential = default_credential()
            quiet_azure_identity()
            fresh = self._credential.get_token(SCOPE)
            token = AccessToken(str(fresh.token), int(fresh.expires_on))
        except Exception as exc:  # azure-identity raises ClientAuthenticationError and others
            problem = self._sign_in_error(exc)
            if self._token is not None and now < self._token.expires_on:
                log.warning("%s; the current token is used until it expires", problem.message)
                self._refresh_at = now + min(60.0, (self._token.expires_on - now) / 2)
                return False
            raise problem from None
        if token.expires_on <= now:
            raise FatalEngineError(
                "Entra ID sign-in returned a token that has already expired",
                code="entra_sign_in_failed",
                hint="check this machine's clock",
            )
        changed = self._token is None or token.token != self._token.token
        if changed and self._token is not None:
            self._previous = self._token.token
        self._token = token
        self._refresh_at = token.expires_on - min(self._refresh_before, (token.expires_on - now) / 2)
        self.refreshes += 1
        return changed

    def _sign_in_error(self, exc: Exception) -> FatalEngineError:
        secrets = self._token.token if self._token is not None else ""
        if unreachable := _network_cause(exc):
            return FatalEngineError(
                f"Entra ID sign-in failed: cannot reach the sign-in service ({unreachable})",
                code="entra_sign_in_failed",
                hint=UNREACHABLE_HINT,
            )
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return FatalEngineError(
            f"Entra ID sign-in failed: {Redactor([secrets])(first_line)[:300]}",
            code="entra_sign_in_failed",
            hint=SIGN_IN_HINT,
        )

    # -- keeping recognizers in flight signed in -----------------------------------------------

    def subscribe(self, apply: Callable[[str], None]) -> Callable[[], None]:
        """Call ``apply(new authorization token)`` after every refresh (a recognizer in flight:
        ``lambda t: setattr(recognizer, "authorization_token", t)``); returns the unsubscribe."""
        with self._lock:
            self._subscribers.append(apply)

        def unsubscribe() -> None:
            with self._lock:
                if apply in self._subscribers:
                    self._subscribers.remove(apply)

        return unsubscribe

    def refresh_if_due(self) -> bool:
        """Refresh the token when due and hand it to the subscribers; True when it changed."""
        with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return False
            if not self._fetch_locked():
                return False
            new = authorization_token(self._token.token, self._resource_id) if self._token else ""
            subscribers = list(self._subscribers)
        for apply in subscribers:
            try:
                apply(new)
            except Exception as exc:  # one recognizer's trouble must not stop the others' refresh
                log.warning("could not hand a refreshed token to a recognizer: %s", type(exc).__name__)
        return True

    def start(self, every: float = 30.0) -> None:
        """Run ``refresh_if_due`` in a daemon thread until ``close``: when a refresh is due, and at
        least every ``every`` seconds."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._refresh_loop, args=(every,), daemon=True,
                                        name="batchscribe-entra-refresh")  # fmt: skip
        self._thread.start()

    def _refresh_loop(self, every: float) -> None:
        while not self._stop.wait(self._next_check(every)):
            self.refresh_in_background()

    def refresh_in_background(self) -> None:
        """One turn of the refresh thread: refresh a token that is due. Before the first session
        has fetched one, nothing: a sign-in failing then is that session's error, said once (the
        thread trying too said it twice, in ``doctor`` and at the start of a run)."""
        with self._lock:
            if self._token is None:
                return
        try:
            self.refresh_if_due()
        except FatalEngineError as exc:
            log.warning("%s", exc.one_line())

    def _next_check(self, every: float) -> float:
        """Seconds until the next refresh is due, at most ``every`` (tokens may live shorter)."""
        with self._lock:
            # no token yet: the first session fetches one; look again soon for its refresh time
            due = self._refresh_at - self._clock() if self._token is not None else 1.0
        return min(every, max(0.05, due))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
