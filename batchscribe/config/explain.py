"""Turning pydantic's validation errors about a ``JobSpec`` into one line a user can act on.

``explain`` names the jobs file's line and dotted field (``jobs.calls.language``); ``explain_option``
names the command-line option. Each line says what the value must be (the field's description)
and an example of the fix, from ``batchscribe.config.schema``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from batchscribe.config.schema import (
    EXAMPLE_HINT,
    FILE_FIELDS,
    SECONDS_FIELDS,
    JobSpec,
    Loc,
    ResourceSpec,
    show,
)


def field_help(name: str) -> tuple[str, str]:
    """(what the field must be, a YAML example value) for error lines; ``("", "")`` if unknown."""
    info = JobSpec.model_fields.get(name)
    if info is None:
        return "", ""
    extra = info.json_schema_extra
    example = extra.get("example", "") if isinstance(extra, dict) else ""
    return info.description or "", str(example)


# --- how errors read ----------------------------------------------------------------------------


def explain(exc: ValidationError, lines: Mapping[Loc, int]) -> tuple[int, str, str]:
    """The first problem by line as (line, 'field: what is wrong', fix); the others are counted."""
    problems = [(_problem(err, lines), err["type"] == "missing") for err in exc.errors(include_url=False)]
    problems.sort(key=lambda p: (p[1], p[0][0]))  # a misspelt `jobs:` beats "no jobs"
    line, message, fix = problems[0][0]
    if len(problems) > 1:
        more = len(problems) - 1
        fix += f"; {more} more problem{'s' if more > 1 else ''} in this file"
    return line, message, fix


def _problem(err: ErrorDetails, lines: Mapping[Loc, int]) -> tuple[int, str, str]:
    raw = tuple(err["loc"])
    on_key = bool(raw) and raw[-1] == "[key]"
    loc: Loc = tuple(p for p in raw if p != "[key]")
    line, where, value, kind = line_of(lines, loc), dotted(loc), err.get("input"), err["type"]
    name, depth = _field_of(loc)
    must, example = field_help(name)
    fix = f"e.g. {name}: {example}" if example else EXAMPLE_HINT

    in_resource = name == "resources" and len(loc) > depth + 2
    if kind in ("extra_forbidden", "invalid_key"):
        fields = ResourceSpec.model_fields if in_resource else JobSpec.model_fields
        known = FILE_FIELDS if len(loc) == 1 else tuple(fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return line, f"{where}: unknown field", f"did you mean {close[0]}?"
        if len(loc) == 1 and loc[0] in JobSpec.model_fields:
            return line, f"{where}: a job field at the top level", "put it under defaults: or under one job"
        return line, f"{where}: unknown field", EXAMPLE_HINT
    if in_resource:  # a field of one resource: pydantic's words, the resources example as the fix
        text = err["ctx"]["error"] if kind == "value_error" else err["msg"].lower()
        return line, f"{where}: {text}, got {show(value)}", fix
    if loc == ("jobs",):
        if kind == "missing" or not value:
            line = 0 if kind == "missing" else line  # a missing section has no line of its own
            return line, "jobs: lists no jobs", "add one, e.g. jobs: {calls: {inputs: [/srv/calls]}}"
        fix = "write each job as NAME: with its fields indented below it"
        return line, f"jobs: must map each job's name to its fields, got {show(value)}", fix
    if on_key:
        return line, f"{where}: a job name must be letters, digits, '-', '_' or '.'", "e.g. night-calls"
    if not name:  # the defaults block or a whole job is not a mapping
        if loc and loc[-1] in JobSpec.model_fields:
            fix = f"{loc[-1]} is a job field, not a job: put it under defaults: or under one job"
        return line, f"{where}: must be a mapping of job fields, got {show(value)}", fix
    if kind == "value_error":
        return line, f"{where}: {err['ctx']['error']}", fix
    if kind in _TOO_BIG:
        return line, f"{where}: {_too_big(name, err)}", fix
    if name == "quality" and len(loc) > depth + 1:  # one threshold, not the block: pydantic's words
        text = err["msg"].lower().replace("input should be", "must be")
        return line, f"{where}: {text}, got {show(value)}", fix
    if kind == "string_type" and value is not None and not isinstance(value, list | dict):
        must = "text" if len(loc) > depth + 1 else must  # an item of a list
        fix = f"put it in quotes, since YAML reads yes/no/on/off as true/false and digits as numbers; {fix}"
    return line, f"{where}: must be {must}, got {show(value)}" if must else f"{where}: {err['msg']}", fix


def explain_option(exc: ValidationError) -> tuple[str, str, str]:
    """The first problem of a spec built from command-line options, as (field, what is wrong,
    an example value); the caller names the option the field came from."""
    err = exc.errors(include_url=False)[0]
    name = str(err["loc"][0]) if err["loc"] else ""
    must, example = field_help(name)
    if err["type"] == "value_error":
        message = str(err["ctx"]["error"])
    elif err["type"] in _TOO_BIG:
        message = _too_big(name, err)
    else:
        message = f"must be {must}, got {show(err.get('input'))}" if must else err["msg"]
    return name, message, example


_TOO_BIG = ("less_than_equal", "less_than")


def _too_big(name: str, err: ErrorDetails) -> str:
    ctx = err.get("ctx", {})
    limit = float(ctx.get("le", ctx.get("lt", 0)))
    most = f"{limit / 3600:g}h" if name in SECONDS_FIELDS else f"{limit:g}"
    return f"must be at most {most}, got {show(err.get('input'))}"


def _field_of(loc: Loc) -> tuple[str, int]:
    """The job field a loc is about, and where: ``('jobs', 'calls', 'formats', 1)`` -> ``('formats', 2)``."""
    at = {"defaults": 1, "jobs": 2}.get(str(loc[0]), len(loc)) if loc else 0
    return (str(loc[at]), at) if len(loc) > at else ("", at)


def line_of(lines: Mapping[Loc, int], loc: Loc) -> int:
    """The line of ``loc``, or of its nearest ancestor the file spells out (0: the whole file)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 0


def dotted(loc: Loc) -> str:
    """``('jobs', 'calls', 'formats', 1)`` -> ``jobs.calls.formats[1]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
