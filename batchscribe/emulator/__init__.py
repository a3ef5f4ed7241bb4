"""A local stand-in for the Azure Speech service: a websocket server speaking USP.

The real Speech SDK runs against it (``SpeechConfig(host=emulator.url, subscription="any")``)
so integration tests, benchmarks and ``batchscribe run --emulate`` need no Azure account. It
answers with scripted text (``scripts.py``: recordings found by the fingerprint of their sound),
paces answers like the service (``speed``), breaks on purpose (``faults.py``) and reports what it
saw (``stats.py``). Modules: ``usp`` framing, ``segmenter`` energy detector, ``fingerprint``,
``answers``/``render`` what to say, ``turns``/``connection``/``server`` the protocol, ``auth``
keys and bearer tokens, ``runtime`` the in-process ``Emulator``, ``defaults`` what its commands
declare. The ``batchscribe emulator`` commands are in ``cli/emulator.py``.

The public names load on first use (PEP 562 ``__getattr__``, from ``_WHERE``): the CLI imports
``emulator.defaults`` and must start without numpy and websockets. Its REST side (``rest``, ``apis``)
serves Azure's HTTP APIs on ``Emulator.rest_url``: ``fast_api`` the fast transcription API,
``openai_api`` chat completions, from the same scripts, speed and faults.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from batchscribe.emulator.auth import BearerTokens
    from batchscribe.emulator.faults import Fault, FaultSpecError, load_faults_file, parse_fault
    from batchscribe.emulator.runtime import Emulator
    from batchscribe.emulator.scripts import (
        ScriptEntry,
        ScriptPhrase,
        Transcripts,
        TranscriptsFileError,
    )
    from batchscribe.emulator.segmenter import SegmenterConfig
    from batchscribe.emulator.stats import RecordingStats, RequestRecord, SessionStats, Snapshot

_WHERE = {
    "BearerTokens": "auth",
    "Fault": "faults",
    "FaultSpecError": "faults",
    "load_faults_file": "faults",
    "parse_fault": "faults",
    "Emulator": "runtime",
    "ScriptEntry": "scripts",
    "ScriptPhrase": "scripts",
    "Transcripts": "scripts",
    "TranscriptsFileError": "scripts",
    "SegmenterConfig": "segmenter",
    "RecordingStats": "stats",
    "RequestRecord": "stats",
    "SessionStats": "stats",
    "Snapshot": "stats",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "BearerTokens",
    "Emulator",
    "Fault",
    "FaultSpecError",
    "RecordingStats",
    "RequestRecord",
    "ScriptEntry",
    "ScriptPhrase",
    "SegmenterConfig",
    "SessionStats",
    "Snapshot",
    "Transcripts",
    "TranscriptsFileError",
    "load_faults_file",
    "parse_fault",
]
