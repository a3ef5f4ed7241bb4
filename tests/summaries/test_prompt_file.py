"""``--summary-prompt FILE`` that is not a plain, small UTF-8 file: one line naming the problem
(a usage error, exit 2), never a hang on a FIFO or a device, never a prompt of megabytes sent
with every transcript."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from batchscribe.config.resolve import CommandLine
from batchscribe.config.schema import JobSpec
from batchscribe.config.summaries import MAX_PROMPT_BYTES, resolve_summaries
from batchscribe.errors import UsageError

OPENAI = {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com", "AZURE_OPENAI_DEPLOYMENT": "gpt"}


def resolve_with_prompt(path: Path) -> None:
    spec = JobSpec.model_validate({"summarize": True, "summary_prompt": str(path)})
    resolve_summaries(spec, CommandLine(), OPENAI)


def resolved_in_thread(path: Path) -> BaseException | None:
    """The error ``resolve_with_prompt`` raised, waited for on a daemon thread: a hang fails the
    test instead of holding up the suite."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            resolve_with_prompt(path)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert outcome, f"reading the prompt {path} hung"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_as_prompt_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "prompt.fifo"
    os.mkfifo(fifo)

    error = resolved_in_thread(fifo)

    assert isinstance(error, UsageError) and "not a regular file" in error.message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_as_prompt_is_refused_without_reading_it() -> None:
    error = resolved_in_thread(Path("/dev/zero"))

    assert isinstance(error, UsageError) and "not a regular file" in error.message


def test_a_folder_as_prompt_is_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--summary-prompt: cannot read the prompt file"):
        resolve_with_prompt(tmp_path)


def test_a_huge_prompt_is_refused_with_the_limit(tmp_path: Path) -> None:
    huge = tmp_path / "huge.md"
    huge.write_text("Summarize. " * (MAX_PROMPT_BYTES // 5))

    with pytest.raises(UsageError, match=f"is over {MAX_PROMPT_BYTES:,} bytes"):
        resolve_with_prompt(huge)


def test_a_prompt_at_the_limit_is_read_whole(tmp_path: Path) -> None:
    prompt = tmp_path / "p.md"
    prompt.write_text("é" * (MAX_PROMPT_BYTES // 2))
    spec = JobSpec.model_validate({"summarize": True, "summary_prompt": str(prompt)})

    resolved = resolve_summaries(spec, CommandLine(), OPENAI)

    assert resolved is not None and resolved.prompt == "é" * (MAX_PROMPT_BYTES // 2)
