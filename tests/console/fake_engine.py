"""A fake engine for the console tests: answers commands the way the engine's desk does.

It keeps one agent's state and replies to each command, publishing the state
changes the real engine would (login -> ready, pause -> paused, answer -> on call,
hang up -> wrap-up, wrap-up done -> ready). Two ways to reach it:

- :class:`FakeLink`, in process: the console's :class:`~console.link.Link` without
  a broker (fast; most tests);
- :func:`serve_on_bus`, on a real broker through :class:`~callcenter.bus.client.BusClient`,
  so the console's :class:`~console.link.BusLink` is tested end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.bus import topics
from callcenter.bus.client import BusClient, Received
from callcenter.bus.schemas import (
    AgentCommand,
    AgentFigures,
    AgentStateMessage,
    BusMessage,
    CommandAction,
    OfferMessage,
    QueueStatsMessage,
    Reply,
    SupervisorCommand,
)
from callcenter.core.states import AgentState
from console.link import Command, LinkDownError, OnConnect, OnMessage, OnStatus

PIN = "4321"
T0 = 1_795_753_044.0


@dataclass
class FakeEngine:
    agent: str
    clock: Callable[[], float] = lambda: T0
    state: AgentState = AgentState.LOGGED_OUT
    call: str = ""
    refuse: dict[CommandAction, str] = field(default_factory=dict)  # action -> error
    commands: list[Command] = field(default_factory=list)
    tickets: int = 0
    answered: int = 0  # what its store would hold: calls answered today

    def figures(self) -> AgentFigures:
        """The reply to ``figures``: the real engine reads them from the store."""
        return AgentFigures(start=self.clock() - 3600, end=self.clock(), calls=self.answered,
                            offers=self.answered, talk_time=100.0 * self.answered)  # fmt: skip

    def _state(self, state: AgentState, cause: str, reason: str = "") -> AgentStateMessage:
        previous, self.state = self.state, state
        return AgentStateMessage(
            agent=self.agent, state=state, previous=previous, cause=cause, reason=reason,
            call=self.call, since=self.clock(),
        )  # fmt: skip

    def offer(self, call: str, **screen_pop: object) -> list[BusMessage]:
        self.call = call
        ring = self._state(AgentState.RINGING, "offer")
        offer = OfferMessage(
            call=call, agent=self.agent, queue=str(screen_pop.pop("queue", "sales")),
            timeout=15.0, offered_at=self.clock(), **screen_pop,
        )  # fmt: skip
        return [ring, offer]

    def handle(self, command: Command) -> tuple[Reply, list[BusMessage]]:
        self.commands.append(command)
        rid = command.request_id
        if isinstance(command, SupervisorCommand):
            return Reply(request_id=rid, ok=True), []
        action = command.action
        if action in self.refuse:
            return Reply(request_id=rid, ok=False, error=self.refuse[action]), []
        out: list[BusMessage] = []
        data: dict[str, str | int | float | bool] = {}
        if action is CommandAction.LOGIN:
            if command.params.get("pin") != PIN:
                return Reply(request_id=rid, ok=False, error="wrong PIN"), []
            out.append(self._state(AgentState.READY, "login"))
        elif action is CommandAction.PAUSE:
            out.append(self._state(AgentState.PAUSED, "pause", str(command.params["reason"])))
        elif action is CommandAction.UNPAUSE:
            out.append(self._state(AgentState.READY, "unpause"))
        elif action is CommandAction.LOGOUT:
            out.append(self._state(AgentState.LOGGED_OUT, "logout"))
        elif action is CommandAction.ANSWER:
            self.answered += 1
            out.append(self._state(AgentState.ON_CALL, "answer"))
        elif action is CommandAction.FIGURES:
            data = self.figures().as_data()
        elif action is CommandAction.HANGUP:
            out.append(self._state(AgentState.WRAP_UP, "hangup"))
        elif action is CommandAction.WRAP_UP:
            self.call = ""
            out.append(self._state(AgentState.READY, "wrapup_done"))
        elif action is CommandAction.TICKET:
            if command.params.get("op") == "create":
                self.tickets += 1
                data = {"ticket": self.tickets, "status": "open",
                        "department": str(command.params.get("department", ""))}  # fmt: skip
            else:
                data = {"ticket": int(command.params["ticket"]), "status": "closed"
                        if command.params["op"] == "close" else "assigned"}  # fmt: skip
        return Reply(request_id=rid, ok=True, data=data), out


def _received(message: BusMessage) -> Received:
    if isinstance(message, AgentStateMessage):
        topic = topics.parse(topics.agent_state(message.agent))
    elif isinstance(message, OfferMessage):
        topic = topics.parse(topics.agent_offer(message.agent))
    elif isinstance(message, QueueStatsMessage):
        topic = topics.parse(topics.queue_stats(message.queue))
    else:
        raise TypeError(type(message))
    assert topic is not None
    return Received(topic, message, False)


class FakeLink:
    """The console's link, wired straight to a :class:`FakeEngine` (no broker)."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.on_message: OnMessage = lambda received: None
        self.on_status: OnStatus = lambda up: None
        self.on_connect: OnConnect | None = None
        self.up = asyncio.Event()
        self.online = True

    def bind(self, on_message: OnMessage, on_status: OnStatus, on_connect: OnConnect) -> None:
        self.on_message, self.on_status, self.on_connect = on_message, on_status, on_connect

    async def run(self) -> None:
        self.on_status(True)
        self.up.set()
        if self.on_connect is not None:
            await self.on_connect()
        await asyncio.Event().wait()

    def push(self, *messages: BusMessage) -> None:
        for message in messages:
            self.on_message(_received(message))

    async def request(self, command: Command, wait: float = 5.0) -> Reply:
        if not self.online:
            raise LinkDownError("not connected")
        reply, messages = self.engine.handle(command)
        self.push(*messages)
        return reply


async def serve_on_bus(client: BusClient, engine: FakeEngine) -> None:
    """Answer ``engine.agent``'s commands on a real broker (run as a task; cancel to stop)."""
    await client.subscribe(topics.agent_cmd(engine.agent))
    async for received in client.messages():
        command = received.message
        if not isinstance(command, AgentCommand):
            continue
        reply, messages = engine.handle(command)
        for message in messages:
            if isinstance(message, AgentStateMessage):
                await client.publish(topics.agent_state(engine.agent), message)
            elif isinstance(message, OfferMessage):
                await client.publish(topics.agent_offer(engine.agent), message)
        await client.publish(topics.agent_reply(engine.agent, command.request_id), reply)
