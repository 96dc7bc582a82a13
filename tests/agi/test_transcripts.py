"""Our side of the recorded AGI sessions: the same lines, the same meaning.

A fake Asterisk (``peer.py``) replays ``agi_fast.jsonl`` to our FastAGI server and
``agi_classic.jsonl`` to ``callcenter``'s classic transport in a child process.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import pytest

from agi_scripts.fastagi import FastAgiServer
from agi_scripts.runner import ScriptContext
from tests.agi.peer import TRACES, load_transcript, replay
from tests.agi.recorder import recorder_script

pytestmark = pytest.mark.skipif(
    not (TRACES / "agi_fast.jsonl").exists(), reason=f"no AGI traces under {TRACES}"
)

QUOTED = "value with spaces, \"double\" and 'single' quotes 张"


def _check_observations(observed: dict[str, Any]) -> None:
    assert observed["existing"] == "hello world"
    assert observed["missing"] is None
    assert observed["name"] == 'O\'Brien "VIP" 张'
    assert observed["all"] == '"O\'Brien "VIP" 张" <5551234>'
    assert observed["get_set"] == QUOTED
    assert observed["get_empty"] == ""
    assert observed["status"] == 6
    assert observed["get_data"] == "123"
    assert observed["stream"] == "5"
    assert observed["stream_end"] is None
    assert observed["wait"] == "hung_up"
    assert observed["after_existing"] == "hello world"
    for dead in ("after_answer", "after_stream", "after_wait", "after_status"):
        assert observed[dead] == "hung_up"


async def test_fastagi_sends_the_recorded_lines_and_reads_the_replies():
    records = load_transcript("agi_fast.jsonl")
    observed: list[Any] = []
    server = FastAgiServer({"route": recorder_script(observed)}, ScriptContext())
    await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        seen = await replay(records, reader, writer)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # server closes when done
        writer.close()
    finally:
        await server.close()
    assert seen.received == seen.expected
    found = dict(item[:2] if len(item) == 2 else (item[0], item[1:]) for item in observed)
    _check_observations(found)
    assert found["set2"][0] == 520
    assert found["set2"][1] == ("Sets a variable to the current channel.",)
    assert found["junk"].code == 510
    flags = [item[1] for item in observed if item[0] == "hung_up_flag"]
    # FastAGI's HANGUP line comes only with the reply to the command after WAIT FOR DIGIT.
    assert flags == [True, True]


async def test_classic_agi_sends_the_recorded_lines_and_survives_sighup():
    records = load_transcript("agi_classic.jsonl")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.agi.recorder",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stderr is not None

    async def sighup(_line: str) -> None:
        child.send_signal(signal.SIGHUP)
        await asyncio.sleep(0.2)  # the signal lands before the reply, as recorded

    try:
        seen = await replay(records, child.stdout, child.stdin, on_signal=sighup)
        child.stdin.close()
        err = await asyncio.wait_for(child.stderr.read(), 10)
        assert await asyncio.wait_for(child.wait(), 10) == 0, err.decode()
    finally:
        if child.returncode is None:
            child.kill()
    assert seen.received == seen.expected
    observed = json.loads(err.decode().strip().splitlines()[-1])
    found = {item[0]: item[1] if len(item) == 2 else item[1:] for item in observed}
    _check_observations(found)
    assert found["bare_get_data"][0] == 520
    flags = [item[1] for item in observed if item[0] == "hung_up_flag"]
    assert flags == [True, True]  # SIGHUP marked the session before the -1
