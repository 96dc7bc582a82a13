"""The consoles' bus link on a real broker (embedded amqtt): commands, replies, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from callcenter.bus import topics
from callcenter.bus.broker import EmbeddedBroker, write_password_file
from callcenter.bus.client import BusClient, BusSettings, Received, new_request_id
from callcenter.bus.schemas import (
    AgentCommand,
    AgentStateMessage,
    CommandAction,
    Reply,
    SupervisorAction,
    SupervisorCommand,
)
from callcenter.core.states import AgentState
from console.agent_app import AgentConsole
from console.link import BusLink, LinkDownError
from console.resources import DeskResources
from console.widgets import ScreenPop, StateBar
from tests.console.conftest import HOSTILE_NAME, rendered
from tests.console.fake_engine import PIN, FakeEngine, serve_on_bus

PASSWORDS = {"engine": "engine-secret", "supervisor": "supervisor-secret", "1001": PIN}


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "passwd"
    write_password_file(path, PASSWORDS)
    return path


@pytest.fixture
async def broker(password_file: Path) -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker(password_file, supervisors=("supervisor",)) as running:
        yield running


def state_of(app: AgentConsole) -> AgentState | None:
    return app.desk.state  # a call: mypy must not narrow it across awaits


def settings(broker: EmbeddedBroker, user: str) -> BusSettings:
    return BusSettings(broker.host, broker.port, user, PASSWORDS[user])


async def test_agent_console_end_to_end_on_the_broker(
    broker: EmbeddedBroker, resources: DeskResources
) -> None:
    engine = FakeEngine("1001")
    async with BusClient(settings(broker, "engine")) as engine_client:
        serving = asyncio.create_task(serve_on_bus(engine_client, engine))
        app = AgentConsole(
            "1001",
            lambda pin: BusLink.for_agent(
                BusSettings(broker.host, broker.port, "1001", pin), "1001", max_backoff=0.2
            ),
            resources,
        )
        try:
            async with app.run_test(size=(130, 42)) as pilot:
                await pilot.pause()
                await pilot.press(*PIN, "enter")
                for _ in range(50):
                    await pilot.pause(0.05)
                    if state_of(app) is AgentState.READY:
                        break
                assert state_of(app) is AgentState.READY
                for message in engine.offer("c9", caller_name=HOSTILE_NAME, caller_number="1390"):
                    kind = "offer" if message.__class__.__name__ == "OfferMessage" else "state"
                    topic = (
                        topics.agent_offer("1001")
                        if kind == "offer"
                        else topics.agent_state("1001")
                    )
                    await engine_client.publish(topic, message)
                for _ in range(50):
                    await pilot.pause(0.05)
                    if app.desk.offer is not None:
                        break
                assert HOSTILE_NAME in rendered(app.query_one(ScreenPop))
                await pilot.press("f2")
                for _ in range(50):
                    await pilot.pause(0.05)
                    if state_of(app) is AgentState.ON_CALL:
                        break
                assert state_of(app) is AgentState.ON_CALL
                actions = [c.action for c in engine.commands if isinstance(c, AgentCommand)]
                # The resync on connecting races the login; both get there.
                assert sorted(actions) == sorted(
                    [CommandAction.RESYNC, CommandAction.LOGIN, CommandAction.ANSWER]
                )
                assert actions.index(CommandAction.LOGIN) < actions.index(CommandAction.ANSWER)
        finally:
            serving.cancel()


async def test_wrong_pin_never_connects(broker: EmbeddedBroker, resources: DeskResources) -> None:
    link = BusLink.for_agent(BusSettings(broker.host, broker.port, "1001", "0000"), "1001",
                             max_backoff=0.1)  # fmt: skip
    task = asyncio.create_task(link.run())
    await asyncio.sleep(0.5)
    assert not link.connected
    with pytest.raises(LinkDownError):
        await link.request(AgentCommand(request_id=new_request_id(), action=CommandAction.HOLD))
    task.cancel()


async def test_link_reconnects_resubscribes_and_resyncs(password_file: Path) -> None:
    broker = EmbeddedBroker(password_file, supervisors=("supervisor",))
    await broker.start()
    port = broker.port
    inbox: asyncio.Queue[Received] = asyncio.Queue()
    statuses: list[bool] = []
    connects = 0

    async def on_connect() -> None:
        nonlocal connects
        connects += 1

    link = BusLink.for_supervisor(settings(broker, "supervisor"), "supervisor", max_backoff=0.2)
    up, down = asyncio.Event(), asyncio.Event()

    def on_status(connected: bool) -> None:
        statuses.append(connected)
        (up if connected else down).set()
        (down if connected else up).clear()

    link.bind(inbox.put_nowait, on_status, on_connect)
    task = asyncio.create_task(link.run())

    def state(since: float) -> AgentStateMessage:
        return AgentStateMessage(agent="1001", state=AgentState.READY,
                                 previous=AgentState.LOGGED_OUT, since=since)  # fmt: skip

    async def engine_round(since: float) -> None:
        async with BusClient(settings(broker, "engine")) as engine:
            await engine.publish(topics.agent_state("1001"), state(since))
            await engine.subscribe(topics.supervisor_cmd("supervisor"))
            async with asyncio.timeout(5):
                while (await inbox.get()).message != state(since):
                    pass
                # A supervisor command gets its reply through the link's reader loop.
                command = SupervisorCommand(
                    request_id=new_request_id(), action=SupervisorAction.FORCE_LOGOUT,
                    params={"agent": "1001"},
                )  # fmt: skip
                asked = asyncio.create_task(link.request(command))
                async for received in engine.messages():
                    if isinstance(received.message, SupervisorCommand):
                        reply = Reply(request_id=received.message.request_id, ok=True)
                        await engine.publish(
                            topics.supervisor_reply("supervisor", command.request_id), reply
                        )
                        break
                assert (await asked).ok

    try:
        async with asyncio.timeout(10):
            await up.wait()
        await engine_round(1.0)
        await broker.stop()
        async with asyncio.timeout(5):
            await down.wait()
        with pytest.raises(LinkDownError):
            await link.request(
                SupervisorCommand(request_id="r1", action=SupervisorAction.STOP_MONITOR)
            )
        broker = EmbeddedBroker(password_file, port=port, supervisors=("supervisor",))
        await broker.start()
        async with asyncio.timeout(10):
            await up.wait()
        await engine_round(2.0)
        assert statuses[:3] == [True, False, True]
        assert connects == 2
    finally:
        task.cancel()
        await broker.stop()


async def test_agent_console_resyncs_after_a_broker_restart(
    password_file: Path, resources: DeskResources
) -> None:
    broker = EmbeddedBroker(password_file, supervisors=("supervisor",))
    await broker.start()
    port = broker.port
    engine = FakeEngine("1001")

    async def serve() -> None:
        async with BusClient(settings(broker, "engine")) as client:
            await serve_on_bus(client, engine)

    serving = asyncio.create_task(serve())
    app = AgentConsole(
        "1001",
        lambda pin: BusLink.for_agent(
            BusSettings(broker.host, port, "1001", pin), "1001", max_backoff=0.2
        ),
        resources,
    )

    async def until(check: Callable[[], bool]) -> None:
        for _ in range(100):
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached in 5 s")

    try:
        async with app.run_test(size=(130, 42)) as pilot:
            await pilot.pause()
            await pilot.press(*PIN, "enter")
            await until(lambda: state_of(app) is AgentState.READY)
            serving.cancel()
            await broker.stop()
            await until(lambda: not app.bus_up)
            assert "reconnecting" in rendered(app.query_one(StateBar))
            broker = EmbeddedBroker(password_file, port=port, supervisors=("supervisor",))
            await broker.start()
            serving = asyncio.create_task(serve())
            await until(lambda: app.bus_up)

            def resyncs() -> list[AgentCommand]:
                sent = [c for c in engine.commands if isinstance(c, AgentCommand)]
                return [c for c in sent if c.action is CommandAction.RESYNC]

            await until(lambda: len(resyncs()) == 2)  # one per connection
            assert state_of(app) is AgentState.READY  # the desk kept its state meanwhile
            await pilot.pause()
            assert "connected" in rendered(app.query_one(StateBar))
    finally:
        serving.cancel()
        await broker.stop()
