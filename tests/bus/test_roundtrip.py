"""Every message kind through a real broker (embedded amqtt and Mosquitto) with aiomqtt."""

import asyncio
import contextlib
import logging
import uuid

import aiomqtt

from callcenter.bus import schemas, topics
from callcenter.bus.client import BusClient, Received
from callcenter.bus.schemas import AgentCommand, CommandAction, Reply
from callcenter.core.commands import AgentStateChanged, CallStateChanged, Ring
from callcenter.core.queue import QueueStats
from callcenter.core.states import AgentState, CallState, CallTrigger

from .conftest import Bus

WAIT = 5.0


async def next_message(client: BusClient) -> Received:
    async with asyncio.timeout(WAIT):
        async for received in client.messages():
            return received
    raise AssertionError("message stream ended")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def test_a_late_console_sees_the_retained_state_at_once(bus: Bus):
    change = AgentStateChanged("1001", AgentState.LOGGED_OUT, AgentState.READY, "login")
    state = schemas.agent_state_message(change, now=float(uuid.uuid4().int % 10**9))
    async with bus.client("engine") as engine:
        await engine.publish(topics.agent_state("1001"), state)
    async with bus.client("1001") as console:
        await console.subscribe(topics.agent_state("1001"))
        received = await next_message(console)
    assert received.message == state
    assert received.retained


async def test_a_wallboard_sees_retained_queue_stats(bus: Bus):
    queue = unique("q")
    stats = schemas.queue_stats_message(queue, QueueStats(offered=3, answered=2), 1.0, waiting=1)
    async with bus.client("engine") as engine:
        await engine.publish(topics.queue_stats(queue), stats)
    async with bus.client("supervisor") as wallboard:
        await wallboard.subscribe(topics.queue_stats(queue))
        assert (await next_message(wallboard)).message == stats


async def test_offers_call_events_and_alerts_reach_their_readers(bus: Bus):
    call = unique("c")
    ring = Ring(call, "1001", "PJSIP/1001", 15, "sales")
    offer = schemas.offer_message(ring, 2.0, caller_name="<b>李雷</b>")
    event = schemas.call_state_event(
        CallStateChanged(call, "sales", CallState.WAITING, CallState.RINGING, CallTrigger.OFFER),
        2.0,
    )
    alert = schemas.AlertMessage(kind="surge", queue="sales", text="10 waiting", at=2.0)
    async with (
        bus.client("engine") as engine,
        bus.client("1001") as console,
        bus.client("supervisor") as wallboard,
    ):
        await console.subscribe(topics.agent_offer("1001"))
        await wallboard.subscribe(topics.call_events(call))
        await wallboard.subscribe(topics.ALERTS)
        await engine.publish(topics.agent_offer("1001"), offer)
        await engine.publish(topics.call_events(call), event)
        await engine.publish(topics.ALERTS, alert)
        assert (await next_message(console)).message == offer
        assert (await next_message(wallboard)).message == event
        assert (await next_message(wallboard)).message == alert


async def serve_commands(engine: BusClient, seen: list[tuple[str, AgentCommand]]) -> None:
    """A stand-in engine: answers each command on the sender's reply topic."""
    async for received in engine.messages():
        agent = topics.command_agent(topics.agent_cmd(received.topic.agent))
        command = received.message
        assert agent is not None
        assert isinstance(command, AgentCommand)
        seen.append((agent, command))
        reply = (
            Reply(request_id=command.request_id, ok=True)
            if command.action is CommandAction.PAUSE
            else Reply(request_id=command.request_id, ok=False, error="not supported")
        )
        await engine.publish(topics.agent_reply(agent, command.request_id), reply)


async def test_a_command_with_a_request_id_gets_its_reply(bus: Bus):
    seen: list[tuple[str, AgentCommand]] = []
    async with bus.client("engine") as engine, bus.client("1001") as console:
        await engine.subscribe("cc/v1/agents/+/cmd")
        server = asyncio.create_task(serve_commands(engine, seen))
        try:
            pause = AgentCommand(request_id=unique("r"), action=CommandAction.PAUSE)
            hold = AgentCommand(request_id=unique("r"), action=CommandAction.HOLD)
            assert await console.request("1001", pause) == Reply(
                request_id=pause.request_id, ok=True
            )
            refused = await console.request("1001", hold)
            assert (refused.ok, refused.error) == (False, "not supported")
        finally:
            server.cancel()
    assert seen == [("1001", pause), ("1001", hold)]


async def test_malformed_and_oversized_payloads_are_dropped_and_logged(bus: Bus, caplog):
    caplog.set_level(logging.WARNING, logger="callcenter.bus.client")
    good = AgentCommand(request_id=unique("r"), action=CommandAction.UNPAUSE)
    async with bus.client("engine") as engine, bus.client("1001") as console:
        await engine.subscribe(topics.agent_cmd("1001"))
        raw = console._client  # bypass the wrapper's own checks, as a hostile console would
        await raw.publish(topics.agent_cmd("1001"), b'{"v": 1, "action": "pause"}', qos=1)
        await raw.publish(topics.agent_cmd("1001"), b"\x00garbage", qos=1)
        # Over the bus's 64 KiB, under Mosquitto's max_packet_size: the reader refuses it.
        await raw.publish(topics.agent_cmd("1001"), b"{" + b" " * 65_600 + b"}", qos=1)
        await console.publish(topics.agent_cmd("1001"), good)
        received = await next_message(engine)
    assert received.message == good
    dropped = [
        r.getMessage()
        for r in caplog.records
        if r.name == "callcenter.bus.client" and "dropped" in r.getMessage()
    ]
    assert len(dropped) == 3
    assert all("cc/v1/agents/1001/cmd" in line for line in dropped)
    assert "oversized" in dropped[2]


async def test_a_huge_payload_never_reaches_the_engine(bus: Bus):
    good = AgentCommand(request_id=unique("r"), action=CommandAction.RESYNC)
    async with bus.client("engine") as engine:
        await engine.subscribe(topics.agent_cmd("1001"))
        # Mosquitto refuses the packet (max_packet_size) and may drop the connection;
        # amqtt passes it on and the engine's reader drops it.
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(0.5), bus.client("1001") as hostile:
                await hostile._client.publish(topics.agent_cmd("1001"), b"x" * 100_000, qos=1)
        async with bus.client("1001") as console:
            await console.publish(topics.agent_cmd("1001"), good)
        assert (await next_message(engine)).message == good
