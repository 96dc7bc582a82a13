"""``AgiConnection``: FastAGI lines over a Protocol, with the stream version's limits."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from agi_scripts.connection import MAX_UNREAD, AgiConnection
from agi_scripts.protocol import MAX_LINE
from agi_scripts.session import ConnectionClosed, LineTooLong
from agi_scripts.streams import read_environment


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.paused = False
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, _name: str) -> Any:
        return ("127.0.0.1", 1)


def _connected() -> tuple[AgiConnection, FakeTransport]:
    accepted: list[AgiConnection] = []
    connection = AgiConnection(accepted.append)
    transport = FakeTransport()
    connection.connection_made(cast(asyncio.Transport, transport))
    assert accepted == [connection]
    return connection, transport


async def test_lines_split_across_segments_are_joined():
    connection, _ = _connected()
    connection.data_received(b"agi_network: y")
    connection.data_received(b"es\r\nagi_x: 1\n\n")
    assert [await connection.read_line() for _ in range(3)] == ["agi_network: yes", "agi_x: 1", ""]


async def test_a_waiting_read_wakes_when_its_line_arrives():
    connection, _ = _connected()
    reading = asyncio.create_task(connection.read_line())
    await asyncio.sleep(0)
    connection.data_received(b"200 result=1\n")
    assert await reading == "200 result=1"


@pytest.mark.parametrize(
    "chunks", [[b"ok\n" + b"x" * (MAX_LINE + 1)], [b"ok\n", b"x" * (MAX_LINE + 1) + b"\n"]]
)
async def test_a_line_over_the_limit_fails_after_the_lines_before_it(chunks):
    connection, _ = _connected()
    for chunk in chunks:
        connection.data_received(chunk)
    assert await connection.read_line() == "ok"
    with pytest.raises(LineTooLong):
        await connection.read_line()


async def test_a_read_past_its_deadline_times_out_and_a_later_deadline_still_holds():
    connection, _ = _connected()
    loop = asyncio.get_running_loop()
    with pytest.raises(TimeoutError):
        await connection.read_line(loop.time() + 0.05)
    # The lazy timer follows the newest deadline: this read is not cut at the old one.
    reading = asyncio.create_task(connection.read_line(loop.time() + 5))
    await asyncio.sleep(0.1)
    connection.data_received(b"late but in time\n")
    assert await reading == "late but in time"


async def test_a_shorter_deadline_after_a_longer_one_is_kept():
    connection, _ = _connected()
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(connection.read_line(loop.time() + 30))
    await asyncio.sleep(0)
    connection.data_received(b"x\n")
    assert await first == "x"
    started = loop.time()
    with pytest.raises(TimeoutError):
        await connection.read_line(loop.time() + 0.05)
    assert loop.time() - started < 1


async def test_a_flooding_peer_is_paused_until_its_lines_are_read():
    connection, transport = _connected()
    line = b"y" * 1000 + b"\n"
    connection.data_received(line * (MAX_UNREAD // len(line) + 2))
    assert transport.paused
    while connection.take_line() is not None:
        pass
    assert not transport.paused


async def test_eof_ends_reads_once_the_buffered_lines_are_read():
    connection, _ = _connected()
    connection.data_received(b"last\n")
    connection.eof_received()
    assert await connection.read_line() == "last"
    with pytest.raises(ConnectionClosed):
        await connection.read_line()
    connection.connection_lost(None)
    connection.close()
    with pytest.raises(ConnectionClosed):
        await connection.write_line("VERBOSE x")


async def test_a_header_is_taken_in_one_go_up_to_its_empty_line():
    connection, _ = _connected()
    connection.data_received(b"agi_network: yes\r\nagi_x: 1\n\n200 result=1\n")
    assert connection.take_header_lines() == ["agi_network: yes", "agi_x: 1", ""]
    assert await connection.read_line() == "200 result=1"  # what follows stays for the session
    assert connection.take_header_lines() == []


async def test_a_header_cut_inside_a_character_is_read_whole():
    connection, _ = _connected()
    raw = "agi_network: yes\nagi_calleridname: O'Brien 张\n\n".encode()
    cut = raw.index("张".encode()) + 1  # the middle of its three bytes
    connection.data_received(raw[:cut])
    reading = asyncio.create_task(read_environment(connection))
    await asyncio.sleep(0)
    connection.data_received(raw[cut:])
    assert (await reading).caller_name == "O'Brien 张"


async def test_the_flood_limit_holds_over_many_rounds_of_crlf_lines():
    # What is counted in must be counted out, or a peer would be paused too early or never.
    connection, transport = _connected()
    line = b"y" * 998 + b"\r\n"
    for _ in range(5):
        connection.data_received(line * (MAX_UNREAD // (len(line) - 1) - 1))
        assert not transport.paused
        connection.data_received(line * 2)
        assert transport.paused
        assert all(text == "y" * 998 for text in connection.take_header_lines())
        assert not transport.paused
        assert connection._unread == 0  # no drift: a slow one would show only after hours
