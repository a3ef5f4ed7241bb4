"""An endpoint that answers with hostile words: its error message (which reaches the console and
the report) is one line without terminal control. The real ``openai`` client against a small
HTTP server on 127.0.0.1, started here and stopped in ``finally``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from batchscribe.config.summaries import SummaryOptions, shipped_prompt
from batchscribe.errors import SummariesStopped
from batchscribe.summaries.client import ChatClient

pytestmark = pytest.mark.integration
HOSTILE = "key rejected\x1b[2J\n[bold red]forged line[/]\r"


class _Rejects(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.dumps({"error": {"code": "401", "message": HOSTILE}}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(name="rejecting_endpoint")
def rejecting_endpoint_fixture() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rejects)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hostile_error_message_is_one_line_without_terminal_control(rejecting_endpoint: str) -> None:
    options = SummaryOptions(
        endpoint=rejecting_endpoint, deployment="gpt", prompt=shipped_prompt(), key="k" * 32
    )
    client = ChatClient(options)
    try:
        with pytest.raises(SummariesStopped) as caught:
            client.complete([{"role": "user", "content": "hi"}])
    finally:
        client.close()

    line = caught.value.one_line()
    assert "key rejected\\x1b[2J\\n[bold red]forged line[/]\\r" in line
    assert line.isprintable()
