"""FastAGI's lines over an :class:`asyncio.Protocol`: the server's per-line cost kept small.

Streams cost a ``readuntil`` coroutine, a buffer search and an ``asyncio.timeout`` (a timer
handle pushed on and pulled off the loop's heap) for every line. Here ``data_received``
splits whatever arrived into lines at once; a line already there is returned without
waiting, and deadlines are watched by one lazy timer per connection: a read only records
its deadline, and the timer, when it fires, either fails the waiting read or moves itself
to the newest deadline. Measured with ``python -m bench --only agi`` (see ``bench/agi.py``).

The limits are those of the stream version: a line over
:data:`~agi_scripts.protocol.MAX_LINE` bytes without its newline is refused
(:class:`~agi_scripts.session.LineTooLong`), and a peer that sends far more complete lines
than we read (AGI replies only answer our commands) is paused, not buffered without end.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from typing import cast

from agi_scripts.protocol import MAX_LINE, decode_line
from agi_scripts.session import ConnectionClosed, LineTooLong

#: Unread characters in complete lines beyond which the peer is paused until we catch up.
MAX_UNREAD = 64 * 1024


class AgiConnection(asyncio.Protocol):
    """One FastAGI connection; :class:`~agi_scripts.session.Lines` for its session.

    ``on_connect`` is called from ``connection_made`` (the server starts the session's task
    there, or refuses the connection by closing it).
    """

    def __init__(self, on_connect: Callable[[AgiConnection], None]) -> None:
        self._on_connect = on_connect
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._lines: deque[str] = deque()  # complete lines, decoded, not yet read
        self._partial = b""
        self._unread = 0
        self._reading_paused = False
        self._error: Exception | None = None  # what every read raises once the lines are used up
        self._waiter: asyncio.Future[None] | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._writable: asyncio.Future[None] | None = None  # set while the peer is not reading

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self._on_connect(self)

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        if self._partial:
            data = self._partial + data
        end = data.rfind(b"\n") + 1  # the complete lines end there
        self._partial = data[end:]
        complete = data[:end]
        if len(data) > MAX_LINE and (
            len(self._partial) > MAX_LINE
            or any(len(line) > MAX_LINE for line in complete.split(b"\n"))
        ):
            # The lines before the long one are still read; then the read fails.
            raw = complete.split(b"\n")[:-1]  # after the last newline: the long partial
            raw = list(itertools.takewhile(lambda line: len(line) <= MAX_LINE, raw))
            self._add([decode_line(line) for line in raw])
            self._fail(LineTooLong(f"line over {MAX_LINE} bytes"))
            return
        if end:
            # Decoded at once (a newline never falls inside a UTF-8 character): a header's
            # twenty-odd lines cost one decode, not one each.
            text = complete.decode("utf-8", "replace")
            lines = text.split("\n")
            lines.pop()  # the empty rest after the last newline
            if "\r" in text:
                lines = [line.rstrip("\r") for line in lines]
                self._add(lines, sum(map(len, lines)) + len(lines))
            else:
                self._add(lines, len(text))
            self._wake()

    def eof_received(self) -> bool | None:
        self._fail(ConnectionClosed("peer closed the connection"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionClosed(f"connection lost: {exc}" if exc else "peer closed"))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        if self._writable is None or self._writable.done():
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- Lines -----------------------------------------------------------------------

    async def read_line(self, deadline: float | None = None) -> str:
        """The next line; ``TimeoutError`` once the loop's clock passes ``deadline``."""
        while not self._lines:
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self._loop.create_future()
            if deadline is not None:
                self._watch(deadline)
            try:
                await waiter
            finally:
                self._waiter = None
        return self._pop()

    def take_line(self) -> str | None:
        """The next line if one is already here (no waiting, no coroutine)."""
        return self._pop() if self._lines else None

    def take_header_lines(self) -> list[str]:
        """The lines already here, up to and including the first empty one (the end of an
        AGI header), at once: the header usually arrives in one segment, and is read in one
        go (per line, the calls cost more than the parsing)."""
        lines = self._lines
        try:
            count = lines.index("") + 1
        except ValueError:
            count = len(lines)
        if count == len(lines):
            taken = list(lines)
            lines.clear()
        else:
            taken = [lines.popleft() for _ in range(count)]
        self._consumed(sum(map(len, taken)) + count)
        return taken

    async def write_line(self, line: str) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionClosed("connection closed")
        self.transport.write(line.encode("utf-8") + b"\n")
        if self._writable is not None and not self._writable.done():
            await self._writable

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def peer(self) -> object:
        return self.transport.get_extra_info("peername") if self.transport else None

    # -- internals -------------------------------------------------------------------

    def _add(self, lines: list[str], size: int | None = None) -> None:
        """Queue complete lines (``size``: their characters, newlines included); pause a
        peer that is too far ahead of our reads."""
        self._lines.extend(lines)
        self._unread += sum(map(len, lines)) + len(lines) if size is None else size
        if self._unread > MAX_UNREAD and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def _pop(self) -> str:
        line = self._lines.popleft()
        self._consumed(len(line) + 1)
        return line

    def _consumed(self, size: int) -> None:
        self._unread -= size
        if self._reading_paused and self._unread <= MAX_UNREAD // 2 and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _watch(self, deadline: float) -> None:
        self._deadline = deadline
        if self._timer is None or self._timer.when() > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits; the next read arms the timer again
        if self._loop.time() >= self._deadline:
            waiter.set_exception(TimeoutError())
        else:
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
