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
import itertools
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from batchscribe.config.explain import dotted, explain, line_of
from batchscribe.config.resolve import check_spec, option_name, resolve_settings
from batchscribe.config.schema import (
    ALTERNATIVES,
    JobsFileSpec,
    JobSpec,
    Loc,
    alternatives_set,
    overlay,
    show,
)
from batchscribe.config.settings import RunSettings
from batchscribe.errors import JobsFileError, UsageError
from batchscribe.secrets import is_credential_field, looks_like_key

__all__ = ["JobOrigin", "JobSpec", "JobsFile", "check_outputs_apart", "job_settings", "load_jobs"]

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
        return overlay(self.defaults, job)

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


def job_settings(
    jobs: JobsFile,
    name: str,
    *,
    env: Mapping[str, str] | None = None,
    command_line: JobSpec | None = None,
    credentials: bool = True,
) -> RunSettings:
    """Everything one job's run needs: the options given on the command line over the job's
    fields over the defaults, paths resolved, the phrase list and (with ``credentials``) the key read."""
    spec, origin = jobs.job(name), JobOrigin(jobs, name)
    if command_line is not None:
        spec = overlay(spec, command_line)
        origin = JobOrigin(jobs, name, frozenset(command_line.model_fields_set))
    return resolve_settings(spec, origin, env=env, credentials=credentials)


@dataclass(frozen=True)
class JobOrigin:
    """The fields of one job: from the jobs file, except those given on the command line."""

    jobs: JobsFile
    job: str
    command_line: frozenset[str] = frozenset()

    def _given(self, field_name: str | None) -> bool:
        return field_name is not None and field_name in self.command_line

    def where(self, field: str | None = None) -> str:
        return option_name(field) if field and self._given(field) else self.jobs.where(self.job, field)

    def spell(self, field: str) -> str:
        return option_name(field) if self._given(field) else field

    def example(self, field: str, value: str) -> str:
        return f"{option_name(field)} {value}" if self._given(field) else f"{field}: {value}"

    def path(self, field: str, value: str) -> Path:
        return Path(value) if self._given(field) else self.jobs.resolve(value)

    def error(self, field: str | None, message: str, hint: str) -> UsageError:
        if field and self._given(field):
            return UsageError(f"{option_name(field)}: {message}", hint=hint)
        return JobsFileError(f"{self.jobs.where(self.job, field)}: {message}", hint=hint)


# --- reading and parsing ----------------------------------------------------------------------


MAX_JOBS_FILE_BYTES = 1_000_000  # hundreds of jobs fit in 100 KB; parsing 50 MB took minutes and GBs


def _read(path: Path) -> str:
    try:
        raw = _bounded_read(path, MAX_JOBS_FILE_BYTES)
    except ValueError as exc:
        raise JobsFileError(f"{path}: {exc}", hint="point --jobs at the jobs file itself") from exc
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


def _bounded_read(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ValueError saying what else it is.
    Opened without blocking, so a FIFO is refused instead of waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file (a FIFO, device or folder?)")
        raw = file.read(limit + 1)
    if len(raw) > limit:
        raise ValueError(f"the jobs file is larger than {limit / 1e6:g} MB, far more than any needs")
    return raw


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
        for given in alternatives_set(block):
            by_line = sorted((line_of(jobs.lines, (*loc, f)), f) for f in given)
            line, last = by_line[-1]
            group = next(g for g in ALTERNATIVES if set(given) <= set(g))
            raise JobsFileError(
                f"{jobs.path}:{line}: {dotted((*loc, last))}: "
                f"{' and '.join(f for _, f in by_line)} are alternatives",
                hint=f"keep one of {', '.join(group)}",
            )
    for name in jobs.names:
        check_spec(jobs.job(name), JobOrigin(jobs, name))
    check_outputs_apart(jobs, jobs.names)


def check_outputs_apart(jobs: JobsFile, names: Iterable[str], command_line: JobSpec | None = None) -> None:
    """Two jobs writing into one output folder (or one inside the other) would share its state and
    mirror ``A/x.wav`` and ``B/x.wav`` onto the same ``x.wav.txt``: each night would redo both and
    keep one. Refused, naming both jobs, before anything runs."""
    given = frozenset(command_line.model_fields_set) if command_line is not None else frozenset()
    outs: list[tuple[tuple[str, ...], str]] = []
    for name in names:
        spec = jobs.job(name) if command_line is None else overlay(jobs.job(name), command_line)
        outs.append((JobOrigin(jobs, name, given).path("out", spec.out).expanduser().resolve().parts, name))
    # Sorted by their parts, a folder comes right before what is inside it: neighbours tell.
    outs.sort()
    for (out, name), (next_out, other) in itertools.pairwise(outs):
        if next_out[: len(out)] != out:
            continue
        how = "the same output folder" if out == next_out else "output folders inside each other"
        first, second = sorted((name, other), key=jobs.names.index)
        where = "--out" if "out" in given else jobs.where(second, "out")
        raise JobsFileError(
            f"{where}: jobs {first!r} and {second!r} write to {how} ({Path(*out)}, {Path(*next_out)}): "
            "their recordings would overwrite each other's transcripts",
            hint=f"give each job its own out, e.g. out: {Path(*out).parent / second}",
        )
