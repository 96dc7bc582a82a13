"""A prompt that is not installed: Asterisk answers ``result=-1`` as for a hang-up.

Seen on Asterisk 22.10.1 (tests/asterisk): ``STREAM FILE`` of a missing file answers
``200 result=-1 endpos=0`` and ``GET DATA`` with a missing prompt ``200 result=-1`` while the
caller is still there. The session asks ``CHANNEL STATUS`` (refused with 511 only on a dead
channel) to tell the two apart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import ScriptContext
from agi_scripts.session import AgiSession
from tests.agi.peer import channel, fake_call

MISSING = "cc/not-recorded-yet"


async def play_then_set(session: AgiSession, _context: ScriptContext) -> None:
    await session.stream_file(MISSING)
    await session.set_variable("CC_AFTER", "1")


async def ask(session: AgiSession, _context: ScriptContext) -> None:
    await session.get_data(MISSING, 3000, 4)
    await session.set_variable("CC_AFTER", "1")


def alive_without_the_file(variables: dict[str, str]):
    live = channel(variables)

    def respond(line: str) -> list[str]:
        if line.startswith("STREAM FILE"):
            return ["200 result=-1 endpos=0"]
        if line.startswith("GET DATA"):
            return ["200 result=-1"]
        if line == "CHANNEL STATUS":
            return ["200 result=6"]  # up
        return live(line)

    return respond


@pytest.fixture
async def server() -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(
        {"play": play_then_set, "ask": ask}, ScriptContext(fallback="queue:desk")
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def test_a_missing_prompt_is_logged_and_skipped(server, caplog):
    variables: dict[str, str] = {}
    with caplog.at_level(logging.WARNING, logger="agi_scripts.session"):
        sent = await fake_call(server.port, "play", alive_without_the_file(variables))
    assert sent == [f'STREAM FILE {MISSING} ""', "CHANNEL STATUS", "SET VARIABLE CC_AFTER 1"]
    assert variables == {"CC_AFTER": "1"}
    assert MISSING in caplog.text
    assert "sound file missing" in caplog.text
    assert server.stats.outcomes == {"done": 1}


async def test_a_missing_question_prompt_sends_the_caller_to_the_fallback(server):
    variables: dict[str, str] = {}
    await fake_call(server.port, "ask", alive_without_the_file(variables))
    # Keying blind is no service: the runner's fallback, not a silent end.
    assert variables == {"CC_STATUS": "fallback", "CC_ROUTE": "queue:desk"}
    assert server.stats.outcomes == {"fallback": 1}


async def test_a_real_hang_up_is_still_a_hang_up(server):
    def gone(line: str) -> list[str]:
        if line.startswith("STREAM FILE"):
            return ["200 result=-1 endpos=0"]
        return ["HANGUP", "511 Command Not Permitted on a dead channel or intercept routine"]

    sent = await fake_call(server.port, "play", gone)
    assert sent == [f'STREAM FILE {MISSING} ""', "CHANNEL STATUS"]
    assert server.stats.outcomes == {"hung_up": 1}
