"""The embedded broker in a child process: it listens like the in-process one, is started
again when it dies, and never outlives the engine."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from callcenter.bus import topics
from callcenter.bus.broker import token_digest
from callcenter.bus.broker_process import BrokerProcess
from callcenter.bus.client import BusClient, BusSettings

TOKEN = "a-long-random-token-for-the-engine"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers signal 0: gone once its state says so.
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


async def until(what: Callable[[], bool], limit: float) -> None:
    """Poll: a process's end has no event to wait on here."""
    for _ in range(int(limit / 0.05)):
        if what():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still false after {limit} s")


async def connect(broker: BrokerProcess) -> None:
    async with BusClient(BusSettings(broker.host, broker.port, "engine", TOKEN)) as client:
        await client.subscribe(f"{topics.PREFIX}/agents/+/cmd")


async def test_a_broker_that_dies_is_started_again_on_the_same_port(
    amqtt_password_file: Path, tmp_path: Path
) -> None:
    broker = BrokerProcess(
        amqtt_password_file, tmp_path, tokens={"engine": token_digest(TOKEN)}, restart_delay=0.1
    )
    async with broker:
        await connect(broker)
        first, port = broker.pid, broker.port
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await until(lambda: broker.restarts == 1, 20)
        assert (broker.port, broker.pid != first) == (port, True)
        await connect(broker)
        second = broker.pid
    assert second is not None
    await until(lambda: gone(second), 5)


async def test_the_broker_exits_when_the_engine_is_killed(
    amqtt_password_file: Path, tmp_path: Path
) -> None:
    engine = textwrap.dedent(f"""
        import asyncio, pathlib, sys
        from callcenter.bus.broker_process import BrokerProcess
        async def main():
            broker = BrokerProcess(pathlib.Path({str(amqtt_password_file)!r}),
                                   pathlib.Path({str(tmp_path)!r}))
            await broker.start()
            print(broker.pid, flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
    """)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", engine, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    async with asyncio.timeout(20):
        child = int(await process.stdout.readline())
    process.kill()  # SIGKILL: no clean-up runs in the engine
    await process.wait()
    await until(lambda: gone(child), 10)
