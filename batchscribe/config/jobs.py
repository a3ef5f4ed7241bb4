"""The jobs file (``batchscribe run --jobs jobs.yaml``): load, validate, and turn a job into RunSettings.

A jobs file has a ``defaults`` block and named ``jobs``; a job's fields override the defaults (the
schema is ``batchscribe.config.schema``, the documented example is ``jobs.example.yaml``)::

    load_jobs(path) -> JobsFile              # validated and frozen; names in file order
    job_settings(jobs, name, env=...) -> RunSettings

Every problem is one ``JobsFileError`` line naming the file, the line, the field and the fix::

    jobs.yaml:14: jobs.calls.workers: must be a whole number of at least 1, got 'eight' (e.g. workers: 8)

Line numbers come from composing the YAML ourselves: each node's ``start_mark`` is recorded under
its path of keys, which is the ``loc`` pydantic reports. The file never holds a key: a field named
like one, or any value shaped like one, is refused without being echoed.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from batchscribe.config.schema import ALTERNATIVES, JobsFileSpec, JobSpec, Loc, dotted, explain, line_of, show
from batchscribe.config.settings import (
    KEY_VARIABLES,
    REGION_VARIABLES,
    Endpoint,
    RunSettings,
    read_phrase_list,
    resolve_endpoint,
)
from batchscribe.engines.base import RecognitionOptions
from batchscribe.errors import JobsFileError, UsageError
from batchscribe.secrets import is_credential_field, looks_like_key

__all__ = ["JobSpec", "JobsFile", "job_settings", "load_jobs"]

_NO_KEY_HERE = (
    "put the key in an environment variable and name it with key_env, e.g. key_env: SPEECH_KEY; "
    "or point key_file at a file that holds it"
)


@dataclass(frozen=True)
class JobsFile:
    """A validated jobs file. ``jobs`` keeps each job's own fields; ``job(name)`` merges defaults in."""

    path: Path  # as given, for messages
    folder: Path  # absolute: relative paths in the file are resolved against it
    defaults: JobSpec
    jobs: Mapping[str, JobSpec]
    lines: Mapping[Loc, int] = field(repr=False, compare=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The job names, in file order."""
        return tuple(self.jobs)

    def job(self, name: str) -> JobSpec:
        """The job's fields over the defaults. A job that sets one of a group of alternatives
        (language/languages, region/endpoint/host, key_env/key_file) replaces the defaults' group."""
        job = self.jobs.get(name)
        if job is None:
            raise self._unknown_job(name)
        update = {f: getattr(job, f) for f in job.model_fields_set}
        for group in ALTERNATIVES:
            if update.keys() & set(group):
                for f in group:
                    update.setdefault(f, JobSpec.model_fields[f].default)
        return self.defaults.model_copy(update=update)

    def select(self, names: Iterable[str] = ()) -> tuple[str, ...]:
        """The jobs to run for ``--job NAME ...``: all of them (file order) when none are named.
        Checks every name before any job runs."""
        wanted = tuple(dict.fromkeys(names))
        for name in wanted:
            if name not in self.jobs:
                raise self._unknown_job(name)
        return wanted or self.names

    def resolve(self, value: str) -> Path:
        """A path from the file: ``~`` expanded, relative paths taken from the jobs file's folder."""
        return self.folder / Path(value).expanduser()

    def where(self, name: str, field_name: str | None = None) -> str:
        """``file:line: jobs.NAME[.field]`` for a job problem, pointing where the field was set."""
        if field_name is not None:
            for loc in (("jobs", name, field_name), ("defaults", field_name)):
                if loc in self.lines:
                    return f"{self.path}:{self.lines[loc]}: {dotted(loc)}"
        return f"{self.path}:{line_of(self.lines, ('jobs', name))}: jobs.{name}"

    def _unknown_job(self, name: str) -> JobsFileError:
        close = difflib.get_close_matches(name, self.names, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return JobsFileError(
            f"{self.path}: no job named {name!r}{guess}",
            hint=f"the jobs in this file are: {', '.join(self.names)}",
        )


def load_jobs(path: Path) -> JobsFile:
    """Read, parse and validate a jobs file; raise one ``JobsFileError`` line for the first problem."""
    data, lines = _parse(path, _read(path))
    if data is None:
        raise JobsFileError(f"{path}: the jobs file is empty", hint="start from jobs.example.yaml")
    if not isinstance(data, dict):
        raise JobsFileError(
            f"{path}:1: the jobs file must be a mapping with defaults: and jobs:, got {show(data)}",
            hint="start from jobs.example.yaml",
        )
    try:
        spec = JobsFileSpec.model_validate(data)
    except ValidationError as exc:
        line, message, fix = explain(exc, lines)
        raise JobsFileError(f"{path}:{line}: {message}" if line else f"{path}: {message}", hint=fix) from exc
    jobs = JobsFile(
        path=path,
        folder=path.expanduser().absolute().parent,
        defaults=spec.defaults,
        jobs=MappingProxyType(dict(spec.jobs)),
        lines=MappingProxyType(lines),
    )
    _check_jobs(jobs)
    return jobs


def job_settings(jobs: JobsFile, name: str, *, env: Mapping[str, str] | None = None) -> RunSettings:
    """Everything one job's run needs: fields merged, paths resolved, credentials and phrases read."""
    spec = jobs.job(name)
    env = os.environ if env is None else env
    try:
        return _run_settings(jobs, name, spec, env)
    except JobsFileError:
        raise
    except UsageError as exc:  # a combination RunSettings refuses: say which job
        raise JobsFileError(f"{jobs.where(name)}: {exc.message}", hint=exc.hint) from exc


def _run_settings(jobs: JobsFile, name: str, spec: JobSpec, env: Mapping[str, str]) -> RunSettings:
    return RunSettings(
        inputs=tuple(jobs.resolve(p) for p in spec.inputs),
        out=jobs.resolve(spec.out),
        endpoint=_endpoint(jobs, name, spec, env),
        options=RecognitionOptions(
            language=spec.language,
            languages=spec.languages,
            detailed=not spec.simple,
            word_timestamps=spec.word_timestamps,
            profanity=spec.profanity,
            phrases=_phrase_list(jobs, name, spec.phrases),
            endpoint_id=spec.endpoint_id,
            diarize=spec.diarize,
        ),
        workers=spec.workers,
        retries=spec.retries,
        stall_timeout=spec.stall_timeout,
        formats=spec.formats,
        timestamps=spec.timestamps,
        channels=spec.channels,
        include=spec.include,
        exclude=spec.exclude,
        settle_seconds=spec.settle,
        max_audio_hours=spec.max_hours,
        max_cost=spec.max_cost,
        price_per_hour=spec.price_per_hour,
        max_runtime_s=spec.max_runtime,
        max_runtime_grace_s=spec.max_runtime_grace,
        sdk_send_rate=spec.sdk_send_rate,
        emulator_transcripts=jobs.resolve(spec.emulator_transcripts) if spec.emulator_transcripts else None,
        emulator_speed=spec.emulator_speed,
        job_name=name,
    )


# --- credentials and phrases ------------------------------------------------------------------


def _endpoint(jobs: JobsFile, name: str, spec: JobSpec, env: Mapping[str, str]) -> Endpoint:
    """Where the job's audio goes; a missing variable is named, with the job, before anything runs."""
    if spec.emulate:
        return Endpoint(kind="emulator", key="emulator")
    key_names = (spec.key_env,) if spec.key_env else KEY_VARIABLES
    region_names = (spec.region_env,) if spec.region_env else REGION_VARIABLES
    cron = "in the environment the job runs in (cron does not read your shell profile)"
    if not spec.host and not spec.key_file and not _any_set(env, key_names):
        raise JobsFileError(
            f"{jobs.where(name, 'key_env')}: no Speech key for job {name!r}: {_not_set(key_names)}",
            hint=f"set {key_names[0]} {cron}, or name another variable with key_env",
        )
    if not (spec.host or spec.endpoint or spec.region) and not _any_set(env, region_names):
        raise JobsFileError(
            f"{jobs.where(name, 'region_env')}: no Speech region for job {name!r}: {_not_set(region_names)}",
            hint=f"set {region_names[0]} (e.g. westeurope) {cron}, or give the job region: westeurope",
        )
    try:
        return resolve_endpoint(
            env=env,
            key_file=jobs.resolve(spec.key_file) if spec.key_file else None,
            region=spec.region,
            endpoint_url=spec.endpoint,
            host_url=spec.host,
            key_variable=spec.key_env,
            region_variable=spec.region_env,
        )
    except UsageError as exc:  # the key file cannot be read, or holds more than the key
        hint = "point key_file at a readable file holding only the key" if spec.key_file else exc.hint
        raise JobsFileError(f"{jobs.where(name, 'key_file')}: {exc.message}", hint=hint) from exc


def _any_set(env: Mapping[str, str], names: tuple[str, ...]) -> bool:
    return any(env.get(n, "").strip() for n in names)


def _not_set(names: tuple[str, ...]) -> str:
    return f"{names[0]} is not set" if len(names) == 1 else f"none of {', '.join(names)} is set"


def _phrase_list(jobs: JobsFile, name: str, value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    try:
        return read_phrase_list(jobs.resolve(value))
    except UsageError as exc:
        raise JobsFileError(f"{jobs.where(name, 'phrases')}: {exc.message}", hint=exc.hint) from exc


# --- reading and parsing ----------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise JobsFileError(
            f"{path}: no such jobs file", hint="check the --jobs path; jobs.example.yaml shows the format"
        ) from exc
    except OSError as exc:
        raise JobsFileError(
            f"{path}: cannot read the jobs file: {exc.strerror}", hint="pass a readable file to --jobs"
        ) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise JobsFileError(
            f"{path}:{line}: the jobs file is not UTF-8 text", hint="save it as UTF-8"
        ) from exc


def _parse(path: Path, text: str) -> tuple[Any, dict[Loc, int]]:
    """The document and the line of every key and list item, by path. Refuses keys and duplicates."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        _walk(path, loader, node, (), lines, set(), [0])
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(path, exc) from exc
    except yaml.YAMLError as exc:
        raise JobsFileError(f"{path}: not valid YAML: {exc}", hint="check the file's characters") from exc
    finally:
        loader.dispose()


MAX_NODES = 100_000  # far more than any real jobs file; an alias bomb expands past it at once


def _walk(
    path: Path, loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], seen: set[int],
    walked: list[int],
) -> None:  # fmt: skip
    """Record lines under ``loc``; refuse duplicate keys, key-like field names and key-shaped values."""
    walked[0] += 1
    if walked[0] > MAX_NODES:  # aliases re-walk what they point to: count what that expands to
        raise JobsFileError(
            f"{path}: the jobs file expands to more than {MAX_NODES:,} fields (aliases of aliases?)",
            hint="write the jobs out; use anchors and aliases only to share a few settings",
        )
    if isinstance(node, yaml.ScalarNode):
        if looks_like_key(str(node.value)):
            _refuse_key(path, lines, loc, "this value looks like a Speech key (not shown)")
        return
    if id(node) in seen:  # an alias back into its own anchor: nothing new below
        return
    children: list[tuple[Loc, yaml.Node]] = []
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            children.append(((*loc, index), item))
    elif isinstance(node, yaml.MappingNode):
        first_line: dict[object, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                # `<<: *anchor` merges fields: scan them, but their lines stay where they are written
                _walk(path, loader, value_node, loc, dict(lines), seen, walked)
                continue
            key, line = _key(loader, key_node), key_node.start_mark.line + 1
            if looks_like_key(str(key_node.value)):
                _refuse_key(path, {loc: line}, loc, "a name here looks like a Speech key (not shown)")
            here = (*loc, key)
            if key in first_line:
                raise JobsFileError(
                    f"{path}:{line}: {dotted(here)}: given twice (first on line {first_line[key]})",
                    hint="keep one of them",
                )
            first_line[key] = lines[here] = line
            if loc != ("jobs",) and isinstance(key, str) and _secret_name(key):
                _refuse_key(path, lines, here, "a field for a key, password or token")
            children.append((here, value_node))
    seen.add(id(node))
    for child_loc, child in children:
        _walk(path, loader, child, child_loc, lines, seen, walked)
    seen.discard(id(node))


def _key(loader: yaml.SafeLoader, node: yaml.Node) -> str | int:
    """A mapping key as pydantic will report it (``5:`` is the int 5); other odd keys as text."""
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_object(node)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    return str(node.value)


def _secret_name(name: str) -> bool:
    """A field for a credential (``key``, ``api_key``, ``subscriptionKey``...) that is not one of ours."""
    return name not in JobSpec.model_fields and is_credential_field(name)


def _refuse_key(path: Path, lines: Mapping[Loc, int], loc: Loc, what: str) -> None:
    """Stop at a key in the file, saying where and what to do, without ever repeating it."""
    hint = _NO_KEY_HERE
    if loc and loc[-1] == "endpoint_id":
        hint = f"if it is a custom speech endpoint id, write it with its dashes; if it is a key, {hint}"
    where = f"{dotted(loc)}: " if loc else ""
    raise JobsFileError(
        f"{path}:{line_of(lines, loc)}: {where}{what}; a key never goes in the jobs file", hint=hint
    )


_SYNTAX_FIXES = (
    ("cannot start any token", "indent with spaces, never tabs; quote a value that starts with @ or `"),
    ("mapping values are not allowed", "a name above may miss its ':', or a value with ': ' needs quotes"),
    ("expected <block end>", "line up the fields of one block with the same number of spaces"),
    ("found another document", "keep one document: remove the second '---'"),
    ("could not determine a constructor", "remove the '!' tag: the jobs file takes plain values only"),
)


def _syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> JobsFileError:
    mark = exc.problem_mark or exc.context_mark
    line = f":{mark.line + 1}" if mark else ""
    problem = exc.problem or exc.context or "not valid YAML"
    if exc.context and exc.problem and exc.context_mark and mark and exc.context_mark.line != mark.line:
        problem += f" ({exc.context}, line {exc.context_mark.line + 1})"
    fix = next(
        (f for marker, f in _SYNTAX_FIXES if marker in problem), "check the indentation, colons and quotes"
    )
    return JobsFileError(f"{path}{line}: not valid YAML: {problem}", hint=fix)


# --- checks across fields ---------------------------------------------------------------------


def _check_jobs(jobs: JobsFile) -> None:
    """What no single field can say: alternatives set together, a job with nothing to transcribe."""
    blocks: list[tuple[Loc, JobSpec]] = [(("defaults",), jobs.defaults)]
    blocks += [(("jobs", name), spec) for name, spec in jobs.jobs.items()]
    for loc, block in blocks:
        for group in ALTERNATIVES:
            given = sorted((line_of(jobs.lines, (*loc, f)), f) for f in group if f in block.model_fields_set)
            if len(given) > 1:
                line, last = given[-1]
                raise JobsFileError(
                    f"{jobs.path}:{line}: {dotted((*loc, last))}: "
                    f"{' and '.join(f for _, f in given)} are alternatives",
                    hint=f"keep one of {', '.join(group)}",
                )
    for name in jobs.names:
        job = jobs.job(name)
        if not job.inputs:
            raise JobsFileError(
                f"{jobs.where(name)}: the job has no inputs",
                hint="list what to transcribe, e.g. inputs: [/srv/recordings/calls]",
            )
        if job.max_cost is not None and job.price_per_hour == 0:
            raise JobsFileError(
                f"{jobs.where(name, 'max_cost')}: max_cost needs a price_per_hour above 0",
                hint="e.g. price_per_hour: 1.0, or drop max_cost and use max_hours",
            )
