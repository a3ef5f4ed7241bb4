"""Finals read through the Speech SDK's private ctypes layer, fenced.

The SDK's Python wrapper builds a result object for every event it signals, reading all ~115
PropertyIds through ctypes (~0.9 ms per final, a fifth of a session's CPU with 32 sessions). A
final needs only its reason, offset, duration, text, JSON and speaker, so ``engines/azure.py``
subscribes to finals through the SDK's C API, with the wrapper's own ctypes bindings
(``interop``), and reads only those. Those bindings are private, so they are fenced here:

- every private name used is listed once (``PRIVATE_HELPERS``, ``PRIVATE_FUNCTIONS``) and
  checked when the engine module loads, the helpers' signatures too (``finals_path``);
- the native path is taken only for SDK versions this project has tested (``TESTED_SDK``);
- ``BATCHSCRIBE_NATIVE_FINALS=0`` turns it off;
- otherwise, or when any check fails, finals go through the SDK's public signals, and
  ``FinalsPath.describe()`` says which path is used and why (``doctor``, ``--verbose``).

No length limit may cut or drop text. The wrapper reads a result's text into 2,048 bytes: a
longer text is cut (mid-character for CJK, where its own decoding then raises and the phrase is
lost before any public callback sees it). Here the text buffer is sized from the result's JSON,
which holds the text, so it is read whole; on the public path the text comes from the JSON too
(``whole_text``), and a phrase the wrapper lost is noticed (``LostFinals``) so the recording
fails with a clear reason instead of being marked done without it.

This module does not import the SDK: ``engines/azure.py`` hands it the ``interop`` module.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import os
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from batchscribe.engines.session import Final

TESTED_SDK = ("1.53.",)  # version prefixes whose ctypes layer the integration tests ran natively
ENV_SWITCH = "BATCHSCRIBE_NATIVE_FINALS"  # 0/off/false/no: the public signals, whatever the SDK
WRAPPER_TEXT_BYTES = 2048  # what the wrapper reads of a result's text

# (name, positional parameters, keyword-only parameters) of the wrapper's helpers used here
PRIVATE_HELPERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("_call_hr_fn", (), ("fn",)),
    ("_call_string_function_and_free", (), ("fn",)),
    ("_release_if_valid", ("test_fn", "release_fn", "handle"), ()),
)
PRIVATE_TYPES = ("_sdk_lib", "_spx_handle")
PRIVATE_FUNCTIONS = (
    "recognizer_recognized_set_callback",
    "recognizer_recognition_event_get_result",
    "recognizer_event_handle_is_valid",
    "recognizer_event_handle_release",
    "recognizer_result_handle_is_valid",
    "recognizer_result_handle_release",
    "result_get_reason",
    "result_get_offset",
    "result_get_duration",
    "result_get_text",
    "result_get_property_bag",
    "property_bag_get_string",
    "property_bag_is_valid",
    "property_bag_release",
    "conversation_transcription_result_get_speaker_id",
)
PRIVATE_RECOGNIZER_HANDLE = "_handle"  # checked on each recognizer: without it, the public path


@dataclass(frozen=True)
class FinalsPath:
    """How finals are read with this SDK, and why."""

    native: bool
    sdk_version: str
    reason: str = ""  # why not native

    def describe(self) -> str:
        """E.g. "Speech SDK 1.53.0; finals: native", or "...; finals: public (why)"."""
        how = "native" if self.native else f"public ({self.reason})"
        return f"Speech SDK {self.sdk_version or 'unknown'}; finals: {how}"


def finals_path(interop: Any, sdk_version: str, environ: Mapping[str, str] = os.environ) -> FinalsPath:
    """Whether finals can be read natively with this ``interop`` module and SDK version."""
    if environ.get(ENV_SWITCH, "").strip().lower() in ("0", "off", "false", "no"):
        return FinalsPath(False, sdk_version, f"{ENV_SWITCH}={environ[ENV_SWITCH]}")
    if not sdk_version.startswith(TESTED_SDK):
        tested = ", ".join(f"{prefix}x" for prefix in TESTED_SDK)
        return FinalsPath(False, sdk_version, f"native finals are tested with SDK {tested} only")
    missing = [name for name in PRIVATE_TYPES if not hasattr(interop, name)]
    for name, positional, keyword in PRIVATE_HELPERS:
        helper = getattr(interop, name, None)
        if helper is None:
            missing.append(name)
        elif not _takes(helper, positional, keyword):
            missing.append(f"{name} (its parameters changed)")
    lib = getattr(interop, "_sdk_lib", None)
    if lib is not None:
        missing += [name for name in PRIVATE_FUNCTIONS if not _has_function(lib, name)]
    if missing:
        return FinalsPath(False, sdk_version, f"the SDK's ctypes layer lacks {', '.join(missing)}")
    return FinalsPath(True, sdk_version)


def _takes(function: Callable[..., Any], positional: tuple[str, ...], keyword: tuple[str, ...]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keywords = {p.name for p in parameters if p.kind == p.KEYWORD_ONLY}
    return names == list(positional) and set(keyword) <= keywords


def _has_function(lib: Any, name: str) -> bool:
    try:
        return getattr(lib, name, None) is not None
    except (AttributeError, OSError):  # a ctypes library raises when the symbol is absent
        return False


def whole_text(text: str, raw_json: str) -> str:
    """A final's display text, whole: the wrapper's ``text`` unless it may have been cut at its
    buffer, then the JSON's (``DisplayText``, or the best alternative's ``Display``)."""
    if len(text.encode("utf-8")) < WRAPPER_TEXT_BYTES - 1:
        return text
    try:
        data = json.loads(raw_json or "{}")
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    nbest = data.get("NBest")
    best = nbest[0] if isinstance(nbest, list) and nbest and isinstance(nbest[0], dict) else {}
    whole = data.get("DisplayText") or best.get("Display")
    return whole if isinstance(whole, str) and len(whole) >= len(text) else text


def text_buffer_bytes(raw_json: str) -> int:
    """Room for a result's text: its JSON holds the text, so the text is never longer."""
    return max(WRAPPER_TEXT_BYTES, len(raw_json.encode("utf-8"))) + 1


class NativeFinals:
    """Reads finals through the C API with ``interop`` (checked by ``finals_path``).

    ``callback`` is the C callback to register with ``subscribe``; it hands each final event to
    the Python handler its context points to. ``recognized``: the ResultReason values of a
    recognized phrase; ``json_property``: the PropertyId of the result's JSON."""

    def __init__(self, interop: Any, recognized: tuple[int, ...], json_property: int) -> None:
        self._interop = interop
        self._lib = interop._sdk_lib
        self._recognized = recognized
        self._json_property = ctypes.c_int(json_property)
        signature = ctypes.CFUNCTYPE(None, interop._spx_handle, interop._spx_handle, ctypes.c_void_p)
        self.callback = signature(self._on_event)  # lives as long as this object: keep it

    def subscribe(self, recognizer_handle: Any, handler: Callable[[Any], None] | None) -> Any:
        """Send the recognizer's finals to ``handler`` (None: stop); returns the context to keep
        alive while subscribed."""
        context = ctypes.py_object(handler) if handler is not None else None
        self._hr(self._lib.recognizer_recognized_set_callback, recognizer_handle,
                 self.callback if handler is not None else None, context)  # fmt: skip
        return context

    def read(self, event: Any, speaker: bool) -> Final | None:
        """The final result carried by a native recognized/transcribed event; None for NoMatch."""
        lib, interop = self._lib, self._interop
        result = interop._spx_handle(0)
        self._hr(lib.recognizer_recognition_event_get_result, event, ctypes.byref(result))
        try:
            reason, offset, duration = ctypes.c_int(0), ctypes.c_uint64(0), ctypes.c_uint64(0)
            self._hr(lib.result_get_reason, result, ctypes.byref(reason))
            if reason.value not in self._recognized:
                return None
            self._hr(lib.result_get_offset, result, ctypes.byref(offset))
            self._hr(lib.result_get_duration, result, ctypes.byref(duration))
            speaker_id = None
            if speaker:
                name = ctypes.create_string_buffer(1025)
                get_speaker = lib.conversation_transcription_result_get_speaker_id
                self._hr(get_speaker, result, name, ctypes.c_size_t(1025))
                speaker_id = name.value.decode("utf-8", "replace")
            raw = self._json(result)
            size = text_buffer_bytes(raw)
            text = ctypes.create_string_buffer(size)
            self._hr(lib.result_get_text, result, text, ctypes.c_uint32(size - 1))
            return Final(offset.value, duration.value, text.value.decode("utf-8", "replace"), raw, speaker_id)
        finally:
            interop._release_if_valid(lib.recognizer_result_handle_is_valid,
                                      lib.recognizer_result_handle_release, result)  # fmt: skip

    def _json(self, result: Any) -> str:
        lib, interop = self._lib, self._interop
        bag = interop._spx_handle(0)
        self._hr(lib.result_get_property_bag, result, ctypes.byref(bag))
        try:
            raw = interop._call_string_function_and_free(
                bag, self._json_property, None, b"", fn=lib.property_bag_get_string
            )
        finally:
            interop._release_if_valid(lib.property_bag_is_valid, lib.property_bag_release, bag)
        return str(raw or "")

    def _on_event(self, recognizer_handle: int, event_handle: int, context: int) -> None:
        """Called by the SDK on its thread; ``context`` points to the (guarded) handler."""
        event = self._interop._spx_handle(event_handle)
        try:
            ctypes.cast(context, ctypes.py_object).value(event)
        finally:
            self._interop._release_if_valid(self._lib.recognizer_event_handle_is_valid,
                                            self._lib.recognizer_event_handle_release, event)  # fmt: skip

    def _hr(self, function: Any, *args: Any) -> None:
        """Call a C function that returns an SPXHR; raise as the wrapper does when it failed."""
        self._interop._call_hr_fn(*args, fn=function)


class LostFinals:
    """Notices a final the SDK's wrapper lost on the public path (its own decoding raised in its
    callback, so Python reports it as "unraisable"), and tells the sessions it may belong to.

    ``watch(recognizer, on_lost)`` while a session runs; the hook finds the recognizer in the
    wrapper's callback frame when it can, else every watched session is told."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, Callable[[bool], None]] = {}
        self._previous: Callable[[Any], Any] | None = None

    def watch(self, recognizer: Any, on_lost: Callable[[bool], None]) -> Callable[[], None]:
        """Until the returned function is called, ``on_lost(certain)`` is called when a final of
        ``recognizer`` (``certain``) or of some watched recognizer (not ``certain``) is lost."""
        with self._lock:
            if sys.unraisablehook != self._hook:  # installed, or replaced since (test runners do)
                self._previous = sys.unraisablehook
                sys.unraisablehook = self._hook
            self._watched[id(recognizer)] = on_lost
        return lambda: self._unwatch(recognizer)

    def _unwatch(self, recognizer: Any) -> None:
        with self._lock:
            self._watched.pop(id(recognizer), None)

    def _hook(self, unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, UnicodeDecodeError) and _in_sdk(unraisable.exc_traceback):
            with self._lock:
                owner = _recognizer_in(unraisable.exc_traceback, self._watched)
                told = [self._watched[owner]] if owner is not None else list(self._watched.values())
            if told:
                for on_lost in told:
                    on_lost(owner is not None)
                return
        previous = self._previous or sys.__unraisablehook__
        previous(unraisable)


def _in_sdk(traceback: types.TracebackType | None) -> bool:
    while traceback is not None:
        if "cognitiveservices" in traceback.tb_frame.f_code.co_filename:
            return True
        traceback = traceback.tb_next
    return False


def _recognizer_in(traceback: types.TracebackType | None, watched: Mapping[int, object]) -> int | None:
    """The watched recognizer among the wrapper's callback frame's locals, if there is one."""
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            if id(value) in watched:
                return id(value)
        traceback = traceback.tb_next
    return None
