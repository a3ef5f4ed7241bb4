#!/usr/bin/env python3
"""How fast does the adaptive limiter reach 96 sessions when the service admits them all?

Runs ``--sessions`` worker threads, each opening real Speech SDK sessions (file AudioConfig on a
``--seconds``-long synthetic WAV, ``recognized`` and ``session_stopped`` only) through one
``AdaptiveLimiter`` against the emulator in its own process with no session limit. Each
session's connect time (``Connection.connected``) goes to the limiter's ``connected(seconds)``;
a TooManyRequests/ServiceUnavailable cancellation to ``throttled_by_service()``. It prints the
time until ``--sessions`` sessions are connected at once, for:

- ``old``: the ramp before issue 14 (one more slot per admission faster than 0.25 s, and a
  connection slower than 0.75 s taken for throttling: the limit halved);
- ``new``: ``resources/limiter.py`` now (two slots per prompt admission; slow connections hold
  the ramp, only the service's answers halve it).

Both run in the same process, one after the other, against the same emulator. Target: the new
ramp reaches the sessions within **5 s**; the ratio old/new is printed.

    python bench/bench_ramp.py [--sessions 96] [--seconds 40] [--limit-s 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import azure.cognitiveservices.speech as speechsdk
from _common import burst_samples, emulator_process, write_wav

from batchscribe.cancel import CancelToken
from batchscribe.resources.limiter import AdaptiveLimiter

TARGET_S = 5.0
THROTTLED = ("TooManyRequests", "ServiceUnavailable")


class OldRamp(AdaptiveLimiter):
    """The limiter's behaviour before issue 14, as the engine drove it (bench only)."""

    def connected(self, seconds: float) -> None:
        if seconds >= 0.75:
            self.throttled_by_service()
        elif seconds < 0.25 and self.slow_start:
            with self._cond:
                self._set(self.limit + 1)


@dataclass
class Outcome:
    name: str
    reached_s: float | None
    peak_open: int
    limit: int
    throttled: int
    delayed: int
    sessions: int

    def __str__(self) -> str:
        reached = f"{self.reached_s:5.2f} s" if self.reached_s is not None else "   never"
        return (f"{self.name:>3}: {reached} to the target; peak {self.peak_open:3d} open, limit {self.limit:3d}, "
                f"{self.throttled} throttled, {self.delayed} delayed connects, {self.sessions} sessions")  # fmt: skip


class Ramp:
    """Worker threads opening sessions through one limiter; counts sessions connected at once."""

    def __init__(self, url: str, wav: Path, limiter: AdaptiveLimiter, target: int) -> None:
        self.url = url
        self.wav = wav
        self.limiter = limiter
        self.target = target
        self.cancel = CancelToken()
        self.lock = threading.Lock()
        self.open = 0
        self.peak_open = 0
        self.sessions = 0
        self.reached = threading.Event()

    def run(self, workers: int, limit_s: float) -> float | None:
        threads = [threading.Thread(target=self.work, daemon=True) for _ in range(workers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        reached = self.reached.wait(limit_s)
        elapsed = time.perf_counter() - started
        self.cancel.cancel("bench over")
        for thread in threads:
            thread.join(60)
        return elapsed if reached else None

    def work(self) -> None:
        while not self.cancel.is_cancelled():
            with self.limiter.slot(self.cancel) as acquired:
                if acquired:
                    self.session()

    def session(self) -> None:
        config = speechsdk.SpeechConfig(host=self.url, subscription="bench")
        audio = speechsdk.audio.AudioConfig(filename=str(self.wav))
        recognizer = speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio)
        connection = speechsdk.Connection.from_recognizer(recognizer)
        done = threading.Event()
        state = {"connected": False, "throttled": False}
        began = time.perf_counter()

        def connected(evt: object) -> None:
            if not state["connected"]:
                state["connected"] = True
                self.limiter.connected(time.perf_counter() - began)
                with self.lock:
                    self.open += 1
                    self.sessions += 1
                    self.peak_open = max(self.peak_open, self.open)
                    if self.open >= self.target:
                        self.reached.set()

        def canceled(evt: speechsdk.SpeechRecognitionCanceledEventArgs) -> None:
            code = getattr(evt.cancellation_details.code, "name", "")
            state["throttled"] = code in THROTTLED

        connection.connected.connect(connected)
        recognizer.recognized.connect(lambda evt: None)
        recognizer.canceled.connect(canceled)
        recognizer.session_stopped.connect(lambda evt: done.set())
        unregister = self.cancel.on_cancel(done.set)
        recognizer.start_continuous_recognition_async()
        done.wait(120)
        unregister()
        if state["connected"]:
            with self.lock:
                self.open -= 1
        if state["throttled"]:
            self.limiter.throttled_by_service()
        else:
            self.limiter.succeeded()
        stopped = recognizer.stop_continuous_recognition_async()
        stopped.get()
        for signal in (
            connection.connected,
            recognizer.recognized,
            recognizer.canceled,
            recognizer.session_stopped,
        ):
            signal.disconnect_all()
        del recognizer, connection, audio, config


def measure(name: str, limiter: AdaptiveLimiter, url: str, wav: Path, args: argparse.Namespace) -> Outcome:
    ramp = Ramp(url, wav, limiter, args.sessions)
    reached = ramp.run(args.sessions, args.limit_s)
    return Outcome(name, reached, ramp.peak_open, limiter.peak_limit, limiter.throttled, limiter.delayed_connects,
                   ramp.sessions)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=96)
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="length of the recording each session sends"
    )
    parser.add_argument("--limit-s", type=float, default=60.0, help="give a ramp up after this long")
    parser.add_argument("--only", choices=("old", "new"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ramp-") as folder:
        wav = write_wav(Path(folder) / "session.wav", burst_samples(7, args.seconds))
        with emulator_process() as (url, totals):
            outcomes = []
            kinds = [args.only] if args.only else ["old", "new"]
            for kind in kinds:
                limiter = (OldRamp if kind == "old" else AdaptiveLimiter)(args.sessions, start=1)
                outcomes.append(measure(kind, limiter, url, wav, args))
                print(outcomes[-1], flush=True)
    print(f"emulator: {totals.get('connections')} connections, {totals.get('rejected')} rejected")
    by_name = {o.name: o for o in outcomes}
    new, old = by_name.get("new"), by_name.get("old")
    if new is not None and old is not None and new.reached_s and old.reached_s:
        print(f"old/new time to {args.sessions} sessions: {old.reached_s / new.reached_s:.1f}x")
    if new is None:
        return 0
    ok = new.reached_s is not None and new.reached_s <= TARGET_S and new.throttled == 0
    print(f"new ramp: {'met' if ok else 'missed'} the target of {args.sessions} sessions within {TARGET_S:.0f} s, "
          "nothing taken for throttling")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
