"""The events websocket stays up: reconnect with bounded jittered backoff, resync on each
connect, dead-connection detection by ping, ApplicationReplaced, several servers.
Sleeps and random draws are injected, so nothing here waits for a real backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ari_app.client import AriClient, AriEvent, Backoff, Keepalive, Snapshot
from ari_app.client.events import ApplicationReplaced, ChannelDtmfReceived, StasisStart
from tests.ari.conftest import trace_lines
from tests.ari.fake_ari import FakeAri

FAST = Keepalive(interval=0.05, timeout=0.1, close_timeout=0.1, open_timeout=1.0)


@dataclass
class Recorder:
    """The engine side: what the client delivered, and the backoff sleeps it asked for."""

    events: asyncio.Queue[AriEvent] = field(default_factory=asyncio.Queue)
    snapshots: list[Snapshot] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    slept: asyncio.Event = field(default_factory=asyncio.Event)
    fail_next_event: bool = False

    async def on_event(self, event: AriEvent) -> None:
        if self.fail_next_event:
            self.fail_next_event = False
            raise RuntimeError("engine bug")
        await self.events.put(event)

    async def on_resync(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.slept.set()
        await asyncio.sleep(0)

    def client(self, fake: FakeAri, name: str = "ast1", **kwargs: Any) -> AriClient:
        return AriClient(
            fake.server(name),
            on_event=self.on_event,
            on_resync=self.on_resync,
            sleep=self.sleep,
            rand=lambda: 0.5,
            keepalive=kwargs.pop("keepalive", FAST),
            **kwargs,
        )

    async def next_event(self) -> AriEvent:
        async with asyncio.timeout(2):
            return await self.events.get()


def _reconnect_trace() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Channels and bridges listed after reconnecting, and DTMF `4` received then."""
    lines = trace_lines("reconnect.jsonl")
    rest = [ln for ln in lines if ln.get("dir") == "rest"]
    channels = next(r["response"] for r in rest if r["path"] == "/ari/channels" and r["t"] > 7)
    bridges = next(r["response"] for r in rest if r["path"] == "/ari/bridges" and r["t"] > 7)
    dtmf = next(
        ln["event"] for ln in lines if ln.get("dir") == "event" and ln["event"].get("digit") == "4"
    )
    return channels, bridges, dtmf


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def running(fake: FakeAri, recorder: Recorder) -> AsyncIterator[AriClient]:
    client = recorder.client(fake)
    task = asyncio.create_task(client.run())
    await fake.wait_sockets(1)
    async with asyncio.timeout(2):
        await client.connected.wait()
    yield client
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()


async def _connected_again(fake: FakeAri, client: AriClient, count: int) -> None:
    await fake.wait_sockets(count)
    async with asyncio.timeout(2):
        await client.connected.wait()


async def test_reconnect_after_drop_resyncs_with_listed_channels(
    fake: FakeAri, recorder: Recorder
) -> None:
    channels, bridges, dtmf = _reconnect_trace()
    fake.channels, fake.bridges = channels, bridges
    client = recorder.client(fake)
    task = asyncio.create_task(client.run())
    try:
        await _connected_again(fake, client, 1)
        fake.drop()  # Asterisk does not replay what it sends while we are away
        await _connected_again(fake, client, 2)
        await fake.emit(dtmf)
        event = await recorder.next_event()
    finally:
        task.cancel()
        await client.aclose()
    assert isinstance(event, ChannelDtmfReceived)
    assert event.digit == "4"
    assert len(recorder.snapshots) == 2
    listed = [c.id for c in recorder.snapshots[1].channels]
    assert listed == [c["id"] for c in channels]
    assert [b.id for b in recorder.snapshots[1].bridges] == ["hold-reconnect"]
    assert recorder.delays == [Backoff().delay(0, lambda: 0.5)]
    assert fake.sent("GET", "/ari/channels")
    assert fake.ws_paths[0] == "/ari/events?app=callcenter&api_key=callcenter:secret"


async def test_unanswered_pings_declare_the_connection_dead(
    fake: FakeAri, running: AriClient, recorder: Recorder
) -> None:
    fake.freeze()
    await _connected_again(fake, running, 2)
    assert len(recorder.snapshots) == 2


async def test_malformed_events_and_handler_errors_do_not_break_the_stream(
    fake: FakeAri, running: AriClient, recorder: Recorder
) -> None:
    _, _, dtmf = _reconnect_trace()
    recorder.fail_next_event = True
    await fake.emit(dtmf)  # the handler raises on this one
    await fake.emit("not json")
    await fake.emit({"type": "StasisStart"})  # no channel
    await fake.emit({"type": "ChannelDialplan", "channel": {}})  # not modelled
    await fake.emit(dtmf)
    event = await recorder.next_event()
    assert isinstance(event, ChannelDtmfReceived)
    assert len(fake.ws_paths) == 1


async def test_application_replaced_stops_without_reconnecting(
    fake: FakeAri, recorder: Recorder
) -> None:
    client = recorder.client(fake)
    task = asyncio.create_task(client.run())
    await _connected_again(fake, client, 1)
    replaced = next(
        ln["event"]
        for ln in trace_lines("reconnect.jsonl")
        if ln.get("dir") == "event" and ln["event"]["type"] == "ApplicationReplaced"
    )
    await fake.emit(replaced)
    async with asyncio.timeout(2):
        await task  # run() returns
    await client.aclose()
    assert isinstance(await recorder.next_event(), ApplicationReplaced)
    assert client.replaced
    assert len(fake.ws_paths) == 1
    assert recorder.delays == []


async def test_unreachable_server_backs_off_bounded_without_spinning(recorder: Recorder) -> None:
    gone = await FakeAri().start()
    url_server = gone.server()
    await gone.close()  # nothing listens on that port any more
    backoff = Backoff(base=0.5, factor=2.0, cap=4.0)
    client = AriClient(
        url_server,
        on_event=recorder.on_event,
        on_resync=recorder.on_resync,
        backoff=backoff,
        sleep=recorder.sleep,
        rand=lambda: 0.999,
    )
    task = asyncio.create_task(client.run())
    async with asyncio.timeout(2):
        while len(recorder.delays) < 8:
            await recorder.slept.wait()
            recorder.slept.clear()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()
    assert recorder.delays[:4] == pytest.approx([0.4995, 0.999, 1.998, 3.996], rel=1e-3)
    assert all(0.25 <= d <= 4.0 for d in recorder.delays)
    assert recorder.snapshots == []


async def test_wrong_credentials_are_retried_with_backoff(
    fake: FakeAri, recorder: Recorder
) -> None:
    client = recorder.client(fake)
    fake.password = "changed"  # the websocket upgrade gets 401 (errors.md)
    task = asyncio.create_task(client.run())
    async with asyncio.timeout(2):
        await recorder.slept.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()
    assert recorder.delays
    assert fake.ws_paths == []


def test_backoff_is_jittered_and_bounded() -> None:
    backoff = Backoff(base=0.5, factor=2.0, cap=30.0)
    low = [backoff.delay(n, lambda: 0.0) for n in range(100)]
    high = [backoff.delay(n, lambda: 0.999999) for n in range(100)]
    assert low[:3] == [0.25, 0.5, 1.0]
    assert max(high) <= 30.0
    assert min(low) == 0.25  # never zero: a socket that closes at once cannot spin the loop
    assert all(lo < hi for lo, hi in zip(low, high, strict=True))


async def test_each_server_tags_its_events(recorder: Recorder) -> None:
    fakes = [await FakeAri().start(), await FakeAri().start()]
    clients = [recorder.client(f, name) for f, name in zip(fakes, ("ast1", "ast2"), strict=True)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        for f, c in zip(fakes, clients, strict=True):
            await _connected_again(f, c, 1)
        start = next(
            ln["event"]
            for ln in trace_lines("queue_moh_ring_answer.jsonl")
            if ln.get("dir") == "event" and ln["event"]["type"] == "StasisStart"
        )
        await fakes[1].emit(start)
        event = await recorder.next_event()
    finally:
        for t in tasks:
            t.cancel()
        for c, f in zip(clients, fakes, strict=True):
            await c.aclose()
            await f.close()
    assert isinstance(event, StasisStart)
    assert event.server == "ast2"
    assert {s.server for s in recorder.snapshots} == {"ast1", "ast2"}
