"""The fence around the SDK's private ctypes layer: every private name checked from one table,
the native path only for tested SDK versions, a switch to turn it off; text never cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from batchscribe.engines import sdk_native
from batchscribe.engines.sdk_native import (
    ENV_SWITCH,
    PRIVATE_FUNCTIONS,
    FinalsPath,
    finals_path,
    text_buffer_bytes,
    whole_text,
)

TESTED = "1.53.0"


def _call_hr_fn(*args: Any, fn: Any) -> None: ...
def _call_string_function_and_free(*args: Any, fn: Any) -> str: ...
def _release_if_valid(test_fn: Any, release_fn: Any, handle: Any) -> None: ...


def stub_interop(*, without: str = "", **replaced: Any) -> types.SimpleNamespace:
    """An ``interop`` module with every private name the native path uses, less ``without``."""
    lib = types.SimpleNamespace(**{name: object() for name in PRIVATE_FUNCTIONS if name != without})
    names: dict[str, Any] = {
        "_sdk_lib": lib, "_spx_handle": object, "_call_hr_fn": _call_hr_fn,
        "_call_string_function_and_free": _call_string_function_and_free,
        "_release_if_valid": _release_if_valid,
    }  # fmt: skip
    names.update(replaced)
    return types.SimpleNamespace(**{k: v for k, v in names.items() if k != without})


def test_the_complete_layer_of_a_tested_version_is_read_natively() -> None:
    assert finals_path(stub_interop(), TESTED, {}) == FinalsPath(True, TESTED)
    assert finals_path(stub_interop(), TESTED, {}).describe() == "Speech SDK 1.53.0; finals: native"


@pytest.mark.parametrize("missing", ["_call_hr_fn", "_spx_handle", "property_bag_release",
                                     "conversation_transcription_result_get_speaker_id"])  # fmt: skip
def test_a_missing_private_name_falls_back_to_the_public_signals(missing: str) -> None:
    path = finals_path(stub_interop(without=missing), TESTED, {})
    assert not path.native and missing in path.reason
    assert path.describe().startswith("Speech SDK 1.53.0; finals: public (the SDK's ctypes layer lacks ")


def test_a_helper_whose_parameters_changed_falls_back() -> None:
    def changed(handle: Any, test_fn: Any, release_fn: Any) -> None: ...

    path = finals_path(stub_interop(_release_if_valid=changed), TESTED, {})
    assert not path.native and "_release_if_valid (its parameters changed)" in path.reason


def test_an_untested_sdk_version_falls_back() -> None:
    path = finals_path(stub_interop(), "1.54.0", {})
    assert not path.native and path.reason == "native finals are tested with SDK 1.53.x only"


@pytest.mark.parametrize("value", ["0", "off", "False"])
def test_the_environment_switch_turns_the_native_path_off(value: str) -> None:
    path = finals_path(stub_interop(), TESTED, {ENV_SWITCH: value})
    assert not path.native and path.reason == f"{ENV_SWITCH}={value}"
    assert finals_path(stub_interop(), TESTED, {ENV_SWITCH: "1"}).native


def test_the_engine_module_takes_the_fences_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from batchscribe.engines import azure

    assert azure.FINALS_PATH.native == azure.NATIVE_FINALS
    assert finals_path(azure.interop, azure.speechsdk.__version__) == azure.FINALS_PATH


def test_a_cut_public_text_is_taken_whole_from_the_json() -> None:
    whole = "x" * 3000
    cut = whole[:2047]
    assert whole_text(cut, json.dumps({"DisplayText": whole})) == whole
    assert whole_text(cut, json.dumps({"NBest": [{"Display": whole}]})) == whole
    assert whole_text("short", json.dumps({"DisplayText": "other"})) == "short"  # not cut: as given
    assert whole_text(cut, "not json") == cut


def test_the_native_text_buffer_holds_any_text_its_json_holds() -> None:
    text = "我们" * 2000  # 12,000 bytes
    raw = json.dumps({"DisplayText": text}, ensure_ascii=False)
    assert text_buffer_bytes(raw) > len(text.encode())
    assert text_buffer_bytes("{}") == sdk_native.WRAPPER_TEXT_BYTES + 1


@pytest.mark.parametrize(("switch", "says"), [
    ("", "finals: native"),
    ("0", f"finals: public ({ENV_SWITCH}=0)"),
])  # fmt: skip
def test_doctor_and_verbose_say_the_sdk_version_and_the_finals_path(
    switch: str, says: str, tmp_path: Path
) -> None:
    from batchscribe.engines import azure

    env = {**os.environ, ENV_SWITCH: switch, "SPEECH_KEY": "", "AZURE_AI_SPEECH_KEY": "", "SPEECH_REGION": ""}
    doctor = subprocess.run([sys.executable, "-m", "batchscribe", "doctor", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    line = f"ok   speech sdk     Speech SDK {azure.speechsdk.__version__}; {says}"
    assert line in doctor.stdout.splitlines(), doctor.stdout
    (tmp_path / "in").mkdir()
    verbose = subprocess.run([sys.executable, "-m", "batchscribe", "run", str(tmp_path / "in"), "--emulate",
                              "--out", str(tmp_path / "out"), "-v"],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert sum(says in line for line in verbose.stderr.splitlines()) == 1, verbose.stderr
