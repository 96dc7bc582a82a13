"""The FastAGI server under bad input: each bad connection ends alone, the rest are served."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from agi_scripts.fastagi import FastAgiServer
from agi_scripts.protocol import MAX_LINE
from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession
from tests.agi.peer import channel, environment_lines, fake_call


async def greet(session: AgiSession, _context: ScriptContext) -> None:
    """A healthy script: reads the caller's name and sets one variable."""
    await session.set_variable("CC_GREETED", session.environment.caller_name)


async def ask(session: AgiSession, _context: ScriptContext) -> None:
    await session.get_data("beep", 3000, 4)
    await session.set_variable("CC_AFTER", "1")


async def broken(_session: AgiSession, _context: ScriptContext) -> None:
    raise RuntimeError("a bug in a script")


@pytest.fixture
async def server() -> AsyncIterator[FastAgiServer]:
    scripts = {"greet": greet, "ask": ask, "broken": broken}
    server = FastAgiServer(
        scripts, ScriptContext(fallback="queue:service-desk"), header_timeout=0.5, reply_timeout=1.0
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _served(server: FastAgiServer) -> None:
    """A good call still gets its answer."""
    variables: dict[str, str] = {}
    await fake_call(server.port, "greet", channel(variables))
    assert variables == {"CC_GREETED": 'O\'Brien "VIP" 张'}


async def _send_then_read(port: int, data: bytes, *, close: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    if close:
        writer.close()
        return b""
    try:
        return await asyncio.wait_for(reader.read(), 3)
    except ConnectionResetError:  # closed with our bytes unread: a reset, still a close
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\n",
        b"agi_network yes\n\n",
        b"\xff\xfe\x00garbage\n\n",
        b"agi_x: " + b"y" * (MAX_LINE + 10) + b"\n\n",
        b"".join(b"agi_x%d: y\n" % i for i in range(300)) + b"\n",
    ],
    ids=["http", "empty", "no-colon", "binary", "long-line", "too-many-lines"],
)
async def test_malformed_header_is_closed_without_a_command(server, data):
    assert await _send_then_read(server.port, data) == b""
    assert server.stats.bad == 1
    await _served(server)


async def test_partial_header_then_close(server):
    await _send_then_read(server.port, b"agi_network: yes\nagi_network_scr", close=True)
    await asyncio.sleep(0.05)
    await _served(server)
    assert server.stats.active == 0


async def test_a_client_that_trickles_bytes_is_cut_off_while_others_are_served(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    header = "\n".join(environment_lines("greet")).encode()
    started = time.monotonic()

    async def trickle() -> None:
        for byte in header:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.02)

    trickling = asyncio.create_task(trickle())
    await _served(server)  # while the trickle goes on
    try:
        closed = await asyncio.wait_for(reader.read(), 3)
    except ConnectionResetError:  # a byte of the trickle came in as it closed: RST, not FIN
        closed = b""
    assert closed == b""
    assert time.monotonic() - started < 1.5  # header_timeout 0.5 s, not the trickle's 15 s
    trickling.cancel()
    writer.close()
    assert server.stats.bad == 1


async def test_caller_hangs_up_mid_script(server):
    """As recorded: HANGUP comes before the reply; later media commands get 511."""
    replies = iter([["HANGUP", "200 result=-1"]])

    def respond(line: str) -> list[str]:
        if line.startswith("GET DATA"):
            return next(replies)
        return ["511 Command Not Permitted on a dead channel or intercept routine"]

    commands = await fake_call(server.port, "ask", respond)
    assert commands == ["GET DATA beep 3000 4"]  # no fallback set on a dead channel
    assert server.stats.outcomes == {"hung_up": 1}


async def test_511_ends_the_script_quietly(server):
    respond = lambda _line: ["511 Command Not Permitted on a dead channel or intercept routine"]  # noqa: E731
    assert await fake_call(server.port, "ask", respond) == ["GET DATA beep 3000 4"]
    assert server.stats.outcomes == {"hung_up": 1}


async def test_a_failing_script_sends_the_caller_to_the_fallback(server):
    variables: dict[str, str] = {}
    await fake_call(server.port, "broken", channel(variables))
    assert variables == {"CC_STATUS": "fallback", "CC_ROUTE": "queue:service-desk"}
    await _served(server)


async def test_unknown_script_sets_not_found(server):
    variables: dict[str, str] = {}
    await fake_call(server.port, "nonesuch", channel(variables))
    assert variables["CC_STATUS"] == "not_found"


async def test_asterisk_silent_after_a_command_times_out_alone(server):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write("".join(line + "\n" for line in environment_lines("greet")).encode())
    assert (await reader.readline()).startswith(b"SET VARIABLE CC_GREETED")
    await _served(server)  # while that one waits for a reply that never comes
    # After reply_timeout the line is out of step: nothing more is sent, it is closed.
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_junk_reply_closes_only_that_connection(server):
    assert await fake_call(server.port, "greet", lambda _line: ["HTTP/1.1 200 OK"]) != []
    await _served(server)


async def test_thousand_concurrent_connections_are_all_served(server):
    results: list[dict[str, str]] = [{} for _ in range(1000)]
    await asyncio.wait_for(
        asyncio.gather(*(fake_call(server.port, "greet", channel(v)) for v in results)), 30
    )
    assert all(v == {"CC_GREETED": 'O\'Brien "VIP" 张'} for v in results)
    assert server.stats.outcomes == {"done": 1000}
    assert server.stats.active == 0


async def test_connections_beyond_the_limit_are_refused_not_queued():
    server = FastAgiServer({"greet": greet}, ScriptContext(), max_connections=1)
    await server.start("127.0.0.1", 0)
    try:
        _reader, first = await asyncio.open_connection("127.0.0.1", server.port)
        await asyncio.sleep(0.05)
        assert await _send_then_read(server.port, b"agi_network: yes\n\n") == b""
        assert server.stats.refused == 1
        first.close()
    finally:
        await server.close()
