"""``callcenter fastagi`` as Asterisk meets it: a child process on loopback."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from tests.agi.peer import channel, fake_call


async def test_callcenter_fastagi_serves_and_stops_on_sigterm(tmp_path):
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "fastagi", "--port", "0",
        "--db", str(tmp_path / "cc.db"), "--config", str(tmp_path / "none"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert server.stdout is not None
    try:
        line = await asyncio.wait_for(server.stdout.readline(), 20)
        match = re.search(rb"FastAGI on 127\.0\.0\.1:([0-9]+)", line)
        assert match is not None, line
        variables: dict[str, str] = {}
        await fake_call(int(match.group(1)), "caller_lookup", channel(variables))
        assert variables == {"CC_STATUS": "unknown", "CC_VIP": "0"}
        server.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(server.wait(), 10) == 0
    finally:
        if server.returncode is None:
            server.kill()
