"""Shared fixtures: synthetic recordings, the CLI runner, batchscribe as a child process, and the
real SDK against in-process emulators."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batchscribe.emulator import Emulator, ScriptPhrase, Transcripts
from batchscribe.emulator.faults import parse_recording_fault
from batchscribe.emulator.scripts import make_entry
from batchscribe.emulator.segmenter import find_segments
from batchscribe.emulator.synth import RATE, burst_samples, write_wav


def spans_samples(seed: int, pattern: Sequence[tuple[str, float]], rate: int = RATE) -> np.ndarray:
    """Noise bursts and silences in the given order and lengths: ``[("sil", 0.3), ("speech", 9.0)]``."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, seconds in pattern:
        count = int(seconds * rate)
        if kind == "sil":
            parts.append(np.zeros(count))
        else:
            envelope = np.sin(np.linspace(0, np.pi, count)) ** 0.2
            parts.append(rng.normal(0, 0.25, count) * envelope)
    return (np.clip(np.concatenate(parts), -1, 1) * 32767).astype(np.int16)


__all__ = ["KEY", "Batchscribe", "Recordings", "burst_samples", "spans_samples", "write_wav"]
KEY = "k" * 32  # a key-shaped test key: what a host-mode run sends; never a real one


class Recordings:
    """Makes recordings and the emulator script that says what is in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.transcripts = Transcripts()
        self.texts: dict[str, str] = {}

    def add(
        self,
        rel: str,
        seed: int,
        text: str | Sequence[ScriptPhrase] | None = None,
        *,
        seconds: float = 4.0,
        faults: Sequence[str] = (),
        samples: np.ndarray | None = None,
    ) -> Path:
        """A recording of bursts; ``text`` is its whole transcript, or its phrases in order.

        Phrases without a ``start`` are placed one per burst the emulator's segmenter finds, so
        each comes back as its own recognized phrase with its own speaker, language and words.
        ``samples`` (16-bit, 16 kHz) replaces the bursts made from ``seed`` and ``seconds``.
        """
        samples = burst_samples(seed, seconds) if samples is None else samples
        path = write_wav(self.root / rel, samples)
        floats = samples.astype(np.float32) / 32768
        if text is None or isinstance(text, str):
            text = text if text is not None else f"Recording number {seed} says hello."
            phrases = [ScriptPhrase(text=text)]
        else:
            phrases = self._placed(list(text), find_segments(floats, RATE), rel)
        entry = make_entry(
            entry_id=rel, source=rel, samples=floats, sample_rate=RATE, phrases=phrases,
            faults=[parse_recording_fault(f) for f in faults],
        )  # fmt: skip
        self.transcripts = self.transcripts.with_entry(entry)
        self.texts[rel] = " ".join(p.text for p in phrases)
        return path

    @staticmethod
    def _placed(
        phrases: list[ScriptPhrase], segments: Sequence[tuple[float, float]], rel: str
    ) -> list[ScriptPhrase]:
        if any(p.start is not None for p in phrases):
            return phrases
        if len(segments) < len(phrases):
            raise ValueError(f"{rel}: {len(phrases)} phrases but only {len(segments)} bursts; make it longer")
        return [replace(p, start=start, end=end) for p, (start, end) in zip(phrases, segments, strict=False)]

    def save(self, path: Path) -> Path:
        self.transcripts.save(path)
        return path


@pytest.fixture(name="recordings")
def recordings_fixture(tmp_path: Path) -> Recordings:
    return Recordings(tmp_path / "recordings")


@pytest.fixture(name="refused_port")
def refused_port_fixture() -> Iterator[int]:
    """A 127.0.0.1 port that refuses connections for the whole test: bound and never listening,
    so no emulator started meanwhile (by this test run or any other process) can take it."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@pytest.fixture(name="cli")
def cli_fixture() -> CliRunner:
    return CliRunner()


@pytest.fixture(name="emulator_for")
def emulator_for_fixture() -> Iterator[object]:
    """Start emulators with given transcripts/faults; all are stopped at the end of the test."""
    started: list[Emulator] = []

    def start(recordings: Recordings | None = None, **kwargs: object) -> Emulator:
        transcripts = recordings.transcripts if recordings is not None else None
        emulator = Emulator(transcripts=transcripts, **kwargs).start()  # type: ignore[arg-type]
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


class Batchscribe:
    """``python -m batchscribe`` as a child process, as cron or a shell runs it."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    @staticmethod
    def command(*args: str) -> list[str]:
        return [sys.executable, "-m", "batchscribe", *args]

    @staticmethod
    def env(**extra: str) -> dict[str, str]:
        """This environment with a test key (``SPEECH_KEY``) and ``extra``."""
        return {**os.environ, "SPEECH_KEY": KEY, **extra}

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Started with stdout and stderr merged into ``process.stdout``; stopped at the test's end."""
        process = subprocess.Popen(
            self.command(*args), env=self.env() if env is None else env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.started.append(process)
        return process

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env=self.env() if env is None else env, capture_output=True, text=True,
            timeout=timeout, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    @staticmethod
    def read_until(process: subprocess.Popen[str], done: Callable[[list[str]], bool]) -> list[str]:
        """Lines of its output until ``done(lines so far)`` holds (or the output ends)."""
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if done(lines):
                break
        return lines


@pytest.fixture(name="batchscribe")
def batchscribe_fixture() -> Iterator[Batchscribe]:
    runner = Batchscribe()
    yield runner
    for process in runner.started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
