"""A console survives a broker restart: it reconnects with backoff and resyncs."""

import asyncio
from pathlib import Path

from callcenter.bus import schemas, topics
from callcenter.bus.broker import EmbeddedBroker
from callcenter.bus.client import BusClient, BusSettings, Received, run_with_reconnect
from callcenter.core.commands import AgentStateChanged
from callcenter.core.states import AgentState

from .conftest import PASSWORDS


def state(now: float) -> schemas.AgentStateMessage:
    change = AgentStateChanged("1001", AgentState.LOGGED_OUT, AgentState.READY, "login")
    return schemas.agent_state_message(change, now)


async def test_console_reconnects_and_resyncs_after_a_broker_restart(amqtt_password_file: Path):
    inbox: asyncio.Queue[Received] = asyncio.Queue()
    connections = 0

    async def console(client: BusClient) -> None:
        nonlocal connections
        connections += 1
        await client.subscribe(topics.agent_state("1001"))
        async for received in client.messages():
            inbox.put_nowait(received)

    broker = EmbeddedBroker(amqtt_password_file)
    await broker.start()
    engine_settings = BusSettings(broker.host, broker.port, "engine", PASSWORDS["engine"])
    agent = BusSettings(broker.host, broker.port, "1001", PASSWORDS["1001"])
    task = asyncio.create_task(run_with_reconnect(agent, console, max_backoff=0.2))
    try:
        async with BusClient(engine_settings) as engine:
            await engine.publish(topics.agent_state("1001"), state(1.0))
            async with asyncio.timeout(5):
                assert (await inbox.get()).message == state(1.0)
            await broker.stop()
            broker = EmbeddedBroker(amqtt_password_file, port=engine_settings.port)
            await broker.start()
        # The restarted broker has no retained state until the engine republishes it.
        async with BusClient(engine_settings) as engine:
            await engine.publish(topics.agent_state("1001"), state(2.0))
            async with asyncio.timeout(5):
                # State is idempotent: a duplicate of the old one (retained and live at
                # the same moment) may come first.
                while (message := (await inbox.get()).message) == state(1.0):
                    pass
            assert message == state(2.0)
        assert connections == 2
    finally:
        task.cancel()
        await broker.stop()
