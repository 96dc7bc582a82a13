"""The events websocket: an RFC 6455 client of our own, only as much as ARI needs.

Why not the websockets library (used before): its reading goes through a generator
parser, an assembler and a queue for every frame, and a call brings 16 small frames (8
events, 8 answers to requests); that was the largest library item of the engine's CPU
in a profile of the side-by-side benchmark's engine row (``python -m bench --only
asterisk``). Here a frame is cut out of one buffer in ``data_received``, and every
message of one read is handed over at once: one wake of the reader per read, not one
per frame.

What ARI needs and this does: the upgrade (``ws``/``wss``, credentials in the query),
text messages in (whole or fragmented), text frames out (masked, several in one write),
ping/pong keepalive, the close handshake both ways. What it does not: extensions
(Asterisk offers none), subprotocols, proxies, redirects.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import os
import random
import ssl
import struct
from typing import cast
from urllib.parse import urlsplit

from ari_app.client.errors import AriConnectionError

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_HEAD = 65536
"""The upgrade answer's status line and headers; Asterisk's are a few hundred bytes."""
_PAUSE_AT = 10_000
"""Messages received and not yet taken before the socket stops being read. High: while
paused, Asterisk's writes wait, and Asterisk drops a websocket it cannot write to within
its ``websocket_write_timeout`` (100 ms by default, ari.conf)."""

NORMAL_CLOSE = 1000
GOING_AWAY = 1001
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009


class WebSocketError(AriConnectionError):
    """The events websocket was refused, broke, or its peer broke the protocol."""


class HandshakeRefusedError(WebSocketError):
    """The server did not upgrade: ``status`` is its HTTP answer (401 for bad credentials)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"websocket upgrade refused: HTTP {status} {reason}")
        self.status = status


class _State(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


async def connect(
    url: str,
    *,
    open_timeout: float,
    ping_interval: float,
    ping_timeout: float,
    close_timeout: float,
    max_size: int = 2**22,
) -> WebSocket:
    """An open websocket to ``url`` (``ws://`` or ``wss://``), upgraded within ``open_timeout``."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a websocket URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    host = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "User-Agent: callcenter\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    socket = WebSocket(key, ping_interval, ping_timeout, close_timeout, max_size)
    async with asyncio.timeout(open_timeout):
        transport, _ = await loop.create_connection(
            lambda: socket,
            parts.hostname,
            port,
            ssl=ssl.create_default_context() if secure else None,
        )
        try:
            transport.write(request)
            await socket.opened
        except BaseException:
            transport.abort()
            raise
    return socket


class WebSocket(asyncio.Protocol):
    """One client connection. ``receive()`` reads, ``send_texts()`` writes, ``close()`` ends."""

    def __init__(
        self,
        key: str,
        ping_interval: float,
        ping_timeout: float,
        close_timeout: float,
        max_size: int,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()  # noqa: S324 - RFC 6455 names SHA-1
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._max_size = max_size
        self._state = _State.CONNECTING
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._messages: list[str] = []
        self._fragments: list[bytes] | None = None
        self._fragments_size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._error: WebSocketError | None = None
        """Why the connection ended abnormally; None while open or after a clean close."""
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_deadline: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.close_code: int | None = None
        """The code of the close frame the server sent, once it sent one."""

    @property
    def open(self) -> bool:
        return self._state is _State.OPEN

    # -- reading ---------------------------------------------------------------------------

    async def receive(self) -> list[str]:
        """The messages received since the last call, in order, at least one; an empty
        list once the socket closed cleanly; `WebSocketError` once it broke."""
        while not self._messages:
            if not self._reading():
                if self._error is not None:
                    raise self._error
                return []
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        messages, self._messages = self._messages, []
        if self._paused and self._transport is not None and self._state is _State.OPEN:
            self._paused = False
            self._transport.resume_reading()
        return messages

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports (the engine's loop) are not
        # subclasses of asyncio's.
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._state is _State.CONNECTING:
            self._upgrade()
        if self._state is not _State.CONNECTING and self._buffer:
            self._read_frames()
        if self._messages:
            self._wake()
            if len(self._messages) >= _PAUSE_AT and not self._paused and self._transport:
                self._paused = True
                self._transport.pause_reading()

    def eof_received(self) -> bool:
        return False  # close the transport: a half-open websocket is of no use

    def connection_lost(self, exc: Exception | None) -> None:
        if self._state is _State.CONNECTING and not self.opened.done():
            error = WebSocketError(f"connection lost during the upgrade: {exc!r}")
            self.opened.set_exception(error)
        if self.close_code is None and self._error is None:
            self._error = WebSocketError(f"connection lost without a close frame: {exc!r}")
        self._state = _State.CLOSED
        for timer in (self._ping_timer, self._pong_deadline, self._close_timer):
            if timer is not None:
                timer.cancel()
        self._wake()
        if not self.lost.done():
            self.lost.set_result(None)

    def _upgrade(self) -> None:
        """Check the server's answer to the upgrade (RFC 6455 4.1); keep what follows it."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                self._refuse(WebSocketError("websocket upgrade answer too long"))
            return
        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        status_line, *lines = head.split("\r\n")
        _, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not code.isdigit() or int(code) != 101:
            self._refuse(HandshakeRefusedError(int(code) if code.isdigit() else 0, reason))
            return
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("upgrade", "").lower() != "websocket":
            self._refuse(WebSocketError("websocket upgrade answered without Upgrade: websocket"))
        elif "upgrade" not in headers.get("connection", "").lower():
            self._refuse(WebSocketError("websocket upgrade answered without Connection: Upgrade"))
        elif headers.get("sec-websocket-accept") != self._accept:
            self._refuse(WebSocketError("websocket upgrade answered with a wrong accept key"))
        else:
            self._state = _State.OPEN
            self.opened.set_result(None)
            self._ping_timer = self._loop.call_later(self._ping_interval, self._ping)

    def _refuse(self, error: WebSocketError) -> None:
        self._state = _State.CLOSED
        if not self.opened.done():
            self.opened.set_exception(error)
        if self._transport is not None:
            self._transport.abort()

    def _read_frames(self) -> None:
        """Cut every whole frame out of the buffer (RFC 6455 5.2), leave a partial one."""
        buffer = self._buffer
        end = len(buffer)
        at = 0
        while end - at >= 2 and self._reading():
            first, second = buffer[at], buffer[at + 1]
            length = second & 0x7F
            start = at + 2
            if length == 126:
                if end - at < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, at + 2)
                start = at + 4
            elif length == 127:
                if end - at < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, at + 2)
                start = at + 10
            if second & 0x80 or first & 0x70:
                self._fail(PROTOCOL_ERROR, "masked frame or reserved bits from the server")
                return
            if length > self._max_size:
                self._fail(TOO_BIG, f"frame of {length} bytes, more than {self._max_size}")
                return
            if end - start < length:
                break
            at = start + length
            opcode = first & 0x0F
            if opcode == _TEXT and first & 0x80 and self._fragments is None:
                self._deliver(buffer[start:at])  # the usual frame: a whole text message
            else:
                self._frame(bool(first & 0x80), opcode, bytes(buffer[start:at]))
        del buffer[:at]

    def _reading(self) -> bool:
        """Frames are read until the server's close frame or a failure: none after."""
        return self._state is not _State.CLOSED and self.close_code is None and self._error is None

    def _frame(self, final: bool, opcode: int, payload: bytes) -> None:
        if opcode >= _CLOSE:  # control frames: whole and short (RFC 6455 5.5)
            if not final or len(payload) > 125:
                self._fail(PROTOCOL_ERROR, "fragmented or long control frame")
            elif opcode == _PING:
                self._write(_masked(_PONG, payload))
            elif opcode == _PONG:
                if self._pong_deadline is not None:
                    self._pong_deadline.cancel()
                    self._pong_deadline = None
            elif opcode == _CLOSE:
                self._close_received(payload)
            else:
                self._fail(PROTOCOL_ERROR, f"unknown control opcode {opcode}")
            return
        if opcode == _CONTINUATION:
            if self._fragments is None:
                self._fail(PROTOCOL_ERROR, "continuation frame without a message")
                return
        elif opcode in (_TEXT, _BINARY):
            if self._fragments is not None:
                self._fail(PROTOCOL_ERROR, "new message inside a fragmented one")
                return
            self._fragments, self._fragments_size = [], 0
        else:
            self._fail(PROTOCOL_ERROR, f"unknown data opcode {opcode}")
            return
        self._fragments.append(payload)
        self._fragments_size += len(payload)
        if self._fragments_size > self._max_size:
            self._fail(TOO_BIG, f"message of more than {self._max_size} bytes")
        elif final:
            whole, self._fragments = b"".join(self._fragments), None
            self._deliver(whole)

    def _deliver(self, payload: bytes | bytearray) -> None:
        # Binary messages too, as text: ARI sends JSON only, and the caller parses it.
        try:
            self._messages.append(payload.decode())
        except UnicodeDecodeError:
            self._fail(INVALID_DATA, "message not UTF-8")

    def _close_received(self, payload: bytes) -> None:
        code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
        self.close_code = code
        if code not in (NORMAL_CLOSE, GOING_AWAY, 1005):
            reason = payload[2:].decode(errors="replace")
            self._error = WebSocketError(f"websocket closed by the server: {code} {reason}")
        if self._state is _State.OPEN:  # the server's close: answered, then it closes TCP
            self._write(_masked(_CLOSE, payload[:2]))
        self._state = _State.CLOSING
        self._close_later()
        self._wake()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455 7.1.7): say why, then close TCP without waiting."""
        self._error = WebSocketError(f"websocket protocol: {reason}")
        if self._state is _State.OPEN:
            self._write(_masked(_CLOSE, struct.pack("!H", code) + reason.encode()[:120]))
        self._state = _State.CLOSING
        if self._transport is not None:
            self._transport.close()  # after what is written: cut if it cannot be
            self._close_later()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- keepalive ---------------------------------------------------------------------------

    def _ping(self) -> None:
        if self._state is not _State.OPEN:
            return
        self._ping_timer = self._loop.call_later(self._ping_interval, self._ping)
        if self._pong_deadline is None:  # one ping unanswered at a time
            self._write(_masked(_PING, os.urandom(4)))
            self._pong_deadline = self._loop.call_later(self._ping_timeout, self._no_pong)

    def _no_pong(self) -> None:
        self._pong_deadline = None
        self._error = WebSocketError(f"no pong within {self._ping_timeout} s: connection dead")
        if self._transport is not None:
            self._transport.abort()

    # -- writing and closing ---------------------------------------------------------------

    def send_texts(self, messages: list[bytes]) -> None:
        """Text frames of UTF-8 ``messages``, all in one write: each write on a loopback
        socket is a system call that also wakes Asterisk. No pause when the transport's
        buffer is full: requests are few and small."""
        if self._state is not _State.OPEN:
            raise ConnectionError(f"the events websocket is {self._state.value}")
        self._write(b"".join([_masked(_TEXT, message) for message in messages]))

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def close(self, code: int = NORMAL_CLOSE) -> None:
        """The close handshake (RFC 6455 7.1.2): our close frame, then wait at most
        ``close_timeout`` for the server to answer and close TCP; cut it after that."""
        if self._state is _State.OPEN:
            self._state = _State.CLOSING
            self._write(_masked(_CLOSE, struct.pack("!H", code)))
            self._close_later()
        await asyncio.shield(self.lost)  # every way into CLOSING set a cut-off timer

    def _close_later(self) -> None:
        if self._close_timer is None and self._transport is not None:
            self._close_timer = self._loop.call_later(self._close_timeout, self._transport.abort)


def _masked(opcode: int, payload: bytes) -> bytes:
    """One final client frame: masked, as RFC 6455 5.3 asks of every client frame. The key
    from `random`, not `os.urandom` (a system call per frame): masking guards proxies of
    browsers against scripted payloads, and nothing here comes from a script."""
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    key = random.getrandbits(32).to_bytes(4, "big")
    return head + key + _mask(payload, key)


def _mask(payload: bytes, key: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``key``, as one big integer operation."""
    length = len(payload)
    if not length:
        return b""
    stream = (key * ((length + 3) // 4))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(length, "big")
