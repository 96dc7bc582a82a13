"""REST over the events websocket, the client's half (ari_app/client/socket_requests.py):
matching answers to requests, errors as over HTTP, nothing left waiting when the socket
goes, and which Asterisk versions are asked this way."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from ari_app.client import AriConnectionError, AriNotFoundError
from ari_app.client.socket_requests import SocketRequests, takes_socket_requests


class Wire:
    """Stands in for the websocket: keeps the frames written, answers none by itself."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.writes = 0

    def send(self, frames: list[bytes]) -> None:
        self.writes += 1
        self.sent.extend(json.loads(text) for text in frames)


async def _turns() -> None:
    """Let the requests run up to their answer, and the frames be written (next turn)."""
    for _ in range(3):
        await asyncio.sleep(0)


def answer(request_id: str, status: int, body: Any = None, **extra: Any) -> str:
    message: dict[str, Any] = {"type": "RESTResponse", "transaction_id": "",
                               "request_id": request_id, "status_code": status,
                               "reason_phrase": "x", "uri": "u", "application": "callcenter",
                               **extra}  # fmt: skip
    if body is not None:
        message["content_type"] = "application/json"
        message["message_body"] = json.dumps(body)
    return json.dumps(message)


async def test_answers_are_matched_by_request_id_whatever_their_order() -> None:
    wire = Wire()
    socket = SocketRequests(wire.send, timeout=5)
    first = asyncio.create_task(socket.request("POST", "/bridges", {"type": "mixing"}, None))
    second = asyncio.create_task(
        socket.request("POST", "/channels", {"endpoint": "PJSIP/1001"}, {"variables": {"A": "1"}})
    )
    await _turns()
    assert [frame["uri"] for frame in wire.sent] == ["bridges", "channels"]
    assert wire.writes == 1  # asked in the same turn of the loop: one write
    assert wire.sent[0]["query_strings"] == [{"name": "type", "value": "mixing"}]
    assert "message_body" not in wire.sent[0]
    assert wire.sent[1]["content_type"] == "application/json"
    assert json.loads(wire.sent[1]["message_body"]) == {"variables": {"A": "1"}}
    ids = [frame["request_id"] for frame in wire.sent]
    assert len(set(ids)) == 2

    assert socket.answered(answer(ids[1], 200, {"id": "chan"}))
    assert socket.answered(answer(ids[0], 200, {"id": "bridge"}))
    assert await first == {"id": "bridge"}
    assert await second == {"id": "chan"}


async def test_an_error_answer_raises_what_http_would() -> None:
    wire = Wire()
    socket = SocketRequests(wire.send, timeout=5)
    request = asyncio.create_task(socket.request("DELETE", "/channels/nope", {}, None))
    await _turns()
    socket.answered(answer(wire.sent[0]["request_id"], 404, {"message": "Channel not found"}))
    with pytest.raises(AriNotFoundError, match="Channel not found") as caught:
        await request
    assert caught.value.path == "/ari/channels/nope"


async def test_no_content_is_none() -> None:
    wire = Wire()
    socket = SocketRequests(wire.send, timeout=5)
    request = asyncio.create_task(socket.request("POST", "/channels/c/answer", {}, None))
    await _turns()
    socket.answered(answer(wire.sent[0]["request_id"], 204))
    assert await request is None


async def test_events_are_not_taken_for_answers(caplog: pytest.LogCaptureFixture) -> None:
    socket = SocketRequests(Wire().send, timeout=5)
    # A caller may call itself "RESTResponse": inside a string value it is just text.
    caller = {"name": '"RESTResponse"', "number": "1"}
    named = {"type": "ChannelVarset", "variable": "X", "value": "RESTResponse",
             "channel": {"id": "c", "caller": caller}}  # fmt: skip
    assert not socket.answered(json.dumps(named))
    assert not socket.answered('{"type": "StasisStart"}')
    assert not socket.answered('not json "RESTResponse"')
    with caplog.at_level(logging.WARNING):
        assert socket.answered(answer("99", 200, {}))  # taken, though nobody asked
    assert "answer to no request" in caplog.text


async def test_an_unanswered_request_times_out() -> None:
    socket = SocketRequests(Wire().send, timeout=0.05)
    with pytest.raises(AriConnectionError, match="TimeoutError"):
        await socket.request("POST", "/channels/c/answer", {}, None)


async def test_requests_expire_in_the_order_asked_and_answered_ones_do_not() -> None:
    """One sweeping timer serves them all: each fails between its timeout and a quarter
    more, measured from when it was asked."""
    wire = Wire()
    socket = SocketRequests(wire.send, timeout=0.2)
    loop = asyncio.get_running_loop()
    failed: dict[str, tuple[float, str]] = {}

    async def ask(path: str) -> None:
        started = loop.time()
        try:
            await socket.request("POST", path, {}, None)
        except AriConnectionError as error:
            failed[path] = (loop.time() - started, str(error))

    first = asyncio.create_task(ask("/channels/a/answer"))
    await asyncio.sleep(0.1)
    answered = asyncio.create_task(ask("/channels/b/answer"))
    later = asyncio.create_task(ask("/channels/c/answer"))
    await _turns()
    assert socket.answered(answer(wire.sent[1]["request_id"], 204))
    async with asyncio.timeout(3):  # a sweeper that stopped would leave "c" waiting
        await asyncio.gather(first, answered, later)
    assert set(failed) == {"/channels/a/answer", "/channels/c/answer"}
    for path, (waited, error) in failed.items():
        assert error.startswith(f"POST {path}: TimeoutError"), error
        assert 0.2 <= waited <= 0.2 * 1.25 + 0.5, failed  # a slack for a loaded machine


async def test_closing_fails_the_requests_in_flight_and_refuses_new_ones() -> None:
    socket = SocketRequests(Wire().send, timeout=5)
    waiting = asyncio.create_task(socket.request("POST", "/channels/c/answer", {}, None))
    await _turns()
    socket.close("the events websocket closed")
    with pytest.raises(AriConnectionError, match="websocket closed"):
        await asyncio.wait_for(waiting, 1)
    with pytest.raises(AriConnectionError, match="websocket closed"):
        await socket.request("POST", "/bridges", {}, None)


async def test_a_frame_that_cannot_be_sent_is_a_connection_error() -> None:
    def broken(frames: list[bytes]) -> None:
        raise ConnectionResetError("gone")

    socket = SocketRequests(broken, timeout=5)
    with pytest.raises(AriConnectionError, match="gone"):
        await socket.request("POST", "/bridges", {}, None)


@pytest.mark.parametrize(
    ("version", "takes"),
    [
        ("22.10.1", True), ("22.4.0", True), ("22.3.0", False), ("21.9.0", True),
        ("21.8.2", False), ("20.14.1", True), ("20.13.0", False), ("23.0.0-rc1", True),
        ("18.26.0", False), ("certified-20.7-cert5", False), ("GIT-master-abc123", False),
        ("", False),
    ],
)  # fmt: skip
def test_versions_with_requests_on_the_socket(version: str, takes: bool) -> None:
    assert takes_socket_requests(version) is takes
