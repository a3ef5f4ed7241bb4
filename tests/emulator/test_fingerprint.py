"""Fingerprints: the same sound matches whatever its rate, other sounds do not, replays are ignored."""

from __future__ import annotations

import numpy as np

from batchscribe.emulator import fingerprint
from tests.emulator.helpers import RATE, resample, tone_pcm

PATTERN = [("sil", 0.4), ("tone", 1.2), ("sil", 0.5), ("noise", 2.0), ("sil", 0.7), ("tone", 4)]


def test_the_same_recording_at_8_khz_is_near_and_another_is_far() -> None:
    original = tone_pcm(PATTERN).astype(np.float32)
    narrow = resample(original, RATE, 8_000).astype(np.float32)
    other = tone_pcm([("tone", 2), ("sil", 1.5), ("noise", 5)], seed=3).astype(np.float32)
    reference = fingerprint.envelope_of(original, RATE)
    assert reference.size == fingerprint.WINDOWS
    assert fingerprint.distance(fingerprint.envelope_of(narrow, 8_000), reference) < 1.5
    assert fingerprint.distance(fingerprint.envelope_of(other, RATE), reference) > 2 * fingerprint.TOLERANCE_DB


def test_a_small_delay_like_codec_priming_is_tolerated() -> None:
    original = tone_pcm(PATTERN).astype(np.float32)
    delayed = np.concatenate([np.zeros(int(0.045 * RATE), dtype=np.float32), original])
    reference = fingerprint.envelope_of(original, RATE)
    assert fingerprint.distance(fingerprint.envelope_of(delayed, RATE), reference) < 1.5


def test_replayed_audio_does_not_change_the_envelope() -> None:
    samples = tone_pcm(PATTERN).astype(np.float32)
    builder = fingerprint.FingerprintBuilder(RATE)
    builder.feed(0, samples[: 3 * RATE])
    builder.feed(RATE, samples[RATE:])  # a reconnect replays from 1 s
    assert np.array_equal(builder.envelope(), fingerprint.envelope_of(samples, RATE))
    assert builder.complete and builder.high_water == samples.size


def test_stored_form_round_trips_within_half_a_decibel() -> None:
    envelope = fingerprint.envelope_of(tone_pcm(PATTERN).astype(np.float32), RATE)
    decoded = fingerprint.decode(fingerprint.encode(envelope))
    assert np.max(np.abs(decoded - envelope)) <= 0.25 + 1e-9
    assert fingerprint.digest(decoded) == fingerprint.digest(decoded.copy())
