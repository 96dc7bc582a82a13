"""A console's connection to the bus: subscribe, resync after every (re)connect, commands.

One reader loop per connection takes every message; replies are matched to the
command that asked (by ``request_id``) and everything else goes to the console's
``on_message``. (``BusClient.request`` reads the stream itself, which would race
with this loop, so the console keeps its own table of pending requests.)

After a broker or engine restart :func:`run_with_reconnect` connects again; the
subscriptions are made anew, the retained state and queue-stats topics bring the
console up to date at once, and ``on_connect`` lets the console ask the engine for
anything else (the agent console sends ``resync``). Commands sent while the link
is down fail at once with :class:`LinkDownError` rather than being queued: an agent
must not have a "hang up" replayed a minute later on another call.

Nothing here imports Textual, so the link is tested on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import aiomqtt

from callcenter.bus import topics
from callcenter.bus.client import BusClient, BusSettings, Received, run_with_reconnect
from callcenter.bus.schemas import AgentCommand, Reply, SupervisorCommand

log = logging.getLogger(__name__)

Command = AgentCommand | SupervisorCommand


class LinkDownError(ConnectionError):
    """The console is not connected to the bus right now."""


OnMessage = Callable[[Received], None]
OnStatus = Callable[[bool], None]
OnConnect = Callable[[], Awaitable[None]]


class Link(Protocol):
    """What a console needs of its connection (the bus link, or a fake in tests)."""

    def bind(self, on_message: OnMessage, on_status: OnStatus, on_connect: OnConnect) -> None:
        """Where messages, up/down changes and (re)connections go; set once by the console."""

    async def run(self) -> None: ...

    async def request(self, command: Command, wait: float = 5.0) -> Reply: ...


def agent_filters(agent: str) -> list[str]:
    """An agent console reads its own state, offers and replies (not the whole subtree:
    its own commands would come back, and the broker's ACL refuses and logs each one)."""
    return [
        topics.agent_state(agent),
        topics.agent_offer(agent),
        topics.agent_cmd(agent).removesuffix("cmd") + "reply/+",
    ]


def supervisor_filters(supervisor: str) -> list[str]:
    """A wallboard reads every agent's state, every queue's stats, calls, alerts and its replies."""
    return [
        f"{topics.PREFIX}/agents/+/state",
        f"{topics.PREFIX}/queues/+/stats",
        f"{topics.PREFIX}/calls/+/events",
        topics.ALERTS,
        topics.supervisor_cmd(supervisor).removesuffix("cmd") + "reply/+",
    ]


class BusLink:
    """The console's side of the bus for one user (an agent id, or a supervisor's name)."""

    def __init__(
        self,
        settings: BusSettings,
        *,
        filters: Sequence[str],
        command_topic: str,
        max_backoff: float = 5.0,
    ) -> None:
        self.settings = settings
        self.max_backoff = max_backoff
        self.filters = list(filters)
        self.command_topic = command_topic
        self.on_message: OnMessage = lambda received: None
        self.on_status: OnStatus = lambda up: None
        self.on_connect: OnConnect | None = None
        self._client: BusClient | None = None
        self._pending: dict[str, asyncio.Future[Reply]] = {}

    def bind(self, on_message: OnMessage, on_status: OnStatus, on_connect: OnConnect) -> None:
        self.on_message, self.on_status, self.on_connect = on_message, on_status, on_connect

    @classmethod
    def for_agent(cls, settings: BusSettings, agent: str, **options: float) -> BusLink:
        return cls(
            settings,
            filters=agent_filters(agent),
            command_topic=topics.agent_cmd(agent),
            **options,
        )

    @classmethod
    def for_supervisor(cls, settings: BusSettings, supervisor: str, **options: float) -> BusLink:
        return cls(
            settings,
            filters=supervisor_filters(supervisor),
            command_topic=topics.supervisor_cmd(supervisor),
            **options,
        )

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def run(self) -> None:
        """Stay connected until cancelled."""
        await run_with_reconnect(self.settings, self._session, max_backoff=self.max_backoff)

    async def _session(self, client: BusClient) -> None:
        for topic_filter in self.filters:
            await client.subscribe(topic_filter)
        self._client = client
        self.on_status(True)
        resync: asyncio.Task[None] | None = None
        if self.on_connect is not None:
            # In a task: the resync command's reply arrives through the loop below.
            resync = asyncio.create_task(self._resync(self.on_connect))
        try:
            async for received in client.messages():
                self._dispatch(received)
        finally:
            self._client = None
            if resync is not None:
                resync.cancel()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(LinkDownError("connection lost"))
            self._pending.clear()
            self.on_status(False)
        raise aiomqtt.MqttError("message stream ended")

    async def _resync(self, on_connect: Callable[[], Awaitable[None]]) -> None:
        try:
            await on_connect()
        except (LinkDownError, TimeoutError) as error:
            log.info("console: resync after connect failed: %s", error)

    def _dispatch(self, received: Received) -> None:
        message = received.message
        if isinstance(message, Reply):
            future = self._pending.pop(message.request_id, None)
            if future is not None and not future.done():
                future.set_result(message)
            return
        try:
            self.on_message(received)
        except Exception:  # a console bug must not take the connection down
            log.exception("console: failed to apply %s", received.topic.kind)

    async def request(self, command: Command, wait: float = 5.0) -> Reply:
        """Publish ``command`` and wait for its reply; :class:`LinkDownError` when offline."""
        client = self._client
        if client is None:
            raise LinkDownError("not connected")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[command.request_id] = future
        try:
            await client.publish(self.command_topic, command)
            async with asyncio.timeout(wait):
                return await future
        except aiomqtt.MqttError as error:
            raise LinkDownError(str(error)) from None
        finally:
            self._pending.pop(command.request_id, None)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                if not future.done():
                    future.cancel()
