"""Entra ID tokens: fetched once, refreshed before they expire, handed to recognizers in flight,
thread-safe, and never shown. A fake credential and a fake clock: no sleeps, no network."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from azure.core.credentials import TokenCredential

from batchscribe.config.entra import SCOPE, AccessToken, TokenProvider, authorization_token
from batchscribe.errors import FatalEngineError

RESOURCE_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/speech"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeCredential:
    """Issues tok-1, tok-2, ... living ``lifetime`` seconds; can fail or hold the caller."""

    def __init__(self, clock: Clock, lifetime: float = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls: list[tuple[str, ...]] = []
        self.fail: Exception | None = None
        self.gate: threading.Event | None = None

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        return AccessToken(f"secret-token-{len(self.calls)}", int(self.clock.now + self.lifetime))


def provider(lifetime: float = 3600, resource_id: str = "") -> tuple[TokenProvider, FakeCredential, Clock]:
    clock = Clock()
    credential = FakeCredential(clock, lifetime)
    return TokenProvider(credential, resource_id=resource_id, clock=clock), credential, clock


def test_one_token_is_fetched_for_the_speech_scope_and_reused() -> None:
    tokens, credential, _ = provider()
    assert [tokens.token() for _ in range(5)] == ["secret-token-1"] * 5
    assert credential.calls == [(SCOPE,)]
    assert SCOPE == "https://cognitiveservices.azure.com/.default"


@pytest.mark.parametrize(
    ("lifetime", "refreshed_at"),
    [
        (3600, 3300),  # an Entra token: 5 minutes before it expires
        (600, 300),  # a 10-minute token: also 5 minutes before
        (120, 60),  # a short one: at half its life
    ],
)
def test_the_token_is_refreshed_before_it_expires(lifetime: float, refreshed_at: float) -> None:
    tokens, _, clock = provider(lifetime)
    start = clock.now
    assert tokens.token() == "secret-token-1"
    clock.now = start + refreshed_at - 1
    assert tokens.token() == "secret-token-1"
    clock.now = start + refreshed_at
    assert tokens.token() == "secret-token-2"


def test_a_long_run_keeps_a_valid_token_all_night() -> None:
    tokens, _, clock = provider(600)
    for _ in range(8 * 60):  # eight hours, a minute at a time
        clock.now += 60
        token = tokens.get_token(SCOPE)
        assert token.expires_on > clock.now + 60
    assert tokens.refreshes >= 8 * 60 // 5


@pytest.mark.parametrize(
    ("resource_id", "expected"),
    [(RESOURCE_ID, f"aad#{RESOURCE_ID}#secret-token-1"), ("", "secret-token-1")],
)
def test_the_sdk_token_has_the_resource_id_for_a_region_only(resource_id: str, expected: str) -> None:
    tokens, _, _ = provider(resource_id=resource_id)
    assert tokens.authorization_token() == expected
    assert authorization_token("t", "id") == "aad#id#t"


def test_recognizers_in_flight_get_each_new_token() -> None:
    tokens, _, clock = provider(600, resource_id="rid")
    first: list[str] = []
    second: list[str] = []

    def broken(token: str) -> None:
        raise RuntimeError("recognizer already released")

    tokens.subscribe(broken)
    unsubscribe = tokens.subscribe(first.append)
    tokens.subscribe(second.append)
    assert tokens.refresh_if_due()  # the first token
    assert not tokens.refresh_if_due()  # not due yet
    clock.now += 300
    unsubscribe()
    assert tokens.refresh_if_due()
    assert first == ["aad#rid#secret-token-1"]
    assert second == ["aad#rid#secret-token-1", "aad#rid#secret-token-2"]


def test_threads_share_one_fetch() -> None:
    tokens, credential, _ = provider()
    credential.gate = threading.Event()
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(tokens.token())) for _ in range(8)]
    for thread in threads:
        thread.start()
    credential.gate.set()
    for thread in threads:
        thread.join(10)
    assert got == ["secret-token-1"] * 8 and len(credential.calls) == 1


def test_a_failed_refresh_keeps_the_valid_token_then_fails_clearly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tokens, credential, clock = provider(600)
    assert tokens.token() == "secret-token-1"
    clock.now += 300
    credential.fail = RuntimeError(
        "DefaultAzureCredential failed to retrieve a token\nAttempted credentials: ..."
    )
    assert tokens.token() == "secret-token-1"  # still valid for 5 minutes: keep it, retry soon
    clock.now += 300
    with pytest.raises(FatalEngineError) as caught:
        tokens.token()
    error = caught.value
    assert error.one_line().startswith(
        "Entra ID sign-in failed: DefaultAzureCredential failed to retrieve a token ("
    )
    assert "\n" not in error.one_line() and "az login" in error.hint and error.code == "entra_sign_in_failed"
    assert "secret-token" not in caplog.text + error.one_line()
    assert "the current token is used until it expires" in caplog.text


def test_an_expired_token_from_the_credential_is_refused() -> None:
    tokens, credential, _ = provider(-1)
    with pytest.raises(FatalEngineError, match="already expired"):
        tokens.token()
    assert credential.calls


def test_tokens_never_show() -> None:
    tokens, _, clock = provider(600)
    tokens.token()
    clock.now += 300
    tokens.token()
    assert "secret-token" not in repr(tokens) + str(tokens)
    assert set(tokens.secrets()) == {"secret-token-1", "secret-token-2"}


def test_the_provider_is_a_token_credential_the_sdk_accepts() -> None:
    tokens, _, _ = provider()
    assert isinstance(tokens, TokenCredential)
    assert tokens.get_token(SCOPE).token == "secret-token-1"


def test_the_refresh_thread_hands_new_tokens_over_until_closed() -> None:
    tokens, _, clock = provider(600)
    tokens.token()
    clock.now += 300  # due
    handed = threading.Event()
    tokens.subscribe(lambda token: handed.set())
    tokens.start(every=0.01)
    try:
        assert handed.wait(10)
    finally:
        tokens.close()
    assert tokens.token() == "secret-token-2"


# What azure-identity's DefaultAzureCredential logs (WARNING) and raises when no credential of its
# chain can sign in: the same dozen lines twice.
CHAIN_FAILED = (
    "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
    "Attempted credentials:\n"
    "\tEnvironmentCredential: EnvironmentCredential authentication unavailable. Environment variables "
    "are not fully configured.\n"
    "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable, no response "
    "from the IMDS endpoint.\n"
    "\tAzureCliCredential: Azure CLI not found on path\n"
    "To mitigate this issue, please refer to the troubleshooting guidelines here at "
    "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."
)


class LoggingFailingCredential(FakeCredential):
    """Fails like DefaultAzureCredential: logs the whole chain as a WARNING, then raises it."""

    def __init__(self, clock: Clock, error: Exception) -> None:
        super().__init__(clock)
        self.error = error

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        logging.getLogger("azure.identity._credentials.chained").warning("%s", CHAIN_FAILED)
        raise self.error


@pytest.fixture
def azure_identity_level() -> Any:
    logger = logging.getLogger("azure.identity")
    level = logger.level
    yield
    logger.setLevel(level)


def _sign_in_error(error: Exception) -> FatalEngineError:
    clock = Clock()
    tokens = TokenProvider(LoggingFailingCredential(clock, error), clock=clock)
    with pytest.raises(FatalEngineError) as caught:
        tokens.token()
    return caught.value


@pytest.mark.usefixtures("azure_identity_level")
def test_a_failed_sign_in_is_one_line_without_azure_identitys_warning_dump(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error = _sign_in_error(RuntimeError(CHAIN_FAILED))
    assert "Attempted credentials" not in caplog.text and "troubleshooting" not in caplog.text
    assert error.one_line().startswith("Entra ID sign-in failed: DefaultAzureCredential failed to retrieve")
    assert "az login" in error.hint


def _dns_in_the_text() -> Exception:
    return RuntimeError(CHAIN_FAILED.replace(
        "Environment variables are not fully configured.",
        "Authentication failed: HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Max retries "
        "exceeded (Caused by NameResolutionError(\"Failed to resolve 'login.microsoftonline.com' ([Errno -3] "
        "Temporary failure in name resolution)\"))",
    ))  # fmt: skip


def _dns_in_the_chain() -> Exception:
    error = RuntimeError("ClientSecretCredential.get_token failed")
    error.__cause__ = socket.gaierror(-3, "lookup failed")
    return error


@pytest.mark.usefixtures("azure_identity_level")
@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (_dns_in_the_text, "name resolution failed"),
        (_dns_in_the_chain, "name resolution failed"),
        (
            lambda: RuntimeError(
                "HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Max retries "
                "exceeded (Caused by [Errno 111] Connection refused)"
            ),
            "connection refused",
        ),
    ],
    ids=["dns-in-the-text", "dns-in-the-chain", "refused"],
)
def test_a_sign_in_that_cannot_reach_entra_says_so_instead_of_az_login(
    make: Callable[[], Exception], cause: str
) -> None:
    error = _sign_in_error(make())
    assert error.message == f"Entra ID sign-in failed: cannot reach the sign-in service ({cause})"
    assert error.hint.startswith("check this machine's DNS, network and proxy")
    assert error.code == "entra_sign_in_failed"  # the resource is left out of the run, as before


@pytest.mark.usefixtures("azure_identity_level")
def test_a_machine_outside_azure_that_is_not_signed_in_is_told_to_sign_in() -> None:
    imds = RuntimeError(CHAIN_FAILED.replace("no response from the IMDS endpoint.", "connection timed out."))
    error = _sign_in_error(imds)  # the managed-identity probe timing out is not the network's fault
    assert "cannot reach" not in error.message and "az login" in error.hint


@pytest.mark.usefixtures("azure_identity_level")
def test_the_refresh_thread_leaves_the_first_sign_in_to_the_first_session(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    credential = LoggingFailingCredential(clock, RuntimeError(CHAIN_FAILED))
    tokens = TokenProvider(credential, clock=clock)
    tokens.refresh_in_background()  # what the thread does at its first turn
    assert credential.calls == [] and caplog.text == ""
    with pytest.raises(FatalEngineError):
        tokens.token()  # the session's own sign-in: its error is the one line said
    assert len(credential.calls) == 1
