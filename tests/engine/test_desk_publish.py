"""The desk's publisher: what a call publishes, in one write per dispatcher step, at once
for what an agent waits for, and never losing the latest retained state however the
broker's acknowledgements come (a fake link: it records writes and acknowledges on
demand; tests/bus/test_batch.py runs the real link against real brokers)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any, cast

import aiomqtt
import pytest

from ari_app.engine.desk import Desk, Item
from callcenter.bus import schemas, topics
from callcenter.bus.client import BusSettings
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.states import AgentState, CallState, CallTrigger

A, C, T = AgentState, CallState, CallTrigger


class FakeLink:
    """A link that records each write (the publishes of one ``batch``) and acknowledges
    a QoS 1 message only when told to, like a broker whose PUBACKs are late (QoS 0: at
    the write, as paho)."""

    def __init__(self) -> None:
        self.on_acknowledged: Any = None
        self.writes: list[list[tuple[str, schemas.AnyMessage, bool]]] = []
        self.unacked: list[int] = []
        self.qos: dict[str, set[int]] = {}  # topic -> the QoS it was published at
        self._written: list[int] = []  # QoS 0: told acknowledged once written
        self.down = False
        self._mids = iter(range(1, 1 << 30))
        self._open: list[tuple[str, schemas.AnyMessage, bool]] | None = None

    def publish_nowait(
        self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
    ) -> int:
        if self.down:
            raise aiomqtt.MqttCodeError(4, "could not publish")
        assert self._open is not None, "published outside a batch"
        parsed = topics.parse(topic)
        assert parsed is not None
        self._open.append((topic, schemas.decode(parsed, payload), retain))
        self.qos.setdefault(topic, set()).add(qos)
        mid = next(self._mids)
        (self.unacked if qos == 1 else self._written).append(mid)
        return mid

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        self._open = []
        try:
            yield
        finally:
            if self._open:
                self.writes.append(self._open)
            self._open = None
            written, self._written = self._written, []
            for mid in written:  # as paho tells of a QoS 0 message: once it wrote it
                self.on_acknowledged(mid)

    def ack(self, count: int | None = None) -> None:
        """The broker acknowledges the ``count`` oldest (all by default)."""
        count = len(self.unacked) if count is None else count
        for mid in self.unacked[:count]:
            self.on_acknowledged(mid)
        del self.unacked[:count]

    @property
    def published(self) -> list[tuple[str, schemas.AnyMessage, bool]]:
        return [message for write in self.writes for message in write]


def desk(in_flight: int = 100) -> Desk:
    engine = SimpleNamespace(
        executor=SimpleNamespace(config=None), router=SimpleNamespace(agents={}, queues={}),
        calls={}, now=lambda: 0.0,
    )  # fmt: skip
    built = Desk(cast(Any, engine), BusSettings("127.0.0.1", 1, "engine", "x"))
    built.in_flight = in_flight
    return built


@contextlib.asynccontextmanager
async def publishing(built: Desk, link: FakeLink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(built._publish(link))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def turns(count: int = 5) -> None:
    """Let the loop run ``count`` times without any time passing (no timer fires)."""
    for _ in range(count):
        await asyncio.sleep(0)


def one_call(built: Desk, call: str = "c1", agent: str = "1001") -> None:
    """A call's life as the dispatcher records it: offered, answered, hung up."""
    built.record(ev.CallEnqueued(1.0, call, "sales"), [
        cmd.CallStateChanged(call, "sales", C.WAITING, C.RINGING, T.OFFER),
        cmd.AgentStateChanged(agent, A.READY, A.RINGING, "offer", call=call),
        cmd.Ring(call, agent, f"PJSIP/{agent}", 15, "sales"),
    ])  # fmt: skip
    built.record(ev.Event(2.0), [
        cmd.CallStateChanged(call, "sales", C.RINGING, C.CONNECTED, T.ANSWER),
        cmd.AgentStateChanged(agent, A.RINGING, A.ON_CALL, "answer", call=call),
        cmd.Connect(call, agent, "sales", record=False),
    ])  # fmt: skip
    built.record(ev.Event(3.0), [
        cmd.CallStateChanged(call, "sales", C.CONNECTED, C.DONE, T.HANGUP),
        cmd.AgentStateChanged(agent, A.ON_CALL, A.READY, "hangup"),
    ])  # fmt: skip


def kinds(messages: list[tuple[str, schemas.AnyMessage, bool]]) -> list[str]:
    named = []
    for topic, message, _retain in messages:
        parsed = topics.parse(topic)
        assert parsed is not None
        detail = getattr(message, "state", None) or getattr(message, "kind", "")
        named.append(f"{parsed.kind}:{detail}" if detail else str(parsed.kind))
    return named


async def test_a_call_publishes_one_write_per_dispatcher_step_agent_facing_first() -> None:
    built, link = desk(), FakeLink()
    async with publishing(built, link):
        built.record(ev.CallEnqueued(1.0, "c1", "sales"), [
            cmd.CallStateChanged("c1", "sales", C.WAITING, C.RINGING, T.OFFER),
            cmd.AgentStateChanged("1001", A.READY, A.RINGING, "offer", call="c1"),
            cmd.Ring("c1", "1001", "PJSIP/1001", 15, "sales"),
        ])  # fmt: skip
        await turns()
        link.ack()
        built.record(ev.Event(2.0), [
            cmd.CallStateChanged("c1", "sales", C.RINGING, C.CONNECTED, T.ANSWER),
            cmd.AgentStateChanged("1001", A.RINGING, A.ON_CALL, "answer", call="c1"),
            cmd.Connect("c1", "1001", "sales", record=False),
        ])  # fmt: skip
        await turns()
        built.record(ev.Event(3.0), [
            cmd.CallStateChanged("c1", "sales", C.CONNECTED, C.DONE, T.HANGUP),
            cmd.AgentStateChanged("1001", A.ON_CALL, A.READY, "hangup"),
        ])  # fmt: skip
        await turns()
    # Agent-facing first (state, offer), then the supervisors' call events; no "ring" or
    # "connect" call event: the agent's state and the call's say it already.
    assert [kinds(write) for write in link.writes] == [
        ["agent_state:ringing", "agent_offer", "call_events:ringing"],
        ["agent_state:on_call", "call_events:connected"],
        ["agent_state:ready", "call_events:done"],
    ]
    assert all(retain == (topics.parse(t).kind in topics.RETAINED)  # type: ignore[union-attr]
               for t, _, retain in link.published)  # fmt: skip
    # Retained state at QoS 0 (republished whole on every new link), the rest at QoS 1.
    assert link.qos == {
        topics.agent_state("1001"): {0}, topics.agent_offer("1001"): {1},
        topics.call_events("c1"): {1},
    }  # fmt: skip


async def test_the_offer_and_the_agents_state_leave_in_the_same_loop_turn() -> None:
    built, link = desk(), FakeLink()
    loop = asyncio.get_running_loop()
    async with publishing(built, link):
        await turns()
        before = loop.time()
        built.record(ev.Event(1.0), [
            cmd.AgentStateChanged("1001", A.READY, A.RINGING, "offer", call="c1"),
            cmd.Ring("c1", "1001", "PJSIP/1001", 15, "sales"),
        ])  # fmt: skip
        await turns(2)  # no timer, no wait for company: written at the publisher's next turn
        assert kinds(link.published) == ["agent_state:ringing", "agent_offer"]
        assert loop.time() - before < 0.05
        # A reply too, even with supervisor traffic waiting behind it.
        for n in range(50):
            built.outbox.put(topics.ALERTS, alert(n))
        reply = schemas.Reply(request_id="r1", ok=True)
        built.outbox.put(topics.agent_reply("1001", "r1"), reply, urgent=True)
        await turns(2)
        assert link.writes[-1][0][1] == reply


def alert(n: int) -> schemas.AlertMessage:
    return schemas.AlertMessage(kind="surge", queue="sales", text=f"alert {n}", at=float(n))


def state(agent: str, value: AgentState, since: float) -> schemas.AgentStateMessage:
    return schemas.AgentStateMessage(agent=agent, state=value, previous=A.READY, since=since)


@pytest.mark.parametrize("seed", range(5))
async def test_coalescing_never_loses_the_final_state_nor_an_event(seed: int) -> None:
    """Late acknowledgements (a window of 2) make states wait and coalesce: whatever the
    timing, every retained topic ends with its latest value published, and every
    non-retained message is published once, in order."""
    rng = random.Random(seed)
    built, link = desk(in_flight=2), FakeLink()
    latest: dict[str, schemas.AnyMessage] = {}
    events: list[schemas.AnyMessage] = []
    async with publishing(built, link):
        for n in range(300):
            action = rng.random()
            if action < 0.5:
                agent = rng.choice(["1001", "1002", "1003"])
                message = state(agent, rng.choice(list(A)), float(n))
                built.outbox.put(topics.agent_state(agent), message, retain=True, urgent=True)
                latest[topics.agent_state(agent)] = message
            elif action < 0.7:
                events.append(alert(n))
                built.outbox.put(topics.ALERTS, events[-1])
            else:
                link.ack(rng.randint(0, 2))
            await turns(rng.randint(0, 2))
        for _ in range(50):  # the broker catches up
            link.ack()
            await turns()
        assert not built.outbox
    last = {topic: message for topic, message, _ in link.published}
    assert {topic: last[topic] for topic in latest} == latest
    assert [m for t, m, _ in link.published if t == topics.ALERTS] == events
    assert len(link.published) < len(events) + 150  # states did coalesce while waiting


async def test_unacknowledged_messages_go_first_on_the_next_link_in_order() -> None:
    built, first = desk(), FakeLink()
    async with publishing(built, first):
        for n in range(3):
            built.outbox.put(topics.ALERTS, alert(n))
        await turns()
        first.ack(1)  # alert 0 reached the broker; 1 and 2 are in flight when it drops
    built.outbox.put(topics.ALERTS, alert(3))
    second = FakeLink()
    async with publishing(built, second):
        await turns()
    assert [m for _, m, _ in second.published] == [alert(1), alert(2), alert(3)]


async def test_a_failed_publish_is_kept_and_tried_again() -> None:
    built, link = desk(), FakeLink()
    link.down = True
    async with publishing(built, link):
        built.outbox.put(topics.ALERTS, alert(1))
        built.outbox.put(topics.ALERTS, alert(2))
        await turns()
        assert link.published == []
        assert len(built.outbox) == 2
        link.down = False
        await asyncio.sleep(0.15)  # the publisher waits 0.1 s after a failure
        await turns()
    assert [m for _, m, _ in link.published] == [alert(1), alert(2)]


async def test_the_in_flight_window_holds_the_rest_until_acknowledged() -> None:
    built, link = desk(in_flight=3), FakeLink()
    async with publishing(built, link):
        for n in range(5):
            built.outbox.put(topics.ALERTS, alert(n))
        await turns()
        assert [m for _, m, _ in link.published] == [alert(0), alert(1), alert(2)]
        link.ack(2)
        await turns()
        assert [m for _, m, _ in link.published] == [alert(n) for n in range(5)]


def test_unsent_agent_states_coalesce_to_the_latest_in_the_outbox() -> None:
    built = desk()  # no link: nothing is taken while the call goes on
    one_call(built)
    taken: list[Item] = []
    while (item := built.outbox.take_nowait()) is not None:
        taken.append(item)
    assert sorted(kinds([(t, cast(Any, m), r) for t, m, r in taken])) == sorted([
        "agent_state:ready",  # retained: the three states of 1001 coalesced while unsent
        "agent_offer",
        "call_events:ringing", "call_events:connected", "call_events:done",
    ])  # fmt: skip
