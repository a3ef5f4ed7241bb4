"""Fixtures for the emulator tests: generated recordings and a running emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from batchscribe.emulator import Emulator
from tests.emulator.helpers import RATE, resample, tone_pcm, write_wav


@pytest.fixture(name="make_wav")
def fixture_make_wav(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(
        pattern: Sequence[tuple[str, float]], *, rate: int = RATE, seed: int = 0, name: str | None = None
    ) -> Path:
        path = tmp_path / (name or f"rec{next(counter)}.wav")
        return write_wav(
            path,
            tone_pcm(pattern, RATE, seed)
            if rate == RATE
            else resample(tone_pcm(pattern, RATE, seed), RATE, rate),
            rate,
        )

    return make


@pytest.fixture(name="emulator")
def fixture_emulator() -> Iterator[Emulator]:
    """A default emulator (no scripts, no faults) on a free port."""
    with Emulator() as emu:
        yield emu
