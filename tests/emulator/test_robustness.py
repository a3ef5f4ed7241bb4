"""Bad clients cannot hurt the emulator: malformed frames, vanishing clients, floods of them.

These tests talk USP with a plain websocket client, so they can misbehave in ways the SDK won't.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import uuid

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from batchscribe.emulator import Emulator, usp
from batchscribe.errors import UsageError
from tests.emulator.helpers import pcm_bytes, tone_pcm

PATH = "/speech/recognition/conversation/cognitiveservices/v1?language=en-US"
SECRET = "do-not-store-me-1234"
RIFF = (b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16_000, 32_000, 2, 16)
        + b"data" + struct.pack("<I", 0))  # fmt: skip
AUDIO = pcm_bytes(tone_pcm([("sil", 0.2), ("tone", 0.6), ("sil", 0.6)]))


def open_usp(url: str, connection_id: str | None = None) -> connect:
    headers = {"Ocp-Apim-Subscription-Key": SECRET, "X-ConnectionId": connection_id or uuid.uuid4().hex}
    return connect(
        url + PATH,
        subprotocols=["USP"],
        additional_headers=headers,  # type: ignore[list-item]
        open_timeout=30,
        close_timeout=2,
    )


async def send_turn(ws: ClientConnection, audio: bytes = AUDIO) -> None:
    request_id = uuid.uuid4().hex
    await ws.send(usp.build_client_text("speech.config", "", "{}", content_type="application/json"))
    context = {"phraseDetection": {"language": "en-US"}, "audio": {"streams": {"1": None}}}
    await ws.send(usp.build_client_text("speech.context", request_id, json.dumps(context)))
    await ws.send(usp.build_client_audio(request_id, RIFF, first=True))
    for start in range(0, len(audio), 3200):
        await ws.send(usp.build_client_audio(request_id, audio[start : start + 3200]))
    await ws.send(usp.build_client_audio(request_id, b""))


async def answers_until_turn_end(ws: ClientConnection) -> list[str]:
    paths = []
    async for frame in ws:
        paths.append(usp.parse(frame).path)
        if paths[-1] == "turn.end":
            break
    return paths


async def one_session(url: str) -> list[str]:
    async with open_usp(url) as ws:
        await send_turn(ws)
        return await answers_until_turn_end(ws)


def test_200_concurrent_connections_are_all_answered_and_released(emulator: Emulator) -> None:
    async def flood() -> list[list[str]]:
        return await asyncio.gather(*(one_session(emulator.url) for _ in range(200)))

    results = asyncio.run(flood())
    assert all(r[0] == "turn.start" and "speech.phrase" in r and r[-1] == "turn.end" for r in results)
    assert emulator.wait_until(lambda s: s.open_connections == 0 and s.connections == 200, timeout=10)
    assert sum(s.completed_turns for s in emulator.stats().sessions.values()) == 200


@pytest.mark.parametrize(
    "frame",
    [
        "this is not USP",
        "Path:speech.context\r\nX-RequestId:1\r\n\r\n{not json",
        b"\x00",
        usp.build_client_audio("ab", b"not a RIFF header", first=True),
    ],
    ids=["text-without-headers", "bad-json", "short-binary", "audio-without-riff"],
)
def test_a_malformed_message_closes_only_its_connection(emulator: Emulator, frame: str | bytes) -> None:
    async def misbehave() -> int | None:
        async with open_usp(emulator.url) as ws:
            await ws.send(frame)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(misbehave()) == 1007
    assert asyncio.run(one_session(emulator.url))[-1] == "turn.end"  # still serving
    stats = emulator.stats()
    assert stats.protocol_errors == 1 and stats.errors[0].startswith("connection 1 (")


def test_an_oversized_message_is_refused(emulator: Emulator) -> None:
    async def too_big() -> int | None:
        async with open_usp(emulator.url) as ws:
            await ws.send(usp.build_client_audio("ab", b"\0" * (2 << 20), first=True))
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(too_big()) == 1009
    assert emulator.wait_until(lambda s: s.open_connections == 0, timeout=5)


def test_a_client_that_vanishes_mid_turn_is_cleaned_up(emulator: Emulator) -> None:
    async def vanish() -> None:
        ws = await open_usp(emulator.url)
        request_id = uuid.uuid4().hex
        await ws.send(usp.build_client_audio(request_id, RIFF + AUDIO[:6400], first=True))
        await ws.recv()  # turn.start: the turn is under way
        ws.transport.abort()

    asyncio.run(vanish())
    assert emulator.wait_until(lambda s: s.open_connections == 0, timeout=5)
    assert asyncio.run(one_session(emulator.url))[-1] == "turn.end"


def test_the_subscription_key_is_noted_but_never_stored(emulator: Emulator) -> None:
    asyncio.run(one_session(emulator.url))
    stats = emulator.stats()
    (request,) = stats.requests
    assert request.has_subscription_key and not request.has_authorization
    assert "ocp-apim-subscription-key" not in request.headers
    assert SECRET not in repr(stats)
    assert request.query == {"language": "en-US"} and request.contexts[0]["phraseDetection"]


def test_stopping_leaves_no_thread_behind_even_with_connections_open() -> None:
    before = set(threading.enumerate())
    emulator = Emulator().start()

    async def hold_open() -> None:
        async with open_usp(emulator.url) as ws:
            await ws.send(usp.build_client_audio(uuid.uuid4().hex, RIFF, first=True))
            await ws.recv()
            await asyncio.get_running_loop().run_in_executor(None, emulator.stop)
            with pytest.raises(ConnectionClosed):
                await ws.recv()

    asyncio.run(hold_open())
    emulator.stop()  # twice is fine
    assert set(threading.enumerate()) == before


def test_a_port_in_use_is_a_usage_error(emulator: Emulator) -> None:
    with pytest.raises(UsageError, match=r"cannot listen on 127\.0\.0\.1"):
        Emulator(port=emulator.port).start()


@pytest.mark.parametrize(
    "offset", [10**400, 2**64, 1e300], ids=["beyond-float", "beyond-int64", "huge-float"]
)
def test_a_continuation_offset_past_any_recording_is_a_protocol_error(
    emulator: Emulator, offset: float
) -> None:
    async def resume_far_away() -> int | None:
        async with open_usp(emulator.url) as ws:
            request_id = uuid.uuid4().hex
            context = {
                "audio": {"streams": {"1": None}},
                "continuation": {"audio": {"streams": {"1": {"offset": offset}}}},
            }
            await ws.send(usp.build_client_text("speech.context", request_id, json.dumps(context)))
            await ws.send(usp.build_client_audio(request_id, RIFF, first=True))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(resume_far_away()) == 1007
    stats = emulator.stats()
    assert stats.protocol_errors == 1 and "continuation offset" in stats.errors[0]
    assert asyncio.run(one_session(emulator.url))[-1] == "turn.end"  # still serving


def test_the_rest_side_answers_with_nagle_off_so_no_answer_waits_for_a_delayed_ack() -> None:
    """Headers and body go out in two writes; with Nagle's algorithm on, the body waited for the
    client's delayed ACK (40 ms per answer on Linux: 10,000 result downloads took 7 minutes more)."""
    import socket

    import httpx

    from batchscribe.emulator.rest import RestAuth, RestResponse, RestServer, Route

    server = RestServer([Route("GET", r"/.*", lambda r: RestResponse.of_json(200, {}), public=True)],
                        RestAuth(key="k")).start()  # fmt: skip
    handler = server._httpd.RequestHandlerClass
    nodelay: list[int] = []

    class Watched(handler):  # type: ignore[misc, valid-type]
        def handle_one_request(self) -> None:  # the connection as it answers
            nodelay.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            super().handle_one_request()

    server._httpd.RequestHandlerClass = Watched
    try:
        assert httpx.get(f"{server.url}/x").status_code == 200
        assert nodelay and all(nodelay)
    finally:
        server.stop()
