"""From the command line to RunSettings: which value wins, what is refused and how the refusal reads.

Fast: the real option parsing (typer), the jobs file and the one resolver, no service and no audio.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from batchscribe.cli import app
from batchscribe.cli.asked import asked, settings_for
from batchscribe.cli.options import RUN_OPTIONS
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.errors import JobsFileError

ENV = {"SPEECH_KEY": "test-key", "SPEECH_REGION": "westeurope"}
NO_CREDENTIALS = dict.fromkeys(
    ("SPEECH_KEY", "AZURE_AI_SPEECH_KEY", "SPEECH_REGION", "AZURE_AI_SPEECH_REGION")
)


def parsed(*args: str, env: dict[str, str] | None = None) -> list[RunSettings]:
    """What `run ARGS` resolves to, through the real option parsing."""
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    with command.make_context("run", list(args)) as ctx:
        return settings_for(asked(ctx), env=ENV if env is None else env)


def jobs_file(folder: Path, text: str) -> Path:
    path = folder / "jobs.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


JOBS = """
defaults:
  workers: 4
  timestamps: true
  max_runtime: 6h
  languages: [en-US, de-DE]
  region: northeurope
jobs:
  calls:
    inputs: [calls]
    workers: 2
    out: out/calls
  meetings:
    inputs: [meetings]
"""


# --- precedence: command-line option > job > the file's defaults > built-in default -------------


def test_nothing_given_means_the_built_in_defaults(tmp_path: Path) -> None:
    [settings] = parsed(str(tmp_path))
    assert settings == RunSettings(
        inputs=(tmp_path,),
        out=Path("transcripts"),
        endpoint=Endpoint(kind="region", key="test-key", region="westeurope"),
    )


@pytest.mark.parametrize(
    ("options", "job", "expected"),
    [
        ((), "meetings", 4),  # the file's defaults over the built-in 8
        ((), "calls", 2),  # the job over the file's defaults
        (("--workers", "3"), "calls", 3),  # the command line over the job
        (("--workers", "3"), "meetings", 3),  # ... and over the defaults, for every job
    ],
)
def test_which_workers_value_wins(tmp_path: Path, options: tuple[str, ...], job: str, expected: int) -> None:
    path = jobs_file(tmp_path, JOBS)
    [settings] = parsed("--jobs", str(path), "--job", job, *options)
    assert settings.workers == expected


def test_every_option_given_with_jobs_applies_to_every_job(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, JOBS)
    every = parsed(
        "--jobs", str(path), "--emulate", "--no-timestamps", "--language", "fr-FR", "--max-runtime", "90m",
        "--formats", "json,srt", env={},
    )  # fmt: skip
    assert [s.job_name for s in every] == ["calls", "meetings"]
    for settings in every:
        assert settings.endpoint == Endpoint(kind="emulator", key="emulator")  # no key needed
        assert settings.timestamps is False  # a flag can switch a job's `true` off
        assert (settings.options.language, settings.options.languages) == ("fr-FR", ())  # replaces the group
        assert settings.max_runtime_s == 90 * 60
        assert settings.formats == ("json", "srt")
    [calls] = parsed("--jobs", str(path), "--job", "calls", "--out", "elsewhere")
    assert calls.out == Path("elsewhere")  # a path given here is taken from here
    assert parsed("--jobs", str(path), "--job", "calls")[0].out == tmp_path / "out/calls"


def test_one_out_given_over_several_jobs_is_refused(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, JOBS)
    with pytest.raises(JobsFileError) as caught:
        parsed("--jobs", str(path), "--out", "elsewhere")
    assert caught.value.message.startswith(
        "--out: jobs 'calls' and 'meetings' write to the same output folder"
    )


def test_a_command_line_endpoint_replaces_the_jobs_region(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, JOBS)
    [settings] = parsed("--jobs", str(path), "--job", "calls", "--host", "ws://localhost:5000/", env={})
    assert settings.endpoint == Endpoint(kind="host", url="ws://localhost:5000")


@pytest.mark.parametrize("value", ["6h", "360m", "21600", "21600s", "5h60m"])
def test_durations_mean_the_same_on_the_command_line_and_in_a_job(tmp_path: Path, value: str) -> None:
    [settings] = parsed(str(tmp_path), "--max-runtime", value, "--settle", value)
    assert (settings.max_runtime_s, settings.settle_seconds) == (6 * 3600, 6 * 3600)


def test_force_and_retry_failed_apply_to_every_job(tmp_path: Path) -> None:
    every = parsed("--jobs", str(jobs_file(tmp_path, JOBS)), "--force", "--retry-failed")
    assert all(s.force and s.retry_failed_only for s in every)


# --- refusals: exit 2, one line naming where the value came from --------------------------------

REFUSED = [
    # (arguments after `run`, the error line starts with)
    (["--language", "english"], "--language: must be a language tag like en-US"),
    (["--languages", "en-US,english"], "--languages: must be a language tag like en-US"),
    (
        ["--languages", ",".join(f"en-{c}{c}" for c in "ABCDEFGHIJK")],
        "--languages: takes at most 10 languages",
    ),
    (["--language", "de-DE", "--languages", "en-US,fr-FR"], "--language and --languages are alternatives"),
    (["--settle", "-5"], "--settle: must be 0 or more seconds"),
    (["--settle", "soon"], "--settle: must be a number of seconds or a duration like 90s"),
    (["--stall-timeout", "1e10"], "--stall-timeout: must be at most 24h"),
    (["--stall-timeout", "0"], "--stall-timeout: must be a positive number of seconds"),
    (["--max-runtime", "1e10"], "--max-runtime: must be at most 720h"),
    (["--max-runtime", "0"], "--max-runtime: must be positive seconds"),
    (["--max-runtime-grace", "2d"], "--max-runtime-grace: must be a number of seconds or a duration"),
    (["--workers", "0"], "--workers: must be a whole number of at least 1, got 0"),
    (["--workers", "5000"], "--workers: must be at most 1000, got 5000"),
    (["--retries", "-1"], "--retries: must be a whole number, 0 or more, got -1"),
    (["--max-hours", "0"], "--max-hours: must be a positive number of audio hours"),
    (["--max-hours", "nan"], "--max-hours: must be a positive number of audio hours, got nan"),
    (["--max-cost", "-1"], "--max-cost: must be a positive amount"),
    (["--price-per-hour", "-1"], "--price-per-hour: must be an amount, 0 or more"),
    (["--max-cost", "5", "--price-per-hour", "0"], "--max-cost: needs a --price-per-hour above 0"),
    (["--emulator-speed", "0"], "--emulator-speed: must be a positive number"),
    (["--sdk-send-rate", "1e9"], "--sdk-send-rate: must be at most 1000"),
    (["--formats", "json,mp3"], "--formats: unknown format 'mp3'"),
    (["--profanity", "mask"], "--profanity: must be masked, removed or raw, got 'mask'"),
    (["--channels", "stereo"], "--channels: must be mix or separate, got 'stereo'"),
    (["--engine", "fastest"], "--engine: must be realtime, fast or batch, got 'fastest'"),
    (["--region", "West Europe"], "--region: must be an Azure region name like westeurope"),
    (["--endpoint", "my-speech.azure.com"], "--endpoint: must be a URL"),
    (["--endpoint", "https://x.example", "--host", "ws://y"], "--endpoint and --host are alternatives"),
    (
        ["--endpoint-id", "m1", "--languages", "en-US,de-DE"],
        "--endpoint-id: cannot be combined with --languages",
    ),
    (["--phrases", "missing.txt"], "--phrases: cannot read the phrase list missing.txt"),
    (["--key-file", "missing.key"], "--key-file: cannot read the key file missing.key"),
    (["--log-format", "xml"], "--log-format: must be text or json, got 'xml'"),
    (["--job", "calls"], "--job: names a job of a jobs file"),
]


@pytest.mark.parametrize(("args", "says"), REFUSED, ids=[" ".join(a)[:40] for a, _ in REFUSED])
def test_a_bad_option_exits_2_with_one_line_naming_it(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["run", str(tmp_path), *args], env=ENV)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {says}"), result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {}, "nothing to transcribe"),
        (
            ["."],
            {"SPEECH_REGION": "westeurope"},
            "no Speech key: none of SPEECH_KEY, AZURE_AI_SPEECH_KEY is set",
        ),
        (
            ["."],
            {"SPEECH_KEY": "k"},
            "no Speech region: none of SPEECH_REGION, AZURE_AI_SPEECH_REGION is set",
        ),
        (["--jobs", "jobs.yaml", "."], ENV, "give either INPUTS or --jobs, not both"),
        (["--jobs", "jobs.yaml", "--workers", "0"], ENV, "--workers: must be a whole number of at least 1"),
        (
            ["--jobs", "jobs.yaml", "--job", "cals"],
            ENV,
            "jobs.yaml: no job named 'cals' (did you mean 'calls'?)",
        ),
        (["--jobs", "jobs.yaml", "--region", "x y"], {}, "--region: must be an Azure region name"),
        (["--jobs", "jobs.yaml"], {}, "jobs.yaml:4: jobs.calls: no Speech key for job 'calls'"),
    ],
)
def test_a_refusal_names_its_source(
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    jobs_file(tmp_path, "defaults:\n  workers: 2\njobs:\n  calls:\n    inputs: [calls]\n")
    result = cli.invoke(app, ["run", *args], env={**NO_CREDENTIALS, **env})
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {says}"), result.output
    assert result.output.count("\n") == 1


# --- plan and doctor take every option of run; plan never needs a key ----------------------------


def test_plan_and_doctor_accept_every_option_of_run() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    options = {name: {p.name for p in commands[name].params} for name in ("run", "plan", "doctor")}
    assert options["run"] == {p.name for p in RUN_OPTIONS}
    assert options["run"] <= options["plan"] and options["run"] <= options["doctor"]


def test_plan_needs_no_key_with_host_or_jobs(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "calls").mkdir()
    jobs_file(tmp_path, "jobs:\n  calls:\n    inputs: [calls]\n")
    for args in (
        ["--jobs", "jobs.yaml"],
        ["calls", "--host", "wss://speech.example", "--workers", "4", "--quiet"],
    ):
        result = cli.invoke(app, ["plan", *args, "--json"], env=NO_CREDENTIALS)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)[0]["to_do"] == 0


def test_the_engine_is_realtime_unless_a_job_or_the_command_line_says_otherwise(tmp_path: Path) -> None:
    jobs = jobs_file(
        tmp_path,
        f"""
        defaults: {{engine: batch}}
        jobs:
          a: {{inputs: [{tmp_path}], out: {tmp_path}/a}}
          b: {{inputs: [{tmp_path}], out: {tmp_path}/b, engine: fast}}
    """,
    )
    assert [s.engine for s in parsed(str(tmp_path))] == ["realtime"]
    assert {s.job_name: s.engine for s in parsed("--jobs", str(jobs))} == {"a": "batch", "b": "fast"}
    assert {s.engine for s in parsed("--jobs", str(jobs), "--engine", "realtime")} == {"realtime"}


# --- summaries (issue 21): the same path from options, jobs and the environment ---------------------

NO_OPENAI = dict.fromkeys(("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_KEY"))
OPENAI_ENV = {
    **ENV,
    "AZURE_OPENAI_ENDPOINT": "https://env-openai.openai.azure.com/",
    "AZURE_OPENAI_DEPLOYMENT": "env-gpt",
    "AZURE_OPENAI_API_KEY": "openai-test-key",
}
SUMMARY_JOBS = """
defaults:
  summarize: true
  price_per_1k_tokens: 0.01
jobs:
  calls:
    inputs: [calls]
    out: out/calls
    openai_deployment: calls-gpt
    summary_prompt: prompt.md
  meetings:
    inputs: [meetings]
    out: out/meetings
    summarize: false
"""


def test_summaries_take_the_option_over_the_job_over_the_environment(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, SUMMARY_JOBS)
    (tmp_path / "prompt.md").write_text("Summarize for the calls team.\n")  # beside the jobs file
    calls, meetings = parsed("--jobs", str(path), env=OPENAI_ENV)
    assert meetings.summaries is None
    assert calls.summaries is not None
    assert (calls.summaries.endpoint, calls.summaries.deployment) == (
        "https://env-openai.openai.azure.com",
        "calls-gpt",
    )
    assert (calls.summaries.key, calls.summaries.price_per_1k_tokens) == ("openai-test-key", 0.01)
    assert calls.summaries.prompt == "Summarize for the calls team."
    assert "openai-test-key" in calls.secrets and "openai-test-key" not in json.dumps(calls.public_dict())

    every = parsed("--jobs", str(path), "--summarize", "--openai-deployment", "cli-gpt", "--openai-endpoint",
                   "https://cli.openai.azure.com", "--price-per-1k-tokens", "0.002", env=OPENAI_ENV)  # fmt: skip
    for settings in every:
        assert settings.summaries is not None
        assert (settings.summaries.deployment, settings.summaries.endpoint) == (
            "cli-gpt",
            "https://cli.openai.azure.com",
        )
        assert settings.summaries.price_per_1k_tokens == 0.002


def test_summaries_without_a_key_sign_in_with_entra_and_emulated_ones_need_nothing(tmp_path: Path) -> None:
    [entra] = parsed(str(tmp_path), "--summarize", env={**OPENAI_ENV, "AZURE_OPENAI_API_KEY": ""})
    assert entra.summaries is not None and entra.summaries.entra and not entra.summaries.key
    [emulated] = parsed(str(tmp_path), "--emulate", "--summarize", env={})
    assert emulated.summaries is not None
    assert (emulated.summaries.emulated, emulated.summaries.deployment, emulated.summaries.endpoint) == (
        True, "emulator", "")  # fmt: skip
    assert "Answer with one JSON object" in emulated.summaries.prompt  # the shipped prompt


SUMMARY_REFUSED = [
    (["--summarize"], "--summarize: needs an Azure OpenAI endpoint: AZURE_OPENAI_ENDPOINT is not set"),
    (
        ["--summarize", "--openai-endpoint", "https://x.openai.azure.com"],
        "--summarize: needs an Azure OpenAI deployment",
    ),
    (["--summarize", "--openai-endpoint", "my-openai"], "--openai-endpoint: must be a URL"),
    (["--price-per-1k-tokens", "-1"], "--price-per-1k-tokens: must be an amount, 0 or more"),
    (
        ["--openai-context-tokens", "100"],
        "--openai-context-tokens: must be a whole number of tokens, at least 4000",
    ),
    (
        ["--summarize", "--emulate", "--summary-prompt", "missing.md"],
        "--summary-prompt: cannot read the prompt file",
    ),
]


@pytest.mark.parametrize(
    ("args", "says"), SUMMARY_REFUSED, ids=[" ".join(a)[:40] for a, _ in SUMMARY_REFUSED]
)
def test_a_bad_summary_option_exits_2_with_one_line_naming_it(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["run", str(tmp_path), *args], env={**ENV, **NO_OPENAI})
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {says}"), result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_job_without_an_openai_endpoint_is_named_by_its_line(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    jobs_file(tmp_path, "jobs:\n  calls:\n    inputs: [calls]\n    summarize: true\n")
    result = cli.invoke(app, ["run", "--jobs", "jobs.yaml"], env={**ENV, **NO_OPENAI})
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        "error: jobs.yaml:4: jobs.calls.summarize: needs an Azure OpenAI endpoint"
    )
