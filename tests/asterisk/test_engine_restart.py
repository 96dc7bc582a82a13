"""``callcenter engine`` killed with SIGKILL on a real Asterisk, then started again.

One caller talks to agent 1001, two wait behind it. Asterisk keeps every channel and bridge
while no engine is connected (reconnect.md); the new engine reads them back with the ``CC_*``
variables the first one set: the talking call is adopted (its hang-up is logged, the agent is
freed), the waiting callers keep their order and their wait time, and nobody's phone rings
twice (the dialplan counts every ring Asterisk made, engine_rig.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from ari_app.client import AriClient
from ari_app.engine.marks import MARK
from tests.asterisk.ari import EventLog, originate_caller
from tests.asterisk.engine_rig import CONFIG, hang_up_everything, write_config
from tests.asterisk.rig import Asterisk
from tests.engine.marked import marked

pytestmark = pytest.mark.asterisk

App = tuple[AriClient, EventLog]
ENGINE = [sys.executable, "-c", "import sys; from callcenter.cli import main; sys.exit(main())"]


class EngineProcess:
    """``callcenter engine`` as a child process, its log in a file the test reads."""

    def __init__(self, asterisk: Asterisk, root: Path) -> None:
        conf = write_config(root / "conf", CONFIG)
        self.queue_log = root / "queue_log"
        self.log = root / "engine.log"
        settings = root / "engine.toml"
        settings.write_text(
            f'ari_url = "{asterisk.ari_url}"\nari_user = "{asterisk.ari_user}"\n'
            f'config_dir = "{conf}"\ndatabase_url = "{root / "cc.db"}"\n'
            f'queue_log_file = "{self.queue_log}"\nlogin_agents = ["1001"]\n'
            "config_poll_interval = 0\n"
        )
        # The secret by environment, as the README advises, not in the file.
        self.env = {**os.environ, "CALLCENTER_ARI_PASSWORD": asterisk.ari_password}
        self.command = [*ENGINE, "engine", "--settings", str(settings)]
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        with self.log.open("a") as out:
            out.write(f"--- run {self.runs} ---\n")
            out.flush()
            self.process = subprocess.Popen(
                self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # our own child, by its pid
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(5)

    def this_run(self) -> str:
        """The log of the current run."""
        text = self.log.read_text(errors="replace")
        return text.rsplit(f"--- run {self.runs} ---\n", 1)[-1]

    async def says(self, needle: str, limit: float = 10.0) -> str:
        """The first line of this run's log containing ``needle`` (waited for)."""
        deadline = time.monotonic() + limit
        while True:
            for line in self.this_run().splitlines():
                if needle in line:
                    return line
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"engine never logged {needle!r}:\n{self.this_run()[-4000:]}")
            await asyncio.sleep(0.05)

    async def logged(self, call: str, verbs: list[str], limit: float = 5.0) -> None:
        """Wait until the queue_log file holds ``verbs`` for ``call`` (the store writer
        flushes in batches, after the log line that says what happened)."""
        deadline = time.monotonic() + limit
        while self.verbs(call) != verbs:
            if time.monotonic() > deadline:
                raise AssertionError(f"queue_log of {call}: {self.verbs(call)} != {verbs}")
            await asyncio.sleep(0.05)

    def verbs(self, call: str) -> list[str]:
        """queue_log verbs of ``call`` (time|callid|queue|agent|verb|data...)."""
        if not self.queue_log.exists():
            return []
        return [
            fields[4]
            for fields in (line.split("|") for line in self.queue_log.read_text().splitlines())
            if len(fields) > 4 and fields[1] == call
        ]


@pytest.fixture
def engine_process(engine_asterisk: Asterisk, tmp_path: Path) -> Iterator[EngineProcess]:
    process = EngineProcess(engine_asterisk, tmp_path)
    yield process
    process.stop()


async def _rung(client: AriClient, agent: str) -> int:
    try:
        return int(await client.asterisk.get_variable(f"RUNG_{agent}") or 0)
    except Exception:
        return 0


async def _bridge_type(client: AriClient, channel: str) -> str | None:
    for bridge in await client.bridges.list():
        if channel in bridge.channels:
            return bridge.bridge_type
    return None


async def _until(what: Callable[[], Awaitable[object]], limit: float = 10.0, why: str = "") -> None:
    try:
        async with asyncio.timeout(limit):
            while not await what():  # noqa: ASYNC110 - Asterisk state, polled
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"still false after {limit:g} s: {why}") from None


async def test_sigkill_while_one_talks_and_two_wait_loses_nobody_and_rings_nobody_twice(
    engine_asterisk: Asterisk, engine_callers: App, engine_process: EngineProcess
) -> None:
    client, _ = engine_callers
    engine = engine_process
    try:
        engine.start()
        await engine.says("restore server=")  # connected, agents logged in
        rung = await _rung(client, "1001")
        talking = await originate_caller(client, "800", caller_number="5550001")
        await engine.says(f"connected call={talking.inbound} agent=1001")
        first = await originate_caller(client, "800", caller_number="5550002")
        await _until(lambda: _bridge_type(client, first.inbound), why="first waiting")
        second = await originate_caller(client, "800", caller_number="5550003")
        await _until(lambda: _bridge_type(client, second.inbound), why="second waiting")
        entered = {c.inbound: marked({MARK: await client.channels.get_variable(c.inbound, MARK)})
                   .entered for c in (first, second)}  # fmt: skip
        assert entered[first.inbound] < entered[second.inbound]
        # Killed once the journal is on disk: the store writer batches for 0.2 s, and lines
        # still in its batch die with the process (the restarted engine does not write a
        # restored call's ENTERQUEUE/CONNECT again, recovery.py).
        await engine.logged(talking.inbound, ["ENTERQUEUE", "CONNECT"])
        for call in (first, second):
            await engine.logged(call.inbound, ["ENTERQUEUE"])
        await asyncio.sleep(0.3)  # a wait worth keeping
        waited_before_kill = time.time() - entered[first.inbound]

        engine.kill()
        # Asterisk keeps everything while no engine is connected.
        assert await _bridge_type(client, talking.inbound) == "mixing"
        assert await _bridge_type(client, first.inbound) == "holding"
        assert await _rung(client, "1001") == rung + 1

        engine.start()
        line = await engine.says(f"restored call={talking.inbound} state=talking")
        assert "agent=1001" in line
        restored = {}
        for call in (first, second):
            line = await engine.says(f"restored call={call.inbound} state=waiting")
            restored[call.inbound] = float(line.rsplit("waited_s=", 1)[1].split()[0])
        assert restored[first.inbound] >= waited_before_kill - 0.05
        assert restored[first.inbound] >= restored[second.inbound]  # (logged to 0.1 s)
        for call in (first, second):  # the entry time is Asterisk's copy, kept as it was
            kept = marked({MARK: await client.channels.get_variable(call.inbound, MARK)})
            assert kept.entered == entered[call.inbound]
        await engine.says("restore server=")
        assert await _rung(client, "1001") == rung + 1  # the talking agent is not rung again
        assert await _bridge_type(client, talking.inbound) == "mixing"

        # The adopted call ends as any other: the first waiting caller is next, then the second.
        await client.channels.hangup(talking.caller)
        await engine.says(f"connected call={first.inbound} agent=1001")
        await engine.logged(talking.inbound, ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"])
        assert await _rung(client, "1001") == rung + 2
        await client.channels.hangup(first.caller)
        await engine.says(f"connected call={second.inbound} agent=1001")
        await engine.logged(first.inbound, ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"])
        await engine.logged(second.inbound, ["ENTERQUEUE", "CONNECT"])
        assert await _rung(client, "1001") == rung + 3
    finally:
        engine.stop()
        await hang_up_everything(client)
