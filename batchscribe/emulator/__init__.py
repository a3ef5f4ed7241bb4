"""A local stand-in for the Azure Speech service: a websocket server speaking USP.

The real Speech SDK runs against it (``SpeechConfig(host=emulator.url, subscription="any")``)
so integration tests, benchmarks and ``batchscribe run --emulate`` need no Azure account. It
answers with scripted text (``scripts.py``: recordings found by the fingerprint of their sound),
paces answers like the service (``speed``), breaks on purpose (``faults.py``) and reports what it
saw (``stats.py``). Modules: ``usp`` framing, ``segmenter`` energy detector, ``fingerprint``,
``answers``/``render`` what to say, ``turns``/``connection``/``server`` the protocol, ``auth``
keys and bearer tokens, ``runtime`` the in-process ``Emulator``, ``cli`` the ``batchscribe
emulator`` commands. Its REST side (``rest``, ``apis``) serves Azure's HTTP APIs on
``Emulator.rest_url``: ``fast_api`` the fast transcription API, from the same scripts, speed and
faults.
"""

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
