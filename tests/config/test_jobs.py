"""The jobs file: defaults merge into jobs, paths resolve against the file, and every mistake is one
line naming the file, the line, the field and the fix, without ever echoing a key."""

from __future__ import annotations

import os
import re
import shutil
import textwrap
import threading
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from batchscribe.config.jobs import JobsFile, JobSpec, job_settings, load_jobs
from batchscribe.config.schema import parse_duration
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.errors import EXIT_USAGE, JobsFileError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "jobs.example.yaml"
ENV = {"SPEECH_KEY": "test-key", "SPEECH_REGION": "westeurope"}
HEX_KEY = "0123456789abcdef0123456789ABCDEF"
LONG_KEY = "A1b2" * 21  # the newer 84-character keys


def write(folder: Path, text: str, name: str = "jobs.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(path: Path) -> JobsFileError:
    with pytest.raises(JobsFileError) as caught:
        load_jobs(path)
    return caught.value


def loaded(tmp_path: Path, text: str) -> JobsFile:
    return load_jobs(write(tmp_path, text))


# --- merging and resolving ----------------------------------------------------------------------


def test_job_fields_override_defaults_and_lists_replace(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        """
        defaults:
          workers: 4
          formats: [json, srt]
          language: de-DE
          settle: 60
        jobs:
          calls:
            inputs: [calls]
            workers: 2
            formats: [json, vtt]
          meetings:
            inputs: [meetings]
            out: meetings-out
        """,
    )
    calls = job_settings(jobs, "calls", env=ENV)
    meetings = job_settings(jobs, "meetings", env=ENV)
    assert (calls.workers, calls.formats, calls.options.language, calls.settle_seconds) == (
        2,
        ("json", "vtt"),
        "de-DE",
        60,
    )
    assert (meetings.workers, meetings.formats, meetings.options.language) == (4, ("json", "srt"), "de-DE")
    assert (calls.job_name, meetings.job_name) == ("calls", "meetings")


def test_unset_fields_mean_what_the_run_command_defaults_mean(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "jobs:\n  calls:\n    inputs: [rec]\n")
    assert job_settings(jobs, "calls", env=ENV) == RunSettings(
        inputs=(tmp_path / "rec",),
        out=tmp_path / "transcripts",
        endpoint=Endpoint(kind="region", key="test-key", region="westeurope"),
        job_name="calls",
    )


def test_relative_paths_resolve_against_the_jobs_file_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    write(conf, "Contoso\n# a comment\n\nFabrikam\n", name="lists/phrases.txt")
    write(conf, "file-key\n", name="speech.key")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # not the file's folder: it must not matter
    jobs = load_jobs(
        write(
            conf,
            """
            jobs:
              calls:
                inputs: [calls, /srv/abs, ~/mine]
                out: ../out
                phrases: lists/phrases.txt
                key_file: speech.key
            """,
        ).relative_to(tmp_path)
    )
    settings = job_settings(jobs, "calls", env={"SPEECH_REGION": "westeurope"})
    assert settings.inputs == (conf / "calls", Path("/srv/abs"), tmp_path / "home" / "mine")
    assert settings.out == conf / ".." / "out"
    assert settings.options.phrases == ("Contoso", "Fabrikam")
    assert settings.endpoint.key == "file-key"


def test_names_are_in_file_order_and_select_checks_every_name(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        "jobs:\n  zeta: {inputs: [a], out: z}\n  alpha: {inputs: [b], out: a}\n  mid: {inputs: [c], out: m}\n",
    )
    assert jobs.names == ("zeta", "alpha", "mid")
    assert jobs.select() == ("zeta", "alpha", "mid")
    assert jobs.select(["mid", "zeta", "mid"]) == ("mid", "zeta")
    with pytest.raises(JobsFileError):
        jobs.select(["mid", "nope"])


def test_unknown_job_name_lists_the_known_ones(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "jobs:\n  calls: {inputs: [a], out: c}\n  meetings: {inputs: [b], out: m}\n")
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "cals", env=ENV)
    line = caught.value.one_line()
    assert "no job named 'cals'" in line and "did you mean 'calls'?" in line
    assert "calls, meetings" in caught.value.hint


def test_a_job_choosing_one_alternative_replaces_the_defaults_choice(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        """
        defaults:
          languages: [en-US, es-ES]
          key_env: TEAM_KEY
          endpoint: https://team.example
        jobs:
          one-language:
            inputs: [a]
            language: fr-FR
            key_file: k.txt
            region: northeurope
          identify:
            inputs: [b]
            out: identified
        """,
    )
    write(tmp_path, "from-file\n", name="k.txt")
    single = job_settings(jobs, "one-language", env=ENV)
    assert (single.options.language, single.options.languages) == ("fr-FR", ())
    assert single.endpoint == Endpoint(kind="region", key="from-file", region="northeurope")
    identify = job_settings(jobs, "identify", env={"TEAM_KEY": "team"})
    assert identify.options.languages == ("en-US", "es-ES")
    assert identify.endpoint == Endpoint(kind="endpoint", key="team", url="https://team.example")


def test_every_field_reaches_the_run_settings(tmp_path: Path) -> None:
    write(tmp_path, "Contoso\n", name="p.txt")
    jobs = loaded(
        tmp_path,
        """
        jobs:
          all:
            inputs: [a]
            include: "*.wav"
            exclude: ["*/tmp/*"]
            out: out
            formats: json,vtt
            timestamps: true
            settle: 2m
            languages: en-US, de-DE
            word_timestamps: true
            simple: true
            profanity: raw
            phrases: p.txt
            diarize: true
            channels: separate
            workers: 3
            retries: 0
            stall_timeout: 90s
            max_hours: 1.5
            max_cost: 10
            price_per_hour: 0.5
            max_runtime: 1h30m
            endpoint: https://my-speech.cognitiveservices.azure.com
            sdk_send_rate: 4
            max_runtime_grace: 5m
          model:
            inputs: [a]
            language: de-DE
            endpoint_id: 0a1b2c3d-1234-4abc-9def-0123456789ab
        """,
    )
    s = job_settings(jobs, "all", env={"SPEECH_KEY": "k"})
    assert (s.include, s.exclude, s.out, s.formats, s.timestamps) == (
        ("*.wav",), ("*/tmp/*",), tmp_path / "out", ("json", "vtt"), True,
    )  # fmt: skip
    o = s.options
    assert (o.languages, o.word_timestamps, o.detailed, o.profanity, o.phrases, o.diarize) == (
        ("en-US", "de-DE"), True, False, "raw", ("Contoso",), True,
    )  # fmt: skip
    model = job_settings(jobs, "model", env={"SPEECH_KEY": "k", "SPEECH_REGION": "westeurope"}).options
    assert (model.endpoint_id, model.language) == ("0a1b2c3d-1234-4abc-9def-0123456789ab", "de-DE")
    assert (s.channels, s.workers, s.retries, s.stall_timeout, s.settle_seconds) == (
        "separate",
        3,
        0,
        90,
        120,
    )
    assert (s.max_audio_hours, s.max_cost, s.price_per_hour, s.max_runtime_s) == (1.5, 10, 0.5, 5400)
    assert s.endpoint == Endpoint(
        kind="endpoint", key="k", url="https://my-speech.cognitiveservices.azure.com"
    )
    assert (s.sdk_send_rate, s.max_runtime_grace_s) == (4, 300)


def test_a_combination_that_cannot_work_names_its_line_in_the_file_terms(tmp_path: Path) -> None:
    error = load_error(
        write(
            tmp_path, "jobs:\n  calls:\n    inputs: [a]\n    languages: [en-US, de-DE]\n    endpoint_id: m1\n"
        )
    )
    assert error.message == (
        f"{tmp_path / 'jobs.yaml'}:5: jobs.calls.endpoint_id: cannot be combined with languages"
    )
    assert "--" not in error.one_line().replace(str(tmp_path), "")  # never a command-line flag


def test_loaded_jobs_are_frozen(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "jobs:\n  calls:\n    inputs: [a]\n")
    with pytest.raises(FrozenInstanceError):
        jobs.path = Path("other")  # type: ignore[misc]
    with pytest.raises(TypeError):
        jobs.jobs["new"] = JobSpec()  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        jobs.jobs["calls"].workers = 1


def test_blank_blocks_and_yaml_anchors_are_fine(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        """
        defaults:
        jobs:
          a: &base
            inputs: [a]
            workers: 2
          b:
            <<: *base
            inputs: [b]
            out: b-out
        """,
    )
    b = job_settings(jobs, "b", env=ENV)
    assert (b.inputs, b.workers) == ((tmp_path / "b",), 2)


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(90, 90), (1.5, 1.5), ("45", 45), ("90s", 90), ("2m", 120), ("5h", 18000), ("1h30m", 5400),
     ("1.5h", 5400), (" 2 min ", 120), ("30 seconds", 30), ("1H", 3600)],
)  # fmt: skip
def test_durations_are_seconds_or_a_number_with_a_unit(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["soon", "5d", "-5s", "h", "", "1h 30", True, None, [60]])
def test_anything_else_is_not_a_duration(value: object) -> None:
    with pytest.raises(ValueError, match="like 90s, 2m or 1h30m"):
        parse_duration(value)


def test_duration_fields_take_strings_in_a_job(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "jobs:\n  a:\n    inputs: [a]\n    stall_timeout: 90s\n    max_runtime: 5h\n")
    settings = job_settings(jobs, "a", env=ENV)
    assert (settings.stall_timeout, settings.max_runtime_s) == (90, 5 * 3600)


# --- errors: one line, file:line: field: problem (fix) -------------------------------------------


def test_the_issue_example_error_reads_exactly_so(tmp_path: Path) -> None:
    text = (
        "defaults:\n"
        + "".join(f"  # comment {n}\n" for n in range(9))
        + ("  settle: 60\njobs:\n  calls:\n    workers: eight\n    inputs: [a]\n")
    )
    error = load_error(write(tmp_path, text))
    path = tmp_path / "jobs.yaml"
    assert error.one_line() == (
        f"{path}:14: jobs.calls.workers: must be a whole number of at least 1, got 'eight' (e.g. workers: 8)"
    )
    assert error.exit_code == EXIT_USAGE


BAD_FIELDS = [
    # (the lines under `jobs: calls:`, line of the problem, field, what it says, the fix)
    (
        "stall_timeout: soon",
        4,
        "jobs.calls.stall_timeout",
        "like 90s, 2m or 1h30m, got 'soon'",
        "stall_timeout: 90s",
    ),
    ("settle: -1", 4, "jobs.calls.settle", "must be 0 or more seconds", "settle: 60"),
    ("max_runtime: 0", 4, "jobs.calls.max_runtime", "must be positive seconds", "max_runtime: 5h"),
    (
        "profanity: mask",
        4,
        "jobs.calls.profanity",
        "must be masked, removed or raw, got 'mask'",
        "profanity: masked",
    ),
    (
        "channels: stereo",
        4,
        "jobs.calls.channels",
        "must be mix or separate, got 'stereo'",
        "channels: separate",
    ),
    ("formats: [json, mp3]", 4, "jobs.calls.formats", "unknown format 'mp3'", "formats: [json"),
    ("formats:\n  - json\n  - 7", 6, "jobs.calls.formats[1]", "must be text, got 7", "quotes"),
    (
        "languages: [" + ", ".join(["en-US"] * 11) + "]",
        4,
        "jobs.calls.languages",
        "at most 10",
        "languages: [",
    ),
    ("language: no", 4, "jobs.calls.language", "got false", "YAML reads yes/no/on/off as true/false"),
    ("language: english language", 4, "jobs.calls.language", "language tag like en-US", "language: en-US"),
    ("region: West Europe", 4, "jobs.calls.region", "region name like westeurope", "region: westeurope"),
    ("endpoint: my-speech.azure.com", 4, "jobs.calls.endpoint", "must be a URL", "endpoint: https://"),
    ("key_env: $SPEECH_KEY", 4, "jobs.calls.key_env", "name without '$'", "key_env: "),
    (
        "max_hours: 0",
        4,
        "jobs.calls.max_hours",
        "must be a positive number of audio hours, got 0",
        "max_hours: 20",
    ),
    ("retries: -1", 4, "jobs.calls.retries", "must be a whole number, 0 or more, got -1", "retries: 3"),
    ("timestamps: sometimes", 4, "jobs.calls.timestamps", "must be true or false", "timestamps: true"),
    ("phrases: 42", 4, "jobs.calls.phrases", "must be the path of a phrase-list file, got 42", "quotes"),
    ("wokers: 8", 4, "jobs.calls.wokers", "unknown field", "did you mean workers?"),
    ("output: x", 4, "jobs.calls.output", "unknown field", "did you mean out?"),
    ("threads: 8", 4, "jobs.calls.threads", "unknown field", "jobs.example.yaml"),
    ("workers: 2\nworkers: 3", 5, "jobs.calls.workers", "given twice (first on line 4)", "keep one"),
    (
        "language: en-US\nlanguages: [en-US, de-DE]",
        5,
        "jobs.calls.languages",
        "alternatives",
        "one of language, languages",
    ),
    (
        "host: ws://localhost:5000\nendpoint: https://x.example",
        5,
        "jobs.calls.endpoint",
        "alternatives",
        "region, endpoint, host",
    ),
    (
        "key_file: k\nregion: westeurope\nkey_env: K",
        6,
        "jobs.calls.key_env",
        "key_file and key_env",
        "key_env, key_file",
    ),
    (
        "price_per_hour: 0\nmax_cost: 5",
        5,
        "jobs.calls.max_cost",
        "needs a price_per_hour above 0",
        "price_per_hour",
    ),
]


@pytest.mark.parametrize(
    ("lines", "line", "field", "says", "fix"), BAD_FIELDS, ids=[c[0][:24] for c in BAD_FIELDS]
)
def test_a_bad_field_names_file_line_field_and_fix(
    tmp_path: Path, lines: str, line: int, field: str, says: str, fix: str
) -> None:
    body = textwrap.indent(lines, "    ")
    error = load_error(write(tmp_path, f"jobs:\n  calls:\n    inputs: [a]\n{body}\n"))
    one_line = error.one_line()
    assert one_line.startswith(f"{tmp_path / 'jobs.yaml'}:{line}: {field}")
    assert says in error.message
    assert fix in error.hint
    assert "\n" not in one_line and "Traceback" not in one_line and "pydantic" not in one_line


BAD_FILES = [
    # (the whole file, line of the problem or None, what it says, the fix)
    ("job:\n  calls: {inputs: [a]}\n", 1, "job: unknown field", "did you mean jobs?"),
    (
        "workers: 8\njobs:\n  calls: {inputs: [a]}\n",
        1,
        "workers: a job field at the top level",
        "under defaults:",
    ),
    ("jobs:\n", 1, "jobs: lists no jobs", "e.g. jobs:"),
    ("jobs: {}\n", 1, "jobs: lists no jobs", "e.g. jobs:"),
    ("defaults:\n  workers: 2\n", None, "jobs: lists no jobs", "e.g. jobs:"),
    (
        "jobs:\n  - name: calls\n    inputs: [a]\n",
        1,
        "jobs: must map each job's name to its fields, got a list",
        "NAME:",
    ),
    ("jobs:\n  calls: 5\n", 2, "jobs.calls: must be a mapping of job fields, got 5", "jobs.example.yaml"),
    ("jobs:\n  workers: 8\n", 2, "jobs.workers: must be a mapping", "workers is a job field, not a job"),
    ("jobs:\n  my calls: {inputs: [a]}\n", 2, "jobs.my calls: a job name must be", "e.g. night-calls"),
    (
        "defaults:\n  settle: 60\njobs:\n  calls:\n    workers: 2\n",
        4,
        "jobs.calls: the job has no inputs",
        "inputs: [",
    ),
    ("- just\n- a list\n", 1, "must be a mapping with defaults: and jobs:", "jobs.example.yaml"),
    ("jobs:\n  calls\n    inputs: [a]\n", 3, "not valid YAML: mapping values are not allowed here", "':'"),
    ("jobs:\n\tcalls:\n", 2, "not valid YAML: found character '\\t'", "spaces, never tabs"),
    ("jobs:\n  calls:\n    inputs: [a, b\n    out: x\n", 4, "not valid YAML: expected ',' or ']'", "quotes"),
    ("jobs:\n  calls:\n    inputs: [a]\n   out: x\n", 4, "not valid YAML: expected <block end>", "line up"),
    (
        "jobs: {calls: {inputs: [a]}}\n---\njobs: {}\n",
        2,
        "not valid YAML: but found another document",
        "'---'",
    ),
    (
        "jobs:\n  calls:\n    inputs: !!python/object:os.system [a]\n",
        3,
        "not valid YAML: could not determine",
        "tag",
    ),
]


@pytest.mark.parametrize(("text", "line", "says", "fix"), BAD_FILES, ids=[c[2][:30] for c in BAD_FILES])
def test_a_bad_file_names_file_line_and_fix(
    tmp_path: Path, text: str, line: int | None, says: str, fix: str
) -> None:
    error = load_error(write(tmp_path, text))
    where = f"{tmp_path / 'jobs.yaml'}:{line}: " if line else f"{tmp_path / 'jobs.yaml'}: "
    assert error.message.startswith(where), error.message
    assert says in error.message
    assert fix in error.hint
    assert "\n" not in error.one_line()


def test_several_problems_show_the_first_by_line_and_count_the_rest(tmp_path: Path) -> None:
    error = load_error(
        write(
            tmp_path, "jobs:\n  calls:\n    inputs: [a]\n    wokers: 3\n    retries: many\n    profanity: x\n"
        )
    )
    assert error.message.startswith(f"{tmp_path / 'jobs.yaml'}:4: jobs.calls.wokers: unknown field")
    assert error.hint.endswith("; 2 more problems in this file")


def test_missing_empty_and_comment_only_files(tmp_path: Path) -> None:
    missing = load_error(tmp_path / "nope.yaml")
    assert "no such jobs file" in missing.message and "--jobs" in missing.hint
    for text in ("", "# nothing yet\n"):
        assert "the jobs file is empty" in load_error(write(tmp_path, text)).message
    (tmp_path / "bad.yaml").write_bytes(b"jobs:\n  calls: {inputs: [\xff]}\n")
    assert (
        load_error(tmp_path / "bad.yaml").message
        == f"{tmp_path / 'bad.yaml'}:2: the jobs file is not UTF-8 text"
    )


# --- keys never go in the file ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "line", "field"),
    [
        (f"key_env: {HEX_KEY}", 4, "jobs.calls.key_env"),
        (f"region: {LONG_KEY}", 4, "jobs.calls.region"),
        (f"endpoint_id: '{HEX_KEY}'", 4, "jobs.calls.endpoint_id"),
        (f"include:\n  - '*.wav'\n  - {HEX_KEY}", 6, "jobs.calls.include[1]"),
        (f"{HEX_KEY}: 1", 4, "jobs.calls"),
    ],
    ids=["hex in key_env", "84 chars in region", "quoted in endpoint_id", "in a list", "as a name"],
)
def test_a_key_shaped_value_is_refused_without_echoing_it(
    tmp_path: Path, lines: str, line: int, field: str
) -> None:
    body = textwrap.indent(lines, "    ")
    error = load_error(write(tmp_path, f"jobs:\n  calls:\n    inputs: [a]\n{body}\n"))
    one_line = error.one_line()
    assert one_line.startswith(f"{tmp_path / 'jobs.yaml'}:{line}: {field}: ")
    assert "looks like a Speech key" in one_line
    assert "environment variable" in error.hint and "key_env" in error.hint
    assert HEX_KEY not in one_line and LONG_KEY not in one_line
    assert HEX_KEY.lower() not in one_line.lower()


@pytest.mark.parametrize(
    "name", ["key", "subscription_key", "apiKey", "speech-key", "password", "token", "secret"]
)
def test_a_field_for_a_key_is_refused(tmp_path: Path, name: str) -> None:
    error = load_error(write(tmp_path, f"defaults:\n  {name}: hunter2\njobs:\n  calls: {{inputs: [a]}}\n"))
    assert error.message.startswith(f"{tmp_path / 'jobs.yaml'}:2: defaults.{name}: ")
    assert "never goes in the jobs file" in error.message
    assert "environment variable" in error.hint and "key_env" in error.hint
    assert "hunter2" not in error.one_line()


def test_job_names_may_mention_keys_and_tokens(tmp_path: Path) -> None:
    assert loaded(tmp_path, "jobs:\n  tokenizer-calls: {inputs: [a]}\n").names == ("tokenizer-calls",)


# --- credentials and phrases at job_settings time -----------------------------------------------


def test_a_missing_key_names_the_job_and_the_variables(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        "jobs:\n  calls:\n    inputs: [a]\n  other:\n    inputs: [b]\n    key_env: OTHER_KEY\n    out: o\n",
    )
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "calls", env={"SPEECH_REGION": "westeurope"})
    assert caught.value.message.startswith(
        f"{tmp_path / 'jobs.yaml'}:2: jobs.calls: no Speech key for job 'calls'"
    )
    assert "SPEECH_KEY" in caught.value.message and "AZURE_AI_SPEECH_KEY" in caught.value.message
    assert "set SPEECH_KEY" in caught.value.hint
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "other", env=ENV)
    assert caught.value.message.startswith(f"{tmp_path / 'jobs.yaml'}:6: jobs.other.key_env: ")
    assert "OTHER_KEY is not set" in caught.value.message and "set OTHER_KEY" in caught.value.hint


def test_a_missing_region_names_the_job_and_the_variable(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "defaults:\n  region_env: TEAM_REGION\njobs:\n  calls:\n    inputs: [a]\n")
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "calls", env={"SPEECH_KEY": "k", "SPEECH_REGION": "westeurope"})
    assert caught.value.message.startswith(f"{tmp_path / 'jobs.yaml'}:2: defaults.region_env: ")
    assert "job 'calls'" in caught.value.message and "TEAM_REGION is not set" in caught.value.message
    assert "set TEAM_REGION" in caught.value.hint and "region: westeurope" in caught.value.hint


def test_an_unreadable_key_file_names_the_job(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "jobs:\n  calls:\n    inputs: [a]\n    key_file: missing.key\n")
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "calls", env=ENV)
    assert caught.value.message.startswith(
        f"{tmp_path / 'jobs.yaml'}:4: jobs.calls.key_file: cannot read the key file"
    )
    assert "key_file" in caught.value.hint and "--key-file" not in caught.value.hint


def test_emulate_host_and_endpoint_need_no_region(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path,
        """
        jobs:
          local: {inputs: [a], emulate: true, out: l}
          scripted: {inputs: [a], emulate: true, emulator_transcripts: t.yaml, emulator_speed: 10, out: s}
          container: {inputs: [a], host: "ws://localhost:5000/", out: c}
          private: {inputs: [a], endpoint: "https://x.example", out: p}
        """,
    )
    assert job_settings(jobs, "local", env={}).endpoint == Endpoint(kind="emulator", key="emulator")
    assert job_settings(jobs, "local", env={}).emulator_transcripts is None
    scripted = job_settings(jobs, "scripted", env={})
    assert (scripted.emulator_transcripts, scripted.emulator_speed) == (tmp_path / "t.yaml", 10)
    assert job_settings(jobs, "container", env={}).endpoint == Endpoint(
        kind="host", url="ws://localhost:5000"
    )
    assert job_settings(jobs, "private", env={"SPEECH_KEY": "k"}).endpoint.kind == "endpoint"


def test_an_unreadable_phrase_list_names_the_line_that_set_it(tmp_path: Path) -> None:
    jobs = loaded(tmp_path, "defaults:\n  phrases: gone.txt\njobs:\n  calls:\n    inputs: [a]\n")
    with pytest.raises(JobsFileError) as caught:
        job_settings(jobs, "calls", env=ENV)
    assert caught.value.message.startswith(
        f"{tmp_path / 'jobs.yaml'}:2: defaults.phrases: cannot read the phrase list"
    )


# --- the documented example ---------------------------------------------------------------------


def test_the_example_loads_and_every_job_builds_settings(tmp_path: Path) -> None:
    copy = tmp_path / "jobs.yaml"
    shutil.copy(EXAMPLE, copy)
    jobs = load_jobs(copy)
    for name in jobs.names:  # phrase lists the example points at
        if jobs.job(name).phrases:
            write(tmp_path, "Contoso\n", name=str(jobs.job(name).phrases))
    settings = {name: job_settings(jobs, name, env=ENV) for name in jobs.names}
    assert 2 <= len(settings) <= 3
    assert all(
        s.settle_seconds == 60
        for name, s in settings.items()
        if "settle" not in jobs.jobs[name].model_fields_set
    )
    assert jobs.defaults.settle == 60
    assert any(s.channels == "separate" for s in settings.values())
    assert any(s.options.languages and s.options.diarize for s in settings.values())
    assert any(s.max_audio_hours for s in settings.values())
    assert all(
        s.endpoint == Endpoint(kind="region", key="test-key", region="westeurope") for s in settings.values()
    )


def test_the_example_documents_every_field() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for name in JobSpec.model_fields:
        doc = [i for i, line in enumerate(lines) if re.match(rf"\s*# {name}: [a-z]", line)]
        assert doc, f"jobs.example.yaml does not document {name}"
        paragraph = " ".join(lines[doc[0] : doc[0] + 4])
        assert "Default" in paragraph, f"jobs.example.yaml does not give the default of {name}"
        assert any(re.match(rf"\s*#? ?{name}: ", line) for line in lines[doc[0] + 1 :]), (
            f"no example of {name}"
        )


@pytest.mark.parametrize(
    ("text", "how"),
    [
        (
            "defaults: {out: shared}\njobs:\n  A: {inputs: [A]}\n  B: {inputs: [B]}\n",
            "the same output folder",
        ),
        ("jobs:\n  A: {inputs: [A]}\n  B: {inputs: [B]}\n", "the same output folder"),  # the default
        (
            "jobs:\n  A: {inputs: [A], out: t}\n  B: {inputs: [B], out: t/b}\n",
            "output folders inside each other",
        ),
        ("jobs:\n  A: {inputs: [A], out: t}\n  B: {inputs: [B], out: ./x/../t}\n", "the same output folder"),
    ],
    ids=["defaults", "default", "nested", "spelled-differently"],
)
def test_two_jobs_writing_into_one_output_folder_are_refused_naming_both(
    tmp_path: Path, text: str, how: str
) -> None:
    error = load_error(write(tmp_path, text))
    assert f"jobs 'A' and 'B' write to {how}" in error.message
    assert "overwrite each other's transcripts" in error.message and "own out" in error.hint


def test_jobs_with_their_own_output_folders_load(tmp_path: Path) -> None:
    jobs = loaded(
        tmp_path, "defaults: {out: t}\njobs:\n  A: {inputs: [A], out: t-a}\n  B: {inputs: [B], out: t2}\n"
    )
    assert jobs.names == ("A", "B")


def test_a_huge_jobs_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    job = "  job{n}:\n    inputs: [/srv/rec/{n}]\n    out: /srv/t/{n}\n"
    path.write_text("jobs:\n" + "".join(job.format(n=n) for n in range(30_000)), encoding="utf-8")  # 1.4 MB
    error = load_error(path)
    assert error.message == f"{path}: the jobs file is larger than 1 MB, far more than any needs"


def test_a_fifo_as_the_jobs_file_is_refused_without_waiting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "jobs.yaml")
    errors: list[JobsFileError] = []
    thread = threading.Thread(target=lambda: errors.append(load_error(tmp_path / "jobs.yaml")), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert errors, "reading the jobs file blocked"
    assert "not a regular file" in errors[0].message


def test_a_storage_the_service_would_refuse_names_its_line_in_the_file_terms(tmp_path: Path) -> None:
    error = load_error(
        write(tmp_path, "jobs:\n  backlog:\n    inputs: [a]\n    engine: batch\n    storage: Calls_2024\n")
    )
    assert error.message == (
        f"{tmp_path / 'jobs.yaml'}:5: jobs.backlog.storage: 'Calls_2024' is not a Blob Storage container name"
    )
    assert "--" not in error.one_line().replace(str(tmp_path), "")  # never a command-line flag
