"""The real service's answers our emulator never gives, from a small local HTTP server (real
httpx, real sockets): 200s lacking optional fields or holding odd values, error bodies of other
shapes, statuses with and without bodies, cut and trickling answers. Each must map to the right
failure class (transient / permanent with the service's words / fatal), never an internal error."""

from __future__ import annotations

import errno
import json
import math
import resource
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import numpy as np
import pytest

from batchscribe.audio import probe
from batchscribe.cancel import CancelToken
from batchscribe.emulator.synth import write_wav
from batchscribe.engines.base import RecognitionOptions, RecognitionRequest, Transcript
from batchscribe.engines.fast import FastEngine
from batchscribe.engines.fast_body import Upload, _exactly
from batchscribe.engines.fast_errors import error_from_response
from batchscribe.engines.fast_mapping import FastLimits
from batchscribe.errors import (
    EngineError,
    FatalEngineError,
    FileError,
    PermanentEngineError,
    TransientEngineError,
)

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parents[2] / "fixtures" / "formats"

Handler = Callable[[socket.socket], None]


@dataclass(frozen=True)
class _Endpoint:
    url: str
    kind: str = "endpoint"
    key: str = "secret-key-123456"
    region: str = ""
    entra: bool = False
    tokens: None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.key,)


def _read_request(conn: socket.socket) -> None:
    """Read one whole request (headers, then Content-Length bytes of body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        block = conn.recv(65536)
        if not block:
            return
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    left = length - len(body)
    while left > 0:
        block = conn.recv(min(65536, left))
        if not block:
            return
        left -= len(block)


@pytest.fixture
def server() -> Iterator[Callable[[Handler], str]]:
    """``serve(handler)`` -> the base URL of a server calling ``handler(conn)`` per connection
    after reading the request."""
    sockets: list[socket.socket] = []
    stop = threading.Event()

    def serve(handler: Handler) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        sockets.append(listener)

        def loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                with conn:
                    try:
                        _read_request(conn)
                        handler(conn)
                    except OSError:
                        pass

        threading.Thread(target=loop, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield serve
    stop.set()
    for s in sockets:
        s.close()


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    def handler(conn: socket.socket) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return handler


def transcribe(url: str, tmp_path: Path, limits: FastLimits | None = None) -> Transcript:
    wav = tmp_path / "a.wav"
    if not wav.exists():
        write_wav(wav, np.zeros(16000, dtype=np.int16))
    engine = FastEngine(
        _Endpoint(url),  # type: ignore[arg-type]
        RecognitionOptions(word_timestamps=True),
        spool_dir=tmp_path / "spool",
        limits=limits,
    )
    try:
        request = RecognitionRequest(path=wav, audio=probe(wav))
        return engine.transcribe(request, on_progress=lambda _s: None, cancel=CancelToken())
    finally:
        engine.close()


def failure(url: str, tmp_path: Path, limits: FastLimits | None = None) -> EngineError:
    with pytest.raises(EngineError) as caught:
        transcribe(url, tmp_path, limits)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        b'{"phrases": [{"text": "Hello there."}]}',  # no offsets, words, locale, confidence, speaker
        b'{"combinedPhrases": [], "phrases": [{"offsetMilliseconds": 10, "text": "Hello there.",'
        b' "durationMilliseconds": 500, "newField": {"x": 1}}], "extra": [1, 2]}',
        b'{"phrases": [{"text": "Hello there.", "offsetMilliseconds": 1e400, "durationMilliseconds": 1e999}]}',
        b'{"phrases": [{"text": "Hello there.", "offsetMilliseconds": Infinity, "confidence": NaN}]}',
        b'{"phrases": [{"text": "Hello there.", "channel": "left", "speaker": "Guest-1"}]}',
        b'{"phrases": [{"text": "Hello there.", "channel": 7, "words": [{"text": "Hello",'
        b' "offsetMilliseconds": -5, "durationMilliseconds": null}, "junk", null]}]}',
        b'{"phrases": [{"text": "Hello there.", "words": {"not": "a list"}, "locale": 5}]}',
        b'{"phrases": [{"text": ["not", "text"]}, {"text": {"a": 1}}, {"text": "Hello there.", "words":'
        b' [{"text": ["x"]}]}, {"text": null}]}',
    ],
)
def test_a_200_lacking_optional_fields_or_holding_odd_values_still_gives_the_text(
    server: Callable[[Handler], str], tmp_path: Path, body: bytes
) -> None:
    transcript = transcribe(server(reply(200, body)), tmp_path)
    assert [p.display for p in transcript.phrases] == ["Hello there."]
    assert all(p.offset_ticks >= 0 and p.duration_ticks >= 0 for p in transcript.phrases)
    assert all(p.confidence is None or math.isfinite(p.confidence) for p in transcript.phrases)
    assert not [w for p in transcript.phrases for w in p.words if w.word.startswith(("[", "{"))]


def test_silence_an_empty_answer_and_non_ascii_long_text(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    assert (
        transcribe(server(reply(200, b'{"durationMilliseconds": 1000, "phrases": []}')), tmp_path).phrases
        == ()
    )
    assert transcribe(server(reply(200, b"{}")), tmp_path).phrases == ()
    text = "日本語のテキスト。" * 20000 + " \u00e9\u00e8 \U0001f600"
    body = json.dumps({"phrases": [{"text": text}]}, ensure_ascii=False).encode()
    assert transcribe(server(reply(200, body)), tmp_path).phrases[0].display == text.strip()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"not json", "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "cannot read"),
        (b'{"phrases": "none"}', "cannot read"),
        (b"\xff\xfe{", "not JSON"),
    ],
)
def test_a_200_that_is_not_the_document_is_transient(
    server: Callable[[Handler], str], tmp_path: Path, body: bytes, kind: str
) -> None:
    error = failure(server(reply(200, body)), tmp_path)
    assert isinstance(error, TransientEngineError) and kind in str(error)


@pytest.mark.parametrize(
    ("status", "body", "cls", "said"),
    [
        (400, b'{"code": "InvalidArgument", "message": "Bad locale x"}', PermanentEngineError, "Bad locale x"),
        (400, b'{"error": {"code": "InvalidAudioFormat", "message": "Cannot decode"}}', PermanentEngineError,
         "Cannot decode"),
        (400, b"plain words of trouble", PermanentEngineError, "plain words of trouble"),
        (413, b"", PermanentEngineError, "HTTP 413"),
        (415, b"<html><body>Unsupported</body></html>", PermanentEngineError, "HTTP 415"),
        (422, b'{"error": "flat string"}', PermanentEngineError, "HTTP 422"),
        (401, b"", FatalEngineError, "HTTP 401"),
        (401, b'{"error": {"code": "401", "message": "Access denied due to invalid subscription key."}}',
         FatalEngineError, "invalid subscription key"),
        (403, b"<html>Forbidden by proxy</html>", FatalEngineError, "HTTP 403"),
        (502, b"<html><head><title>502 Bad Gateway</title></head></html>", TransientEngineError, "HTTP 502"),
        (503, b"", TransientEngineError, "HTTP 503"),
        (429, b"", TransientEngineError, "HTTP 429"),
    ],
)  # fmt: skip
def test_error_answers_of_every_shape_give_their_class_and_the_services_words(
    server: Callable[[Handler], str], tmp_path: Path, status: int, body: bytes, cls: type, said: str
) -> None:
    error = failure(server(reply(status, body)), tmp_path)
    assert type(error) is cls
    assert said in str(error) + str(getattr(error, "detail", ""))
    assert f"HTTP {status} {status}" not in str(error) and f"HTTP{status}" not in str(error)


def test_a_404_means_the_endpoint_is_wrong_for_every_file(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    error = failure(
        server(reply(404, b'{"error": {"code": "404", "message": "Resource not found"}}')), tmp_path
    )
    assert isinstance(error, FatalEngineError)
    assert "Resource not found" in str(error) and "--endpoint" in (error.hint or "")


def test_a_redirect_is_not_followed_and_stops_the_run(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    """Following it would send the key on to wherever it points; every file would meet it."""
    error = failure(server(reply(307, b"", {"Location": "http://10.0.0.1/speechtotext"})), tmp_path)
    assert isinstance(error, FatalEngineError) and "--endpoint" in (error.hint or "")


def test_an_error_body_cannot_put_terminal_controls_or_the_key_in_the_message(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    body = b'{"code": "X", "message": "evil \\u001b]0;owned\\u0007 key secret-key-123456 \\n line2"}'
    error = failure(server(reply(400, body)), tmp_path)
    said = str(error) + str(error.detail)
    assert "\x1b" not in said and "\x07" not in said and "\n" not in said
    assert "secret-key-123456" not in said


def test_retry_after_as_an_http_date_is_waited_out(server: Callable[[Handler], str], tmp_path: Path) -> None:
    date = formatdate(time.time() + 30, usegmt=True)
    failed = error_from_response(429, {"retry-after": date}, b"", lambda s: s)
    assert 20 <= failed.retry_after_s <= 31
    assert error_from_response(429, {"retry-after": "Wed, bogus"}, b"", lambda s: s).retry_after_s == 0


def test_an_answer_cut_mid_body_is_transient_and_nothing_is_kept(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    def cut(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"phrases": [{"text": "Hel')

    assert isinstance(failure(server(cut), tmp_path), TransientEngineError)


def test_a_trickling_answer_is_given_up_at_the_requests_timeout(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    gone = threading.Event()

    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while not gone.wait(0.05):  # a byte at a time, each well within the read timeout
            conn.sendall(b" ")

    limits = FastLimits(timeout_base_s=1.0, timeout_per_audio_s=0.0)
    try:
        error = failure(server(trickle), tmp_path, limits)
    finally:
        gone.set()
    assert isinstance(error, TransientEngineError) and error.code == "service_timeout"


def test_a_full_disk_while_converting_fails_the_recording_naming_the_spool_and_removes_it(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    """A format the service does not take is converted under the output folder's state; when that
    disk fills (here: a file size limit, the same failed write) the recording fails saying where,
    not "the file cannot be read", and no spool is left behind."""
    flac = tmp_path / "float.wav"  # 32-bit float WAV: the service does not take it as it is
    shutil.copyfile(FIXTURES / "wav_float32.wav", flac)
    url = server(reply(200, b'{"phrases": []}'))
    engine = FastEngine(_Endpoint(url), RecognitionOptions(), spool_dir=tmp_path / "spool")  # type: ignore[arg-type]
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        request = RecognitionRequest(path=flac, audio=probe(flac))
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, old_limit[1]))
        try:
            with pytest.raises(FileError) as caught:
                engine.transcribe(request, on_progress=lambda _s: None, cancel=CancelToken())
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
    finally:
        signal.signal(signal.SIGXFSZ, old_handler)
        engine.close()
    assert caught.value.code == "spool_failed" and "spool" in str(caught.value)
    assert list((tmp_path / "spool").iterdir()) == []


def test_a_recording_that_cannot_be_read_mid_upload_is_its_failure_not_the_connections(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    """An I/O error reading the recording while it is sent (a dropped network share) names the
    recording, instead of "the connection to the fast transcription API failed"."""
    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(16000 * 4, dtype=np.int16))
    engine = FastEngine(_Endpoint(server(reply(200, b"{}"))), RecognitionOptions(), spool_dir=tmp_path)  # type: ignore[arg-type]
    request = RecognitionRequest(path=wav, audio=probe(wav))
    upload = engine._upload(request, CancelToken())[0]
    failing = Upload(
        upload.filename, upload.content_type, upload.size, lambda: _exactly(_Broken(), upload.size),
        upload.finish, upload.close,
    )  # fmt: skip
    engine._upload = lambda *_a: (failing, ())  # type: ignore[method-assign]
    try:
        with pytest.raises(FileError) as caught:
            engine.transcribe(request, on_progress=lambda _s: None, cancel=CancelToken())
    finally:
        engine.close()
    assert not isinstance(caught.value, TransientEngineError) and caught.value.code == "unreadable"
    assert "cannot be read" in str(caught.value) and "connection" not in str(caught.value)


class _Broken:
    def read(self, size: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")


def test_finished_requests_leave_the_limiter_so_a_429_lowers_the_limit(
    server: Callable[[Handler], str], tmp_path: Path
) -> None:
    """Each request the service took is reported ``connected`` and, once over, ``closed``: the
    limiter counts what is open, and a 429 sets the limit near that. Without ``closed`` every
    finished request stayed open for ever and a 429 could never lower the limit."""
    from batchscribe.resources.limiter import AdaptiveLimiter

    limiter = AdaptiveLimiter(16, start=8)
    wav = tmp_path / "a.wav"
    write_wav(wav, np.zeros(16000, dtype=np.int16))
    request = RecognitionRequest(path=wav, audio=probe(wav))
    for status, body in [(200, b"{}"), (200, b"{}"), (400, b""), (200, b"not json")]:
        engine = FastEngine(
            _Endpoint(server(reply(status, body))),  # type: ignore[arg-type]
            RecognitionOptions(),
            spool_dir=tmp_path,
            congestion=limiter,
        )
        try:
            engine.transcribe(request, on_progress=lambda _s: None, cancel=CancelToken())
        except EngineError:
            pass
        finally:
            engine.close()
    assert limiter.open == 0
    engine = FastEngine(_Endpoint(server(reply(429, b""))), RecognitionOptions(), spool_dir=tmp_path,  # type: ignore[arg-type]
                        congestion=limiter)  # fmt: skip
    try:
        with pytest.raises(TransientEngineError):
            engine.transcribe(request, on_progress=lambda _s: None, cancel=CancelToken())
    finally:
        engine.close()
    assert limiter.limit == 1


def test_a_loopback_endpoint_is_never_reached_through_a_proxy(
    server: Callable[[Handler], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set (common on corporate machines), plain http to 127.0.0.1 must not go to
    the proxy: the key would travel in clear to another machine (and the emulator is unreachable)."""
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))  # bound, never listening: a proxy there refuses every connection
    try:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{dead.getsockname()[1]}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        transcript = transcribe(server(reply(200, b'{"phrases": [{"text": "Hello there."}]}')), tmp_path)
    finally:
        dead.close()
    assert [p.display for p in transcript.phrases] == ["Hello there."]
