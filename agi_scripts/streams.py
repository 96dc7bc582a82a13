"""Lines over asyncio streams (TCP for FastAGI, pipes for classic AGI), with limits.

A line longer than :data:`~agi_scripts.protocol.MAX_LINE` is refused, not buffered: the
stream's limit makes ``readuntil`` fail once that many bytes came without a newline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from agi_scripts.protocol import MAX_LINE, Environment, EnvironmentParser, decode_line
from agi_scripts.session import ConnectionClosed, Lines, LineTooLong


class StreamLines:
    """:class:`~agi_scripts.session.Lines` over a reader (created with ``limit=MAX_LINE``)
    and a writer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read_line(self, deadline: float | None = None) -> str:
        try:
            async with asyncio.timeout_at(deadline):
                raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionClosed("peer closed the connection") from exc
        except asyncio.LimitOverrunError as exc:
            raise LineTooLong(f"line over {MAX_LINE} bytes") from exc
        return decode_line(raw)

    async def write_line(self, line: str) -> None:
        self.writer.write(line.encode("utf-8") + b"\n")
        await self.writer.drain()


async def read_environment(lines: Lines, deadline: float | None = None) -> Environment:
    """Read the ``agi_*`` header up to its empty line (bounded by the parser), whole by
    ``deadline`` (the loop's clock), so a client trickling bytes cannot hold a session."""
    parser = EnvironmentParser()
    # AgiConnection: the lines already received, up to the header's end, in one go.
    take: Callable[[], list[str]] | None = getattr(lines, "take_header_lines", None)
    while True:
        batch = take() if take is not None else None
        if not batch:
            batch = [await lines.read_line(deadline)]
        if parser.feed_lines(batch):
            return parser.environment()
