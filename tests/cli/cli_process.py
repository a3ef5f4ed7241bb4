"""Helpers for the CLI tests that run it as a process: the CLI as a real process, and what it left on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from batchscribe.emulator.synth import burst_samples, write_wav

FAST = ("--sdk-send-rate", "50")
REPO = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout's code, no key from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPEECH_", "AZURE_"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def batchscribe(*args: str | Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m batchscribe ARGS`` to its end; stdout and stderr are captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "batchscribe", *map(str, args)],
        env=cli_env(**env),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def recording(path: Path, seed: int = 1, seconds: float = 1.5) -> Path:
    return write_wav(path, burst_samples(seed, seconds))


def transcripts(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.json") if "_runs" not in p.parts and "_state" not in p.parts)


def last_summary(out: Path) -> dict[str, Any]:
    return json.loads(sorted((out / "_runs").glob("*/summary.json"))[-1].read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def in_ci() -> bool:
    """Whether this is CI (which runs as root, so every root-only test must run there)."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def planned(*inputs: Path, out: Path) -> dict[str, Any]:
    """What ``plan --json`` says the next run would do (a night with nothing to do leaves no summary)."""
    done = batchscribe("plan", *inputs, "--out", out, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = json.loads(done.stdout)
    return row  # type: ignore[no-any-return]


def leftovers(out: Path) -> list[Path]:
    """Temp files left behind (today's names and the older ``.<name>.<hex>.tmp``)."""
    return sorted(p for p in out.rglob(".*.tmp"))
