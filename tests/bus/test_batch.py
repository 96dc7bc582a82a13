"""The engine's fast path through real brokers (embedded amqtt and Mosquitto): publishes
in one batch arrive whole and in order, every one is acknowledged, a closed link
refuses at once, and the link is idle afterwards (no writer left spinning)."""

from __future__ import annotations

import asyncio
import time

import aiomqtt
import pytest

from callcenter.bus import schemas, topics
from callcenter.bus.client import BusClient, Received
from callcenter.core.states import AgentState

from .conftest import Bus

COUNT = 60


def state(n: int) -> schemas.AgentStateMessage:
    return schemas.AgentStateMessage(
        agent="1001", state=AgentState.READY, previous=AgentState.PAUSED, since=float(n)
    )


async def received(client: BusClient, count: int) -> list[Received]:
    got: list[Received] = []
    async with asyncio.timeout(5):
        async for message in client.messages():
            got.append(message)
            if len(got) == count:
                return got
    raise AssertionError("message stream ended")


async def test_a_batch_arrives_whole_in_order_and_is_acknowledged(bus: Bus) -> None:
    async with bus.client("supervisor") as watcher, bus.client("engine") as engine:
        await watcher.subscribe(topics.ALERTS)
        await watcher.subscribe(topics.agent_state("1001"))
        acknowledged: list[int] = []
        all_acknowledged = asyncio.Event()

        def on_acknowledged(mid: int) -> None:
            acknowledged.append(mid)
            if len(acknowledged) == COUNT + 1:
                all_acknowledged.set()

        engine.on_acknowledged = on_acknowledged
        sent: list[int] = []
        with engine.batch():
            for n in range(COUNT):
                alert = schemas.AlertMessage(kind="surge", queue="sales", text=f"{n}", at=n)
                sent.append(engine.publish_nowait(topics.ALERTS, schemas.encode(alert)))
            sent.append(
                engine.publish_nowait(
                    topics.agent_state("1001"), schemas.encode(state(COUNT)), retain=True
                )
            )
        got = await received(watcher, COUNT + 1)
        async with asyncio.timeout(5):
            await all_acknowledged.wait()
    assert [r.message.text for r in got[:COUNT]] == [str(n) for n in range(COUNT)]  # type: ignore[union-attr]
    assert got[COUNT].message == state(COUNT)
    assert sorted(acknowledged) == sorted(sent)
    async with bus.client("1001") as late:  # the retain flag went along
        await late.subscribe(topics.agent_state("1001"))
        (again,) = await received(late, 1)
    assert again.retained
    assert again.message == state(COUNT)


async def test_the_link_is_idle_after_a_batch(bus: Bus) -> None:
    """The write paho asks for during a batch is done at its end: no writer is left
    registered on an empty socket (which would wake the loop on every turn)."""
    async with bus.client("engine") as engine:
        for round_ in range(5):
            with engine.batch():
                for n in range(10):
                    engine.publish_nowait(topics.agent_state("1001"), schemas.encode(state(n)))
            await asyncio.sleep(0.05 * round_)
        await asyncio.sleep(0.2)
        before = time.process_time()
        await asyncio.sleep(0.5)
        spent = time.process_time() - before
    assert spent < 0.1, f"{spent:.3f} s of CPU in 0.5 s idle"


async def test_publishing_on_a_closed_link_raises(bus: Bus) -> None:
    engine = bus.client("engine")
    async with engine:
        pass
    with pytest.raises(aiomqtt.MqttError):
        engine.publish_nowait(topics.ALERTS, b"{}")
