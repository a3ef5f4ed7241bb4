"""The real ``openai`` client against the emulator's chat completions route: retries, faults,
sign-in, and long transcripts in parts. Nothing of the client is mocked; waits are recorded by an
injected sleep instead of slept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from batchscribe.cancel import CancelToken
from batchscribe.config.entra import AccessToken
from batchscribe.config.summaries import SummaryOptions, shipped_prompt
from batchscribe.emulator import Emulator
from batchscribe.errors import SummariesStopped, SummaryError, SummaryRefused
from batchscribe.summaries.client import ChatClient
from batchscribe.summaries.summarize import summarize_text

pytestmark = pytest.mark.integration
TEXT = ("Speaker 1: Thanks for calling about your invoice.\nSpeaker 2: The invoice charges me twice.\n"
        "Speaker 1: I will send a corrected invoice by Friday.")  # fmt: skip
KEY = "0123456789abcdef0123456789abcdef"


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        return False  # not cancelled


@pytest.fixture(name="emulator")
def emulator_fixture() -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(**kwargs: Any) -> Emulator:
        started.append(Emulator(**kwargs).start())
        return started[-1]

    yield start
    for emulator in started:
        emulator.stop()


_OPEN: list[ChatClient] = []  # this test's clients: closed at its end (see closes_clients)


@pytest.fixture(name="closes_clients", autouse=True)
def closes_clients_fixture() -> Iterator[None]:
    """Each client's connections closed at the end of the test that opened them: a client left
    to the garbage collector warns of its unclosed socket in whatever test runs then."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def opened(client: ChatClient) -> ChatClient:
    _OPEN.append(client)
    return client


def client_for(emulator: Emulator, waits: Waits | None = None, **options: Any) -> ChatClient:
    settings = SummaryOptions(endpoint=emulator.rest_url, deployment="gpt-test", prompt=shipped_prompt(),
                              **{"key": KEY, **options})  # fmt: skip
    return opened(ChatClient(settings, sleep=waits or Waits()))


def test_a_transcript_gets_its_summary_action_items_topics_and_usage(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator()
    made = summarize_text(client_for(emu), TEXT)
    assert made.answer.action_items == ("I will send a corrected invoice by Friday.",)
    assert made.answer.topics[0] == "invoice" and "invoice" in made.answer.summary
    assert made.parts == 1 and made.spent.requests == 1 and made.spent.model == "emulated-gpt-test"
    assert made.spent.prompt_tokens > 0 and made.spent.completion_tokens > 0
    assert emu.openai.deployments == {"gpt-test": 1}  # the deployment went as the v1 API's model


def test_429_waits_what_retry_after_ms_says_then_succeeds(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(openai_faults=["429:first=2:retry_after=0.25"])
    waits = Waits()
    made = summarize_text(client_for(emu, waits), TEXT)
    assert waits.seconds == [0.25, 0.25]
    assert made.spent.requests == 3
    assert emu.rest_stats().snapshot()[("/openai/v1/chat/completions", 429)] == 2


def test_5xx_backs_off_exponentially_and_gives_up_after_the_retries(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator(openai_faults=["500"])
    waits = Waits()
    with pytest.raises(SummaryError, match="HTTP 500") as caught:
        summarize_text(client_for(emu, waits, retries=2), TEXT)
    assert caught.value.transient and waits.seconds == [1.0, 2.0]
    assert emu.openai.requests["500"] == 3  # the client's own retries are off: only ours


def test_a_timeout_is_retried(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(openai_faults=["stall:first=1:seconds=30"])
    waits = Waits()
    made = summarize_text(client_for(emu, waits, timeout_s=0.5), TEXT)
    assert waits.seconds == [1.0] and made.spent.requests == 2


def test_an_answer_that_is_not_json_is_asked_again_once(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(openai_faults=["invalid_json:first=1"])
    assert summarize_text(client_for(emu), TEXT).spent.requests == 2
    emu = emulator(openai_faults=["invalid_json"])
    with pytest.raises(SummaryError, match=r"not JSON.*twice") as caught:
        summarize_text(client_for(emu), TEXT)
    assert caught.value.code == "invalid_answer" and emu.openai.requests["invalid_json"] == 2


def test_the_content_filter_is_a_refusal_not_retried(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(openai_faults=["content_filter:match=twice"])
    with pytest.raises(SummaryRefused, match="content filter") as caught:
        summarize_text(client_for(emu), TEXT)
    assert caught.value.code == "content_filter" and emu.openai.requests["content_filter"] == 1


def test_rejected_credentials_stop_the_summaries_without_showing_the_key(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator(key="the-right-key", tokens=["a-valid-token"])
    with pytest.raises(SummariesStopped, match="rejected the key in AZURE_OPENAI_API_KEY") as caught:
        summarize_text(client_for(emu), TEXT)
    assert KEY not in caught.value.one_line()


def test_a_missing_deployment_stops_the_summaries(emulator: Callable[..., Emulator]) -> None:
    emu = emulator()
    options = SummaryOptions(endpoint=emu.rest_url, deployment="gpt-test", prompt=shipped_prompt(), key=KEY)
    client = opened(ChatClient(options, endpoint=f"{emu.rest_url}/wrong-path", sleep=Waits()))  # answers 404
    with pytest.raises(SummariesStopped, match="HTTP 404") as caught:
        summarize_text(client, TEXT)
    assert caught.value.code == "deployment_not_found"


class FakeCredential:
    """What azure-identity's credential gives; never a real chain in tests."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, 2_000_000_000)


def test_entra_id_signs_in_with_a_bearer_token(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(tokens=["entra-token-1"])
    options = SummaryOptions(endpoint=emu.rest_url, deployment="gpt-test", prompt=shipped_prompt())
    credential = FakeCredential("entra-token-1")
    client = opened(ChatClient(options, credential=credential, sleep=Waits()))
    assert summarize_text(client, TEXT).answer.summary
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    wrong = opened(ChatClient(options, credential=FakeCredential("stale-token"), sleep=Waits()))
    with pytest.raises(SummariesStopped, match="rejected the Entra ID token") as caught:
        summarize_text(wrong, TEXT)
    assert "stale-token" not in caught.value.one_line()


class NoSignIn:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token from the included credentials")


def test_a_failed_entra_sign_in_stops_the_summaries_with_the_fix(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(tokens=["entra-token-1"])
    options = SummaryOptions(endpoint=emu.rest_url, deployment="gpt-test", prompt=shipped_prompt())
    with pytest.raises(
        SummariesStopped, match="Azure OpenAI: Entra ID sign-in failed: DefaultAzureCredential"
    ) as caught:
        summarize_text(opened(ChatClient(options, credential=NoSignIn(), sleep=Waits())), TEXT)
    assert "Cognitive Services OpenAI User" in caught.value.hint
    assert emu.openai.requests == {}  # nothing was sent without a token


LONG = "\n".join(f"Speaker {n % 2 + 1}: Line {n} is about the invoice and the delivery." for n in range(400))


def test_a_transcript_longer_than_the_context_is_summarized_in_parts_then_combined(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator(openai_context_tokens=3000)
    made = summarize_text(client_for(emu, context_tokens=3000), LONG)
    assert made.parts > 1
    assert emu.openai.requests == {"ok": made.parts + 1}  # each part, then the combination; none refused
    assert made.answer.topics and "invoice" in made.answer.topics


def test_a_context_set_too_large_is_found_out_and_the_parts_made_smaller(
    emulator: Callable[..., Emulator],
) -> None:
    emu = emulator(openai_context_tokens=3000)
    made = summarize_text(client_for(emu), LONG)  # believes in 128,000 tokens
    assert made.parts > 1 and emu.openai.requests["context_length_exceeded"] >= 1
    assert emu.openai.requests["ok"] == made.parts + 1


def test_the_classic_deployments_route_answers_the_azure_client(emulator: Callable[..., Emulator]) -> None:
    emu = emulator()
    with openai.AzureOpenAI(azure_endpoint=emu.rest_url, api_key=KEY, api_version="2024-10-21",
                            max_retries=0) as client:  # fmt: skip
        response = client.chat.completions.create(
            model="calls-gpt", messages=[{"role": "user", "content": "The transcript:\n\nPlease call back."}]
        )
    assert '"action_items": ["Please call back."]' in (response.choices[0].message.content or "")
    assert emu.openai.deployments == {"calls-gpt": 1}


def test_an_interrupt_does_not_wait_for_a_request_in_flight(emulator: Callable[..., Emulator]) -> None:
    emu = emulator(openai_faults=["stall:seconds=60"])
    cancel = CancelToken()
    options = SummaryOptions(endpoint=emu.rest_url, deployment="gpt-test", prompt=shipped_prompt(), key=KEY)
    client = opened(ChatClient(options, cancel=cancel, sleep=Waits()))

    def interrupt_once_sent() -> None:
        assert emu.openai.wait_for_requests(1)
        cancel.cancel("interrupted")

    threading.Thread(target=interrupt_once_sent, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(SummaryError, match="cancelled"):
        summarize_text(client, TEXT)
    assert time.monotonic() - started < 30  # not the 60 s the request is held, nor the 120 s timeout
