"""Every command starts fast: importing the CLI loads none of the heavy libraries (PyAV, numpy,
the Speech SDK, the emulator's websocket server); each is imported where it is used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("av", "numpy", "azure.cognitiveservices.speech", "websockets")


def _loaded_after(statement: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after ``statement``, in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import batchscribe.cli") == []


def test_help_and_report_load_no_heavy_library(tmp_path: Path) -> None:
    commands = [["--help"], ["report", "--help"], ["run", "--help"], ["report", "--out", str(tmp_path)]]
    statement = (
        "import contextlib\n"
        "from batchscribe.cli import app\n"
        f"for argv in {commands!r}:\n"
        "    with contextlib.suppress(SystemExit):\n"
        "        app(argv, prog_name='batchscribe')\n"
    )
    assert _loaded_after(statement) == []
