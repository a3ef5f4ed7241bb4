"""Several Speech resources from the jobs file's ``resources:`` list and from --region/--endpoint/
--host given several times: through the one translation, each error naming where it was given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchscribe.cli.asked import command_line_spec
from batchscribe.config.jobs import job_settings, load_jobs
from batchscribe.config.resolve import CommandLine, resolve_settings
from batchscribe.config.schema import ResourceSpec
from batchscribe.errors import JobsFileError, UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "jobs.example.yaml"
ENV = {"WEU_KEY": "weu-key", "SPEECH_KEY": "job-key"}


def jobs_file(tmp_path: Path, resources: str, extra: str = "") -> Path:
    path = tmp_path / "jobs.yaml"
    path.write_text(f"jobs:\n  calls:\n    inputs: [in]\n{extra}    resources:\n{resources}")
    return path


def test_a_resources_list_becomes_one_endpoint_per_resource_with_its_key_and_limit(tmp_path: Path) -> None:
    path = jobs_file(
        tmp_path,
        "      - {region: westeurope, key_env: WEU_KEY, max_sessions: 20}\n"
        "      - {endpoint: https://mine.cognitiveservices.azure.com, entra: true, name: custom}\n"
        "      - {host: ws://10.0.0.5:5000}\n",
        extra="    workers: 6\n",
    )
    settings = job_settings(load_jobs(path), "calls", env=ENV)
    weu, custom, host = settings.resources
    assert (weu.kind, weu.region, weu.key, weu.resource.max_sessions) == (
        "region",
        "westeurope",
        "weu-key",
        20,
    )  # type: ignore[union-attr]
    assert (custom.name, custom.entra, custom.key) == ("custom", True, "")
    assert (host.kind, host.url, host.key, host.resource.max_sessions) == (
        "host",
        "ws://10.0.0.5:5000",
        "job-key",
        6,
    )  # type: ignore[union-attr]
    assert settings.endpoint == weu and settings.capacity == 20 + 6 + 6
    assert settings.public_dict()["resources"] == ["region:westeurope", "custom", "host:ws://10.0.0.5:5000"]
    assert "weu-key" not in repr(settings) and set(settings.secrets) == {"weu-key", "job-key"}


def test_planning_reads_no_key(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, "      - {region: westeurope, key_env: UNSET_KEY}\n      - {region: eastus}\n")
    settings = job_settings(load_jobs(path), "calls", env={}, credentials=False)
    assert [e.name for e in settings.resources] == ["region:westeurope", "region:eastus"]
    assert not settings.endpoint.resolved


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ("      - {region: westeurope, host: ws://x}\n", "exactly one of region, endpoint or host"),
        ("      - {region: West Europe, key_env: K}\n", "must be an Azure region name"),
        ("      - {host: ws://x, max_sessions: 0}\n", "greater than or equal to 1"),
        ("      - {host: ws://x, sessions: 3}\n", "unknown field"),
        ("      - {region: eastus, entra: true}\n", "needs the resource id"),
        ("      - {region: eastus, key_env: UNSET_KEY}\n", "UNSET_KEY is not set"),
        ("      - {host: ws://x}\n      - {host: ws://x/}\n", "given twice"),
    ],
)
def test_a_bad_resource_is_one_line_naming_the_file_and_line(
    tmp_path: Path, resources: str, message: str
) -> None:
    path = jobs_file(tmp_path, resources)
    with pytest.raises(JobsFileError) as caught:
        job_settings(load_jobs(path), "calls", env=ENV)
    line = caught.value.one_line()
    assert message in line and str(path) in line and "\n" not in line, line
    assert re.search(r"jobs\.yaml:\d+: jobs\.calls\.resources", line), line


def test_a_resource_list_is_an_alternative_to_region(tmp_path: Path) -> None:
    path = jobs_file(tmp_path, "      - {host: ws://x}\n", extra="    region: westeurope\n")
    with pytest.raises(JobsFileError, match="alternatives"):
        load_jobs(path)


def test_repeated_options_are_several_resources_sharing_the_jobs_key() -> None:
    spec = command_line_spec({"inputs": ["in"], "host": ["ws://a:1", "ws://b:2"], "workers": 3})
    settings = resolve_settings(spec, CommandLine(), env={"SPEECH_KEY": "k"})
    assert [(e.url, e.key, e.resource.max_sessions) for e in settings.resources] == [  # type: ignore[union-attr]
        ("ws://a:1", "k", 3), ("ws://b:2", "k", 3),
    ]  # fmt: skip
    one = resolve_settings(command_line_spec({"inputs": ["in"], "host": ["ws://a:1"]}), CommandLine(), env={})
    assert (one.resources, one.endpoint.url) == ((), "ws://a:1")  # one value: exactly as before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"region": ["westeurope", "West US"]}, "--region: must be an Azure region name"),
        ({"region": ["westeurope", "eastus"], "key_file": "k.key"}, "--key-file: serves one Speech resource"),
        ({"region": ["westeurope", "eastus"]}, "SPEECH_KEY is not set"),
    ],
)
def test_a_bad_repeated_option_names_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_settings(command_line_spec({"inputs": ["in"], **options}), CommandLine(), env={})
    assert message in caught.value.one_line()


def test_the_example_documents_every_field_of_a_resource() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    section = text[text.index("# resources:") : text.index("jobs:\n")]
    for name in ResourceSpec.model_fields:
        assert re.search(rf"\b{name}\b", section), f"jobs.example.yaml does not document resources' {name}"
    example = [line.strip("# ") for line in section.splitlines() if line.strip().startswith("#   - {")]
    assert len(example) >= 3
