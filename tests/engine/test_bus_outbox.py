"""The desk's outbox: the dispatcher never waits for the bus, so what waits is bounded,
retained state is coalesced per topic, and a new link gets all retained state again."""

from __future__ import annotations

import asyncio

from ari_app.engine.desk import Outbox
from callcenter.bus import schemas, topics
from callcenter.core.states import AgentState


def state(agent: str, value: AgentState, since: float) -> schemas.AgentStateMessage:
    return schemas.AgentStateMessage(
        agent=agent, state=value, previous=AgentState.LOGGED_OUT, since=since
    )


def alert(n: int) -> schemas.AlertMessage:
    return schemas.AlertMessage(kind="surge", queue="sales", text=f"alert {n}", at=float(n))


async def drain(outbox: Outbox) -> list[tuple[str, schemas.BusMessage, bool]]:
    taken = []
    while len(outbox):
        taken.append(await outbox.take())
    return taken


async def test_retained_state_is_coalesced_in_place_and_kept_for_republishing() -> None:
    outbox = Outbox()
    outbox.put(topics.agent_state("1001"), state("1001", AgentState.READY, 1), retain=True)
    outbox.put(topics.ALERTS, alert(1))
    outbox.put(topics.agent_state("1001"), state("1001", AgentState.RINGING, 2), retain=True)
    outbox.put(topics.agent_state("1002"), state("1002", AgentState.READY, 3), retain=True)
    taken = await drain(outbox)
    assert [(topic, message) for topic, message, _ in taken] == [
        (topics.agent_state("1001"), state("1001", AgentState.RINGING, 2)),  # latest, first place
        (topics.ALERTS, alert(1)),
        (topics.agent_state("1002"), state("1002", AgentState.READY, 3)),
    ]
    outbox.republish_all()  # a new broker: every retained topic again, latest value
    again = await drain(outbox)
    assert {topic: message for topic, message, _ in again} == {
        topics.agent_state("1001"): state("1001", AgentState.RINGING, 2),
        topics.agent_state("1002"): state("1002", AgentState.READY, 3),
    }
    assert all(retain for _, _, retain in again)


async def test_under_pressure_the_oldest_events_are_dropped_never_state() -> None:
    outbox = Outbox(limit=3)
    outbox.put(topics.agent_state("1001"), state("1001", AgentState.READY, 1), retain=True)
    for n in range(5):
        outbox.put(topics.ALERTS, alert(n))
    assert outbox.dropped == 3
    taken = await drain(outbox)
    assert [message for _, message, _ in taken] == [
        state("1001", AgentState.READY, 1), alert(3), alert(4),
    ]  # fmt: skip


async def test_a_message_whose_publish_failed_goes_first_on_the_next_link() -> None:
    outbox = Outbox()
    outbox.put(topics.ALERTS, alert(1))
    outbox.put(topics.ALERTS, alert(2))
    first = await outbox.take()
    outbox.put_back(first)
    assert [message for _, message, _ in await drain(outbox)] == [alert(1), alert(2)]


async def test_take_waits_for_a_message() -> None:
    outbox = Outbox()
    waiting = asyncio.create_task(outbox.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    outbox.put(topics.ALERTS, alert(7))
    async with asyncio.timeout(1):
        assert (await waiting)[1] == alert(7)


async def test_offers_and_state_go_before_supervisor_traffic() -> None:
    outbox = Outbox()
    for n in range(3):
        outbox.put(topics.ALERTS, alert(n))
    outbox.put(topics.agent_state("1001"), state("1001", AgentState.RINGING, 9), retain=True,
               urgent=True)  # fmt: skip
    taken = await drain(outbox)
    assert [message for _, message, _ in taken] == [
        state("1001", AgentState.RINGING, 9), alert(0), alert(1), alert(2),
    ]  # fmt: skip
