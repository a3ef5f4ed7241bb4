"""Where the audio goes and with which key: one table, from the spec and the environment."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from batchscribe.config.resolve import CommandLine, resolve_endpoint, resolve_settings
from batchscribe.config.resource import Resource
from batchscribe.config.schema import JobSpec
from batchscribe.config.settings import Endpoint
from batchscribe.config.summaries import SummaryOptions, resolve_summaries, shipped_prompt
from batchscribe.errors import UsageError

KEY, REGION = {"SPEECH_KEY": "k1"}, {"SPEECH_REGION": "westeurope"}

ENDPOINTS = [
    # (spec fields, environment, the endpoint)
    ({"emulate": True}, {}, Endpoint(kind="emulator", key="emulator")),
    ({"host": "ws://localhost:5000/"}, {}, Endpoint(kind="host", url="ws://localhost:5000")),
    ({"host": "ws://h"}, KEY, Endpoint(kind="host", key="k1", url="ws://h")),
    ({}, {**KEY, **REGION}, Endpoint(kind="region", key="k1", region="westeurope")),
    (
        {},
        {"AZURE_AI_SPEECH_KEY": "k2", "AZURE_AI_SPEECH_REGION": "eastus"},
        Endpoint("region", "k2", "eastus"),
    ),
    ({}, {"SPEECH_KEY": " ", "AZURE_AI_SPEECH_KEY": "k2", **REGION}, Endpoint("region", "k2", "westeurope")),
    ({"region": "northeurope"}, {**KEY, **REGION}, Endpoint(kind="region", key="k1", region="northeurope")),
    (
        {"key_env": "TEAM_KEY", "region_env": "TEAM_REGION"},
        {"TEAM_KEY": "t", "TEAM_REGION": "eastus"},
        Endpoint("region", "t", "eastus"),
    ),
    ({"endpoint": "https://x.example"}, KEY, Endpoint(kind="endpoint", key="k1", url="https://x.example")),
    (
        {"key_file": "speech.key", "region": "westeurope"},
        {},
        Endpoint(kind="region", key="from-file", region="westeurope"),
    ),
]


@pytest.mark.parametrize(("fields", "env", "endpoint"), ENDPOINTS, ids=[str(e[0]) for e in ENDPOINTS])
def test_endpoint(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, object],
    env: dict[str, str],
    endpoint: Endpoint,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "speech.key").write_text("from-file\n")
    assert resolve_endpoint(JobSpec.model_validate(fields), CommandLine(), env) == endpoint


MISSING = [
    ({}, REGION, "no Speech key: none of SPEECH_KEY, AZURE_AI_SPEECH_KEY is set", "--key-file"),
    ({"key_env": "TEAM_KEY"}, {**KEY, **REGION}, "no Speech key: TEAM_KEY is not set", "set TEAM_KEY"),
    (
        {},
        KEY,
        "no Speech region: none of SPEECH_REGION, AZURE_AI_SPEECH_REGION is set",
        "--region westeurope",
    ),
    (
        {"key_file": "none.key"},
        REGION,
        "--key-file: cannot read the key file none.key",
        "--key-file at a readable",
    ),
    (
        {"key_file": "two.key"},
        REGION,
        "--key-file: the key file two.key must hold exactly one line",
        "only the key",
    ),
]


@pytest.mark.parametrize(("fields", "env", "says", "fix"), MISSING, ids=[m[2][:30] for m in MISSING])
def test_what_is_missing_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fields: dict[str, object],
    env: dict[str, str],
    says: str,
    fix: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.key").write_text("a\nb\n")
    with pytest.raises(UsageError) as caught:
        resolve_endpoint(JobSpec.model_validate(fields), CommandLine(), env)
    assert caught.value.message.startswith(says) and fix in caught.value.hint


def test_settings_for_plan_need_no_credentials_and_cannot_run() -> None:
    settings = resolve_settings(JobSpec(inputs=("a",)), CommandLine(), env={}, credentials=False)
    assert not settings.endpoint.resolved and settings.inputs == (Path("a"),)


# --- summaries (issue 21): endpoint, deployment and key, from the spec and the environment -------

OPENAI = {"AZURE_OPENAI_ENDPOINT": "https://env.openai.azure.com/", "AZURE_OPENAI_DEPLOYMENT": "env-gpt"}
SUMMARIES = [
    # (spec fields, environment, what resolves)
    ({}, OPENAI, None),  # not asked for: nothing needed
    (
        {"summarize": True},
        {**OPENAI, "AZURE_OPENAI_API_KEY": " k2 "},
        SummaryOptions(
            "https://env.openai.azure.com", "env-gpt", shipped_prompt(), key="k2", price_per_1k_tokens=0.005
        ),
    ),
    (
        {"summarize": True, "openai_endpoint": "https://mine.openai.azure.com", "openai_deployment": "mine"},
        OPENAI,
        SummaryOptions("https://mine.openai.azure.com", "mine", shipped_prompt(), price_per_1k_tokens=0.005),
    ),
    (
        {"summarize": True, "emulate": True, "retries": 1, "openai_context_tokens": 8000},
        {},
        SummaryOptions(
            "",
            "emulator",
            shipped_prompt(),
            price_per_1k_tokens=0.005,
            emulated=True,
            retries=1,
            context_tokens=8000,
        ),
    ),
]


@pytest.mark.parametrize(("fields", "env", "expected"), SUMMARIES, ids=[str(s[0]) for s in SUMMARIES])
def test_summaries(fields: dict[str, object], env: dict[str, str], expected: SummaryOptions | None) -> None:
    assert resolve_summaries(JobSpec.model_validate(fields), CommandLine(), env) == expected


def test_summaries_read_no_key_when_resolved_without_credentials() -> None:
    spec = JobSpec.model_validate({"summarize": True})
    resolved = resolve_summaries(
        spec, CommandLine(), {**OPENAI, "AZURE_OPENAI_API_KEY": "k"}, credentials=False
    )
    assert resolved is not None and resolved.key == ""


def test_a_summary_prompt_is_read_where_it_was_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.md").write_text("  Summarize briefly.\n")
    (tmp_path / "empty.md").write_text("\n")
    spec = JobSpec.model_validate({"summarize": True, "summary_prompt": "p.md"})
    resolved = resolve_summaries(spec, CommandLine(), OPENAI)
    assert resolved is not None and resolved.prompt == "Summarize briefly."
    assert (
        resolved.prompt_sha256
        != resolve_summaries(JobSpec(summarize=True), CommandLine(), OPENAI).prompt_sha256
    )  # type: ignore[union-attr]
    with pytest.raises(UsageError, match=r"--summary-prompt: the prompt file empty.md is empty"):
        resolve_summaries(
            JobSpec.model_validate({"summarize": True, "summary_prompt": "empty.md"}), CommandLine(), OPENAI
        )


def _resolve_in_thread(fields: dict[str, object], env: dict[str, str]) -> BaseException | None:
    """What resolving raised, from a thread: a key file that blocks fails the test instead of hanging it."""
    caught: list[BaseException | None] = []

    def resolve() -> None:
        try:
            resolve_endpoint(JobSpec.model_validate(fields), CommandLine(), env)
            caught.append(None)
        except BaseException as exc:  # handed to the test
            caught.append(exc)

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert caught, "reading the key file blocked"
    return caught[0]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda p: os.mkfifo(p), "is not a regular file"),
        (lambda p: p.write_text("a" * 10_000 + "\n"), "is larger than 4,096 bytes"),
        (lambda p: p.mkdir(), "is not a regular file"),
    ],
    ids=["fifo", "huge", "folder"],
)
def test_a_key_file_that_is_not_a_small_regular_file_is_refused(
    tmp_path: Path, make: Callable[[Path], object], says: str
) -> None:
    path = tmp_path / "speech.key"
    make(path)
    error = _resolve_in_thread({"key_file": str(path)}, REGION)
    assert isinstance(error, UsageError)
    assert says in error.message and error.message.startswith("--key-file: the key file")
    assert "only the key" in error.hint


def test_dev_zero_as_the_key_file_is_refused_without_reading_it() -> None:
    error = _resolve_in_thread({"key_file": "/dev/zero"}, REGION)
    assert isinstance(error, UsageError) and "is not a regular file" in error.message


@pytest.mark.parametrize(
    ("content", "says"),
    [("abc def\n", "contains spaces"), ("abc\tdef", "contains spaces"), ("abc\x07def", "control characters")],
)
def test_a_key_file_with_spaces_inside_the_key_is_refused_as_such(
    tmp_path: Path, content: str, says: str
) -> None:
    (tmp_path / "speech.key").write_text(content)
    error = _resolve_in_thread({"key_file": str(tmp_path / "speech.key")}, REGION)
    assert isinstance(error, UsageError) and says in error.message
    assert "abc" not in error.message + error.hint  # never echoed


@pytest.mark.parametrize(("value", "says"), [("abc\ndef", "a line break"), ("abc def", "spaces")])
def test_a_key_variable_with_a_line_break_or_spaces_is_refused_as_such(value: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_endpoint(JobSpec(), CommandLine(), {"SPEECH_KEY": value, **REGION})
    assert caught.value.message.startswith(f"the key in SPEECH_KEY contains {says}")
    assert "abc" not in caught.value.message + caught.value.hint


def test_a_resource_key_with_spaces_is_refused_naming_the_resource() -> None:
    resource = Resource("region", "westeurope", key_variable="WEU_KEY")
    with pytest.raises(UsageError) as caught:
        resource.key({"WEU_KEY": "abc def"})
    assert "resource region:westeurope: the key in WEU_KEY contains spaces" in caught.value.message


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({}, 60.0),  # Azure takes minutes per job: once a minute
        ({"emulate": True}, 1.0),  # the emulator finishes a job within seconds
        ({"emulate": True, "poll_interval": "90s"}, 90.0),  # given: as given
        ({"poll_interval": 5}, 5.0),
    ],
)
def test_the_poll_interval_defaults_to_the_pace_of_the_service(
    fields: dict[str, object], seconds: float
) -> None:
    spec = JobSpec(inputs=("a",), engine="batch", **fields)  # type: ignore[arg-type]
    settings = resolve_settings(spec, CommandLine(), env={}, credentials=False)
    assert settings.batch.poll_interval_s == seconds


def test_no_wait_is_refused_under_emulate_with_batch() -> None:
    # The emulator ends with the run: the next run would find nothing to collect, send the
    # recordings again and leave them again, night after night.
    spec = JobSpec(inputs=("a",), engine="batch", emulate=True, no_wait=True)
    with pytest.raises(UsageError) as refused:
        resolve_settings(spec, CommandLine(), env={}, credentials=False)
    assert "--no-wait" in refused.value.message and "--emulate" in refused.value.message
    assert "batchscribe emulator" in refused.value.hint
