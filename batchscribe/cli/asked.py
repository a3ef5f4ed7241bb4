"""What the command line asked for: the options actually given, as the same ``JobSpec`` a job is.

``asked(ctx)`` reads the options given (not their defaults, which live only in
``batchscribe.config.schema``) and validates them once, errors naming the option; ``settings_for``
turns that into ``RunSettings`` through the one resolver, for a one-off run or over every selected
job of ``--jobs`` (command-line option > job > the file's defaults > default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from batchscribe.cli.options import LOG_FORMATS, PLACES, SPEC_OPTIONS
from batchscribe.config.explain import explain_option, field_help
from batchscribe.config.jobs import check_outputs_apart, job_settings, load_jobs
from batchscribe.config.resolve import CommandLine, option_name, resolve_settings
from batchscribe.config.schema import JobSpec, alternatives_set
from batchscribe.config.settings import RunSettings
from batchscribe.errors import UsageError
from batchscribe.outputs.layout import KEEP_RUNS


@dataclass(frozen=True)
class Asked:
    """What the command line asked for: the spec of the options given, and how to run it."""

    spec: JobSpec
    jobs_file: Path | None = None
    job_names: tuple[str, ...] = ()
    force: bool = False
    retry_failed: bool = False
    log_format: str = "text"
    log_file: Path | None = None
    quiet: bool = False
    verbose: bool = False
    keep_runs: int = KEEP_RUNS


def asked(ctx: typer.Context) -> Asked:
    """The options given on this command line (not their defaults), validated once."""
    return asked_from(ctx.params, {name for name in ctx.params if _given(ctx, name)})


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def asked_from(params: Mapping[str, Any], given: set[str]) -> Asked:
    """``asked`` for parsed ``params`` of which the names in ``given`` were given."""
    if params.get("log_format", "text") not in LOG_FORMATS:
        raise UsageError(
            f"--log-format: must be {' or '.join(LOG_FORMATS)}, got {params['log_format']!r}",
            hint="e.g. --log-format json",
        )
    jobs_file: Path | None = params.get("jobs_file")
    if params.get("job") and jobs_file is None:
        raise UsageError(
            "--job: names a job of a jobs file", hint="give the file too: --jobs jobs.yaml --job NAME"
        )
    if jobs_file is not None and "inputs" in given:
        raise UsageError("give either INPUTS or --jobs, not both", hint="put the inputs in the jobs file")
    return Asked(
        spec=command_line_spec({name: params[name] for name in SPEC_OPTIONS if name in given}),
        jobs_file=jobs_file,
        job_names=tuple(params.get("job") or ()),
        force=bool(params.get("force")),
        retry_failed=bool(params.get("retry_failed")),
        log_format=params.get("log_format", "text"),
        log_file=params.get("log_file"),
        quiet=bool(params.get("quiet")),
        verbose=bool(params.get("verbose")),
        keep_runs=int(params.get("keep_runs", KEEP_RUNS)),
    )


def command_line_spec(options: Mapping[str, Any]) -> JobSpec:
    """A ``JobSpec`` of the given options (field name -> parsed value); errors name the option."""
    values = {name: _spec_value(name, value) for name, value in options.items() if name not in PLACES}
    values.update(_places(options))
    try:
        spec = JobSpec.model_validate(values)
    except ValidationError as exc:
        field, message, example = explain_option(exc)
        if field == "resources":  # one of several --region/--endpoint/--host values
            err = exc.errors(include_url=False)[0]
            field = str(err["loc"][2]) if len(err["loc"]) > 2 else "region"
            message, example = explain_option_value(field, err)
        raise UsageError(
            f"{option_name(field)}: {message}", hint=f"e.g. {option_example(field, example)}"
        ) from exc
    for fields in alternatives_set(spec):
        names = [option_name(f) for f in fields]
        raise UsageError(f"{' and '.join(names)} are alternatives", hint=f"keep one of {', '.join(names)}")
    return spec


def _places(options: Mapping[str, Any]) -> dict[str, object]:
    """--region/--endpoint/--host: one value as it always was; any of them given several times
    makes every value given one resource of a ``resources`` list."""
    given = {
        name: [v.strip() for v in ([value] if isinstance(value, str) else value or ()) if v.strip()]
        for name in PLACES
        if (value := options.get(name))
    }
    if all(len(values) <= 1 for values in given.values()):
        return {name: values[0] for name, values in given.items() if values}
    return {"resources": [{name: v} for name, values in given.items() for v in values]}


def explain_option_value(field: str, err: Any) -> tuple[str, str]:
    """(what is wrong, an example) for one value of a repeated option."""
    message = str(err["ctx"]["error"]) if err["type"] == "value_error" else str(err["msg"])
    return message, field_help(field)[1]


def _spec_value(name: str, value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list):
        return [str(v) for v in value] if name == "inputs" else list(split_list(value))
    return value


def split_list(values: list[str] | None) -> tuple[str, ...]:
    """Options that take lists accept both repetition and commas: --formats json,srt."""
    return tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())


def option_example(field: str, example: str) -> str:
    """A jobs-file example value as the command line spells it: ``[json, srt]`` -> ``--formats json,srt``."""
    if example in ("true", "false"):
        return option_name(field)
    if example.startswith("[") and example.endswith("]"):
        example = ",".join(part.strip().strip("\"'") for part in example[1:-1].split(","))
    return f"{option_name(field)} {example}"


def settings_for(
    request: Asked,
    *,
    credentials: bool = True,
    need_inputs: bool = True,
    env: Mapping[str, str] | None = None,
) -> list[RunSettings]:
    """RunSettings for a one-off run, or for each selected job of ``--jobs`` with the options given
    over it. ``credentials``: find the endpoint and read the key (``plan`` does without)."""
    if request.jobs_file is None:
        one = resolve_settings(
            request.spec, CommandLine(), env=env, credentials=credentials, need_inputs=need_inputs
        )
        every = [one]
    else:
        jobs = load_jobs(request.jobs_file)
        names = jobs.select(request.job_names)
        check_outputs_apart(jobs, names, request.spec)  # e.g. one --out over several jobs
        every = [
            job_settings(jobs, name, env=env, command_line=request.spec, credentials=credentials)
            for name in names
        ]
    return [replace(s, force=request.force, retry_failed_only=request.retry_failed) for s in every]
