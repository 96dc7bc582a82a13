"""Our websocket client, byte by byte: the server's side is written and read with the
websockets library's frame code, an implementation independent of ours; the transport
is a fake that keeps what we write. Whole connections to a websockets server are in
test_connection.py (fake ARI), the simulator's tests and tests/asterisk (Asterisk 22)."""

from __future__ import annotations

import asyncio
import itertools
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.utils import accept_key

from ari_app.client.websocket import HandshakeRefusedError, WebSocket, WebSocketError, connect

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADED = (
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\n\r\n"
).encode()


class Transport:
    """Keeps what the client writes; a close or abort ends the connection as a socket would."""

    def __init__(self, socket: WebSocket, *, answer_pings: bool = False) -> None:
        self.socket = socket
        self.written = bytearray()
        self.closing = False
        self.aborted = False
        self.paused = False
        self.answer_pings = answer_pings
        """Answer each ping written with its pong at the next turn of the loop, as a
        server would, whatever the test is doing meanwhile."""

    def write(self, data: bytes) -> None:
        assert not self.closing, "written after close"
        self.written += data
        if self.answer_pings:
            for frame in _read(data):
                if frame.opcode is Opcode.PING:
                    pong = server_frame(Opcode.PONG, bytes(frame.data))
                    asyncio.get_running_loop().call_soon(self.socket.data_received, pong)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self._end()

    def abort(self) -> None:
        self.aborted = True
        self._end()

    def _end(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.socket.connection_lost, None)

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def frames(self) -> list[Frame]:
        """What the client wrote, read as a server reads it: masked frames only."""
        return _read(bytes(self.written))


def _read(data: bytes) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=True, max_size=None, extensions=[])
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:
            pytest.fail("a partial frame was written")
    return frames


def server_frame(opcode: Opcode, data: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=mask, extensions=[])


def connected(
    *,
    ping_interval: float = 60.0,
    ping_timeout: float = 60.0,
    max_size: int = 2**22,
    answer_pings: bool = False,
) -> tuple[WebSocket, Transport]:
    """A client whose TCP connection is made, the upgrade not answered yet."""
    socket = WebSocket(KEY, ping_interval, ping_timeout, 0.05, max_size)
    transport = Transport(socket, answer_pings=answer_pings)
    socket.connection_made(transport)  # type: ignore[arg-type]
    return socket, transport


def opened(**options: Any) -> tuple[WebSocket, Transport]:
    """A client upgraded: open."""
    socket, transport = connected(**options)
    socket.data_received(UPGRADED)
    assert socket.open
    return socket, transport


def close_code(frame: Frame) -> int:
    assert frame.opcode is Opcode.CLOSE
    return int(struct.unpack("!H", frame.data[:2])[0])


# A message as the server may send it: whole, or cut into fragments; pings between.
messages = st.lists(
    st.one_of(st.text(max_size=300), st.text(min_size=200, max_size=70_000)), max_size=6
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=messages,
    cuts=st.lists(st.integers(min_value=1, max_value=200_000), max_size=30),
    fragment_at=st.lists(st.integers(min_value=0, max_value=1000), max_size=6),
    pings=st.lists(st.binary(max_size=125), max_size=3),
)
async def test_every_message_arrives_whole_and_in_order_however_the_stream_is_cut(
    messages: list[str], cuts: list[int], fragment_at: list[int], pings: list[bytes]
) -> None:
    stream = bytearray(UPGRADED)
    for index, text in enumerate(messages):
        data = text.encode()
        cut = fragment_at[index] if index < len(fragment_at) else 0
        if 0 < cut < len(data):  # two or three frames: text, (continuation,) continuation
            stream += server_frame(Opcode.TEXT, data[:cut], fin=False)
            if index < len(pings):  # control frames may come between fragments
                stream += server_frame(Opcode.PING, pings[index])
            middle = (cut + len(data)) // 2
            stream += server_frame(Opcode.CONT, data[cut:middle], fin=False)
            stream += server_frame(Opcode.CONT, data[middle:])
        else:
            stream += server_frame(Opcode.TEXT, data)
            if index < len(pings):
                stream += server_frame(Opcode.PING, pings[index])
    socket, transport = connected()
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    for start, end in itertools.pairwise(bounds):
        socket.data_received(bytes(stream[start:end]))
    received = await socket.receive() if messages else []
    assert received == messages
    pongs = [f.data for f in transport.frames() if f.opcode is Opcode.PONG]
    assert pongs == pings[: len(pongs)]
    assert len(pongs) == min(len(pings), len(messages))


async def test_frames_written_are_masked_and_read_back_by_a_websockets_server() -> None:
    socket, transport = opened()
    texts = ["", "a", "呼叫中心" * 40, "x" * 70_000]
    socket.send_texts([t.encode() for t in texts])
    frames = transport.frames()  # raises if any frame were not masked
    assert [(f.opcode, f.fin, bytes(f.data).decode()) for f in frames] == [
        (Opcode.TEXT, True, t) for t in texts
    ]


async def test_a_frame_not_masked_is_refused_by_the_reader_used_here() -> None:
    """The check above can fail: the server-side reader refuses an unmasked frame."""
    socket, transport = opened()
    transport.written += server_frame(Opcode.TEXT, b"{}")
    with pytest.raises(ProtocolError):
        transport.frames()
    assert socket.open


async def test_the_upgrade_may_arrive_in_pieces_with_the_first_event_behind_it() -> None:
    socket, _ = connected()
    data = UPGRADED + server_frame(Opcode.TEXT, b'{"type": "StasisStart"}')
    for at in range(0, len(data), 7):
        socket.data_received(data[at : at + 7])
    assert socket.opened.done()
    assert await socket.receive() == ['{"type": "StasisStart"}']


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", "HTTP 401 Unauthorized"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: d3Jvbmcga2V5\r\n\r\n",
            "wrong accept key",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept_key(KEY)}\r\n\r\n".encode(),
            "without Upgrade: websocket",
        ),
    ],
)
async def test_a_refused_or_wrong_upgrade_fails_the_connection(answer: bytes, error: str) -> None:
    socket, transport = connected()
    socket.data_received(answer)
    with pytest.raises(WebSocketError, match=error) as raised:
        await socket.opened
    assert transport.aborted
    if b" 401 " in answer:
        assert isinstance(raised.value, HandshakeRefusedError)
        assert raised.value.status == 401


@pytest.mark.parametrize(
    ("frames", "code", "error"),
    [
        (server_frame(Opcode.TEXT, b"{}", mask=True), 1002, "masked"),
        (server_frame(Opcode.TEXT, b"\xff\xfe"), 1007, "not UTF-8"),
        (server_frame(Opcode.CONT, b"orphan"), 1002, "continuation"),
        (
            server_frame(Opcode.TEXT, b"a", fin=False) + server_frame(Opcode.TEXT, b"b"),
            1002,
            "inside a fragmented",
        ),
        (server_frame(Opcode.TEXT, b"x" * 2000), 1009, "more than 1000"),
        (
            server_frame(Opcode.TEXT, b"x" * 600, fin=False)
            + server_frame(Opcode.CONT, b"x" * 600),
            1009,
            "more than 1000",
        ),
        (bytes([0x81 | 0x40, 0x01]) + b"x", 1002, "reserved bits"),
        (bytes([0x83, 0x00]), 1002, "unknown data opcode"),
        (bytes([0x09, 0x00]), 1002, "fragmented or long control"),
    ],
)
async def test_a_broken_frame_fails_the_connection_after_the_messages_before_it(
    frames: bytes, code: int, error: str
) -> None:
    socket, transport = opened(max_size=1000)
    socket.data_received(server_frame(Opcode.TEXT, b'"before"') + frames)
    socket.data_received(server_frame(Opcode.TEXT, b'"after"'))  # never read
    assert await socket.receive() == ['"before"']
    with pytest.raises(WebSocketError, match=error):
        await socket.receive()
    assert [close_code(f) for f in transport.frames()] == [code]
    assert transport.closing


async def test_the_servers_close_is_answered_and_ends_the_messages_cleanly() -> None:
    socket, transport = opened()
    socket.data_received(
        server_frame(Opcode.TEXT, b"1") + server_frame(Opcode.CLOSE, struct.pack("!H", 1001))
    )
    assert await socket.receive() == ["1"]
    assert await socket.receive() == []
    assert [close_code(f) for f in transport.frames()] == [1001]
    with pytest.raises(ConnectionError):
        socket.send_texts([b"{}"])
    await socket.close()  # the server does not close TCP: cut after close_timeout
    assert transport.aborted


async def test_an_error_code_in_the_servers_close_is_an_error() -> None:
    socket, _ = opened()
    socket.data_received(server_frame(Opcode.CLOSE, struct.pack("!H", 1011) + b"shutting"))
    with pytest.raises(WebSocketError, match="1011 shutting"):
        await socket.receive()


async def test_our_close_waits_for_the_servers_answer_and_its_tcp_close() -> None:
    socket, transport = opened()
    closing = asyncio.create_task(socket.close())
    await asyncio.sleep(0)
    assert [close_code(f) for f in transport.frames()] == [1000]
    socket.data_received(server_frame(Opcode.CLOSE, struct.pack("!H", 1000)))
    transport.close()  # as the server closes TCP after its answer
    await closing
    assert not transport.aborted
    assert len(transport.frames()) == 1  # its close frame is not answered again


async def test_a_connection_cut_without_a_close_frame_is_an_error() -> None:
    socket, _ = opened()
    socket.data_received(server_frame(Opcode.TEXT, b"1"))
    socket.connection_lost(ConnectionResetError())
    assert await socket.receive() == ["1"]
    with pytest.raises(WebSocketError, match="without a close frame"):
        await socket.receive()


async def test_an_unanswered_ping_declares_the_connection_dead() -> None:
    socket, transport = opened(ping_interval=0.01, ping_timeout=0.02)
    with pytest.raises(WebSocketError, match="no pong"):
        async with asyncio.timeout(2):
            await socket.receive()
    assert transport.aborted
    assert [f.opcode for f in transport.frames()] == [Opcode.PING]


async def test_answered_pings_keep_the_connection() -> None:
    """Four times the pong timeout: a pong that did not count would have cut it."""
    socket, transport = opened(ping_interval=0.02, ping_timeout=0.1, answer_pings=True)
    await asyncio.sleep(0.4)
    assert socket.open
    assert sum(f.opcode is Opcode.PING for f in transport.frames()) >= 3
    assert not transport.aborted
    assert sum(f.opcode is Opcode.PING for f in transport.frames()) >= 3


async def test_a_reader_far_behind_pauses_the_socket_until_it_reads() -> None:
    socket, transport = opened()
    socket.data_received(server_frame(Opcode.TEXT, b"1") * 10_000)
    assert transport.paused
    assert len(await socket.receive()) == 10_000
    assert not transport.paused


async def test_only_websocket_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="not a websocket URL"):
        await connect(
            "http://127.0.0.1:8088/ari/events",
            open_timeout=1,
            ping_interval=5,
            ping_timeout=5,
            close_timeout=1,
        )


async def test_a_server_that_never_answers_the_upgrade_times_out() -> None:
    accepted: list[Any] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TimeoutError):
            await connect(
                f"ws://127.0.0.1:{port}/ari/events?app=x",
                open_timeout=0.1,
                ping_interval=5,
                ping_timeout=5,
                close_timeout=1,
            )
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    assert len(accepted) == 1
