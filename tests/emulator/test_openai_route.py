"""The emulator's chat completions route as HTTP sees it: the shapes Azure OpenAI answers with,
deterministic answers, and the faults' status codes, bodies and headers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from batchscribe.cli.emulator import emulator_app
from batchscribe.emulator import Emulator
from batchscribe.emulator.openai_api import answer_for, parse_fault
from batchscribe.errors import UsageError

V1 = "/openai/v1/chat/completions"
CHAT = {"model": "gpt", "messages": [{"role": "system", "content": "Summarize."},
                                     {"role": "user", "content": "The transcript:\n\nWe must ship the order."}]}  # fmt: skip


@pytest.fixture(name="emulator")
def emulator_fixture() -> Iterator[Emulator]:
    with Emulator(openai_faults=["429:first=1:retry_after=1.5", "content_filter:match=forbidden"],
                  openai_context_tokens=100) as emu:  # fmt: skip
        yield emu


def test_faults_answer_as_azure_openai_does(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.rest_url) as http:
        throttled = http.post(V1, json=CHAT)
        assert throttled.status_code == 429
        assert (throttled.headers["retry-after-ms"], throttled.headers["retry-after"]) == ("1500", "2")
        assert throttled.json()["error"]["code"] == "429"
        ok = http.post(V1, json=CHAT)
        assert ok.status_code == 200 and ok.json()["object"] == "chat.completion"
        usage = ok.json()["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
        forbidden = {**CHAT, "messages": [{"role": "user", "content": "forbidden words"}]}
        refused = http.post(V1, json=forbidden)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "content_filter")
        long = {**CHAT, "messages": [{"role": "user", "content": "x" * 1000}]}
        too_long = http.post(V1, json=long)
        assert (too_long.status_code, too_long.json()["error"]["code"]) == (400, "context_length_exceeded")
        assert "maximum context length is 100 tokens" in too_long.json()["error"]["message"]
        assert http.post(V1, json={"messages": CHAT["messages"]}).status_code == 400  # no model
        classic = "/openai/deployments/gpt/chat/completions"
        assert http.post(classic, json=CHAT).status_code == 404  # no api-version
        assert http.post(classic, params={"api-version": "2024-10-21"}, json=CHAT).status_code == 200
    assert emulator.openai.requests == {"429": 1, "ok": 2, "content_filter": 1, "context_length_exceeded": 1}


def test_answers_are_deterministic_json_built_from_the_transcript() -> None:
    text = "The transcript:\n\nSpeaker 1: The parcel was late. Speaker 2: I will resend the parcel today."
    first = json.loads(answer_for(text))
    assert first == json.loads(answer_for(text))
    assert first["action_items"] == ["I will resend the parcel today."]
    assert first["topics"][0] == "parcel" and first["summary"].endswith("The parcel was late.")
    combined = json.loads(answer_for("Summaries of the 2 consecutive parts:\n\n" + json.dumps(first) + "\n"
                                     + json.dumps({"summary": "B.", "action_items": ["Call"], "topics": ["parcel"]})))  # fmt: skip
    assert combined["action_items"] == ["I will resend the parcel today.", "Call"]
    assert combined["topics"][0] == "parcel"


@pytest.mark.parametrize("spec", ["418", "429:first=x", "500:often=2", "content_filter:match="])
def test_a_bad_fault_spec_is_one_line_naming_it(spec: str) -> None:
    with pytest.raises(UsageError, match=f"--openai-fault '{spec}'"):
        parse_fault(spec)
    result = CliRunner().invoke(emulator_app, ["--openai-fault", spec])
    assert result.exit_code == 2 and result.output.startswith("error: --openai-fault")
