"""The emulator's REST side: Azure's HTTP APIs (fast and batch transcription, OpenAI chat
completions) on their own port beside the websocket one, ``http://host:rest_port``.

A small router over the standard library's ``ThreadingHTTPServer``: each API module contributes
``Route``s (method, path pattern, handler); a handler takes a ``RestRequest`` and returns a
``RestResponse``. Credentials are checked here once for every route, the same way the websocket
side checks them (``auth.refusal``): ``Ocp-Apim-Subscription-Key``, ``api-key`` (OpenAI) or
``Authorization: Bearer``. Every request is counted in ``RestStats`` so tests can assert what was
sent (and what was paid for) without peeking into the handlers.

Handlers run on the server's request threads: whatever state they share is theirs to lock.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from batchscribe.emulator.auth import BearerTokens, refusal

MAX_BODY_BYTES = 1 << 31  # the fast API takes up to 300 MB; refuse absurd lengths before reading
SHUTDOWN_POLL_S = 0.05  # how often the server thread looks for stop(): what a stop waits at most


@dataclass(frozen=True)
class RestRequest:
    """One HTTP request as a handler sees it: the path's groups, the query, headers and body."""

    method: str
    path: str
    params: Mapping[str, str]  # the route pattern's named groups
    query: Mapping[str, str]  # the first value of each query parameter
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str  # http://host:port, for links in answers

    def json(self) -> object:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class RestResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    abort: bool = False  # drop the connection without an answer (a TCP reset), for fault tests

    @classmethod
    def of_json(cls, status: int, document: object, headers: Mapping[str, str] | None = None) -> RestResponse:
        return cls(
            status, json.dumps(document).encode(), {"Content-Type": "application/json", **(headers or {})}
        )

    @classmethod
    def error(
        cls, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> RestResponse:
        """Azure's flat error body (batch transcription's shape; fast transcription uses the same)."""
        return cls.of_json(status, {"code": code, "message": message}, headers)


Handler = Callable[[RestRequest], RestResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # a regular expression matched against the whole path, named groups -> params
    handler: Handler
    public: bool = False  # no credentials asked (a result's content link, signed like a SAS URL)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = re.fullmatch(self.pattern, path)
        return None if found is None else found.groupdict()


class RestStats:
    """Requests seen per route pattern and status; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int]] = Counter()

    def count(self, pattern: str, status: int) -> None:
        with self._lock:
            self._counts[(pattern, status)] += 1

    def snapshot(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._counts)


@dataclass
class RestAuth:
    key: str | None = None
    tokens: BearerTokens | None = None


class RestServer:
    """The routes on a ``ThreadingHTTPServer`` on its own daemon thread."""

    def __init__(
        self, routes: Iterable[Route], auth: RestAuth, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.routes = list(routes)
        self.auth = auth
        self.stats = RestStats()
        self._httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self._httpd.daemon_threads = True
        self.host = host
        self.port = int(self._httpd.server_address[1])
        # serve_forever looks for shutdown() between polls: at 0.5 s (its default) every stop
        # (each --emulate run's end, each test's emulator) waited up to half a second for it.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="batchscribe-emulator-rest", daemon=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> RestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    def dispatch(self, request: RestRequest) -> tuple[str, RestResponse]:
        """The route's pattern (for stats) and the answer."""
        allowed = False
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is None:
                if re.fullmatch(route.pattern, request.path):
                    allowed = True
                continue
            refused = None if route.public else self._refused(request.headers)
            if refused is not None:
                return route.pattern, RestResponse.error(HTTPStatus.UNAUTHORIZED, "Unauthorized", refused)
            return route.pattern, route.handler(_with_params(request, params))
        if allowed:
            return "", RestResponse.error(HTTPStatus.METHOD_NOT_ALLOWED, "MethodNotAllowed", request.method)
        return "", RestResponse.error(HTTPStatus.NOT_FOUND, "NotFound", f"no route for {request.path}")

    def _refused(self, headers: Mapping[str, str]) -> str | None:
        sent_key = headers.get("ocp-apim-subscription-key") or headers.get("api-key")
        reason = refusal(
            key=self.auth.key,
            tokens=self.auth.tokens,
            sent_key=sent_key,
            authorization=headers.get("authorization"),
        )
        return reason or None


def _with_params(request: RestRequest, params: Mapping[str, str]) -> RestRequest:
    return RestRequest(
        request.method, request.path, params, request.query, request.headers, request.body, request.base_url
    )


def _handler_class(server: RestServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the headers (40 ms on Linux), for every answer. Azure does not.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            return  # the emulator's REST side is quiet, like its websocket side

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0 or length > MAX_BODY_BYTES:
                self._answer(
                    RestResponse.error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLarge", str(length))
                )
                return
            body = self.rfile.read(length) if length else b""
            request = RestRequest(
                method=self.command,
                path=split.path,
                params={},
                query={k: v[0] for k, v in parse_qs(split.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                base_url=server.url,
            )
            try:
                pattern, response = server.dispatch(request)
            except Exception as exc:  # a handler's bug is a 500, not a dead connection
                pattern, response = (
                    "",
                    RestResponse.error(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalServerError", repr(exc)),
                )
            server.stats.count(pattern, 0 if response.abort else int(response.status))
            self._answer(response)

        def _answer(self, response: RestResponse) -> None:
            if response.abort:
                self.close_connection = True
                with contextlib.suppress(OSError):  # linger 0: close() sends a reset, not a FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to tell it

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    return _Handler
