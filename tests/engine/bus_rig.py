"""The engine on the simulated Asterisk with its desk on a real embedded amqtt broker,
and consoles as MQTT clients: shared by tests/engine/test_bus*.py and bench/bus.py."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ari_app.engine import Engine, EngineSettings
from ari_app.engine.desk import ControlError, Desk, open_bus
from callcenter.bus import schemas, topics
from callcenter.bus.broker_process import BrokerProcess
from callcenter.bus.client import BusClient, BusSettings, Received, new_request_id
from callcenter.config import load_config
from callcenter.config.pins import hash_pin
from callcenter.core.states import AgentState
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from sim import Answer, Endpoints, SimAsterisk, SimServer

PINS = {"1001": "1234", "1002": "5678"}
AGENTS = ("1001", "1002", "1003")
SUPERVISOR = ("sup", "sup-secret")

CONFIG = """\
pause_reasons:
  lunch: {label: Lunch}
  missed: {label: Missed calls, on_ring_no_answer: true}
dispositions:
  resolved: Resolved
departments:
  quality: Quality department
queues:
  sales:
    strategy: linear
    ring_timeout: 5
    retry: 0
    wrapup: 30
    service_level: 1
    members: ["1001", "1002"]
  support: {strategy: linear, members: ["1003"]}
  desk: {strategy: linear, accept: true, ring_timeout: 5, retry: 0, members: ["1002"]}
agents:
  "1001": {name: Ann, endpoint: PJSIP/1001, pin: "PIN1001"}
  "1002": {name: Bob, endpoint: PJSIP/1002, pin: "PIN1002"}
  "1003": {name: Cy, endpoint: PJSIP/1003}
ivr:
  main:
    prompts: [hotline/welcome]
    options: {2: queue:sales}
    timeout: 5
numbers:
  "800": {target: queue:sales}
  "801": {target: ivr:main}
  "802": {target: queue:desk}
"""


@dataclass
class FakeControl:
    """Call control as ``ari_app.engine.control.CallControl`` promises it: by agent id,
    on the call that agent is connected to now (the router's view), else ControlError."""

    engine: Engine | None = None
    done: list[tuple[Any, ...]] = field(default_factory=list)

    def _connected(self, agent: str) -> str:
        assert self.engine is not None
        core = self.engine.router.agents.get(agent)
        if core is None or core.state is not AgentState.ON_CALL:
            raise ControlError(f"agent {agent} is not on a call")
        return core.call

    async def hangup(self, agent: str) -> None:
        self.done.append(("hangup", agent, self._connected(agent)))

    async def hold(self, agent: str) -> None:
        self.done.append(("hold", agent, self._connected(agent)))

    async def resume(self, agent: str) -> None:
        self.done.append(("resume", agent, self._connected(agent)))

    async def mute(self, agent: str) -> None:
        self.done.append(("mute", agent, self._connected(agent)))

    async def unmute(self, agent: str) -> None:
        self.done.append(("unmute", agent, self._connected(agent)))

    async def dtmf(self, agent: str, digits: str) -> None:
        self.done.append(("dtmf", agent, self._connected(agent), digits))

    async def transfer(self, agent: str, kind: str, target: str, *, attended: bool = False) -> None:
        self.done.append(("transfer", agent, self._connected(agent), kind, target, attended))

    async def complete_transfer(self, agent: str) -> None:
        self.done.append(("complete_transfer", agent, self._connected(agent)))

    async def cancel_transfer(self, agent: str) -> None:
        self.done.append(("cancel_transfer", agent, self._connected(agent)))

    async def conference(self, agent: str) -> None:
        self.done.append(("conference", agent, self._connected(agent)))

    async def monitor(self, supervisor: str, endpoint: str, agent: str, mode: str) -> None:
        self.done.append(("monitor", supervisor, endpoint, self._connected(agent), mode))

    async def stop_monitor(self, supervisor: str) -> None:
        self.done.append(("stop_monitor", supervisor))


class Console:
    """A console's end of the bus: one MQTT session as an agent or a supervisor.

    One task reads the session: replies go to the command waiting for them, every
    other message to ``inbox``."""

    def __init__(self, client: BusClient, user: str, *, supervisor: bool = False) -> None:
        self.client = client
        self.user = user
        self.supervisor = supervisor
        self.inbox: asyncio.Queue[Received] = asyncio.Queue()
        self._replies: dict[str, asyncio.Future[schemas.Reply]] = {}
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.supervisor:
            await self.client.subscribe(f"{topics.PREFIX}/supervisors/{self.user}/reply/+")
        else:
            await self.client.subscribe(f"{topics.PREFIX}/agents/{self.user}/reply/+")
        self._pump = asyncio.create_task(self._run())

    async def command(self, action: str, **params: Any) -> schemas.Reply:
        """An agent command on the agent's own topic, and the engine's reply."""
        command = schemas.AgentCommand(
            request_id=new_request_id(), action=schemas.CommandAction(action), params=params
        )
        return await self._request(topics.agent_cmd(self.user), command)

    async def supervise(self, action: str, **params: Any) -> schemas.Reply:
        """A supervisor command on the supervisor's own topic, and the engine's reply."""
        command = schemas.SupervisorCommand(
            request_id=new_request_id(), action=schemas.SupervisorAction(action), params=params
        )
        return await self._request(topics.supervisor_cmd(self.user), command)

    async def _request(
        self, topic: str, command: schemas.AgentCommand | schemas.SupervisorCommand
    ) -> schemas.Reply:
        waiter: asyncio.Future[schemas.Reply] = asyncio.get_running_loop().create_future()
        self._replies[command.request_id] = waiter
        await self.client.publish(topic, command)
        async with asyncio.timeout(10):
            return await waiter

    async def watch(self, *filters: str) -> None:
        for topic_filter in filters:
            await self.client.subscribe(topic_filter)

    async def _run(self) -> None:
        async for received in self.client.messages():
            message = received.message
            if isinstance(message, schemas.Reply) and message.request_id in self._replies:
                waiter = self._replies.pop(message.request_id)
                if not waiter.done():
                    waiter.set_result(message)
            else:
                self.inbox.put_nowait(received)

    async def next(self, match: Any, limit: float = 5.0) -> schemas.AnyMessage:
        """The next message for which ``match(received)`` is true (others are skipped)."""
        async with asyncio.timeout(limit):
            while True:
                received = await self.inbox.get()
                if match(received):
                    return received.message

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


@dataclass
class BusRig:
    ast: SimAsterisk
    engine: Engine
    desk: Desk
    store: Store
    writer: StoreWriter
    bus: BusSettings
    control: FakeControl
    settings: EngineSettings
    broker: BrokerProcess | None  # None: an external broker (Mosquitto)
    passwords: dict[str, str]  # broker passwords of the consoles' users

    @contextlib.asynccontextmanager
    async def console(self, user: str, password: str | None = None) -> AsyncIterator[Console]:
        if password is None:
            password = self.passwords[user]
        settings = BusSettings(self.bus.host, self.bus.port, user, password)
        async with BusClient(settings) as client:
            console = Console(client, user, supervisor=user == SUPERVISOR[0])
            await console.start()
            try:
                yield console
            finally:
                await console.close()


def write_config(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(CONFIG)
    for agent, pin in PINS.items():
        text = text.replace(f"PIN{agent}", hash_pin(pin))
    (directory / "center.yaml").write_text(text, encoding="utf-8")
    return directory


@contextlib.asynccontextmanager
async def bus_rig(
    tmp_path: Path,
    *,
    lookup_timeout: float = 1.0,
    stats_interval: float = 0.05,
    external: tuple[str, int, dict[str, str]] | None = None,
    **desk: Any,
) -> AsyncIterator[BusRig]:
    """With ``external`` (host, port, passwords of its users: engine and agents), the
    desk joins that broker instead of starting the embedded one."""
    conf = write_config(tmp_path / "conf")
    config = load_config(conf)
    # The agents' phones are registered before the engine starts (it reads endpoint
    # states on connect); tests change what a phone does with `ast.endpoints.set`.
    ast = SimAsterisk(endpoints=Endpoints({f"PJSIP/{a}": Answer(after=0.05) for a in AGENTS}))
    server = await SimServer(ast).start()
    settings = EngineSettings(
        ari_url=server.url, ari_password=SecretStr("secret"), config_dir=str(conf),
        config_poll_interval=0, bus_embedded=True, bus_port=0,
        bus_password=SecretStr("engine-secret"),
        bus_supervisors={SUPERVISOR[0]: SecretStr(SUPERVISOR[1])},
        bus_lookup_timeout=lookup_timeout, bus_stats_interval=stats_interval,
    )  # fmt: skip
    passwords = {**PINS, SUPERVISOR[0]: SUPERVISOR[1]}
    if external is not None:
        host, port, passwords = external
        settings = settings.model_copy(update={
            "bus_embedded": False, "bus_host": host, "bus_port": port,
            "bus_password": SecretStr(passwords["engine"]), "bus_supervisors": {},
        })  # fmt: skip
    control = FakeControl()
    try:
        async with (
            await Store.open(tmp_path / "cc.db") as store,
            StoreWriter(store, flush_interval=0.01) as writer,
            open_bus(settings, config) as link,
        ):
            assert link is not None
            bus = link.settings
            engine = Engine(settings, config, journal=Journal(writer))
            control.engine = engine
            # real_control: the engine's own CallControl (ari_app/engine/control.py).
            fake = None if desk.pop("real_control", False) else control
            attached = engine.attach_desk(bus, store=store, control=fake)
            for name, value in desk.items():
                setattr(attached, name, value)
            await attached.start()
            await engine.start(connect_timeout=5)
            async with asyncio.timeout(5):
                await attached.connected.wait()
            try:
                yield BusRig(
                    ast, engine, attached, store, writer, bus, control, settings, link.broker,
                    passwords,
                )  # fmt: skip
            finally:
                await engine.stop()
                await attached.stop()
    finally:
        await server.close()
