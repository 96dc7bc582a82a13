"""A small aiomqtt wrapper that speaks the bus's topics and schemas.

- :class:`BusClient` connects with a user name and password, publishes models
  (retained where the topic kind says so), subscribes, and yields parsed
  messages. A payload that is too big, not JSON or not the topic's schema is
  logged and dropped; it never reaches the caller.
- :meth:`BusClient.request` sends an agent command and waits for its reply.
- :meth:`BusClient.publish_nowait` inside :meth:`BusClient.batch`: the engine's fast
  path, no future or task per message, one write per batch, acknowledgements
  reported to ``on_acknowledged``.
- :func:`run_with_reconnect` keeps a session alive across broker restarts,
  with exponential backoff; ``on_connect`` re-subscribes and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiomqtt
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from callcenter.bus import topics
from callcenter.bus.schemas import (
    MAX_PAYLOAD_BYTES,
    AgentCommand,
    AnyMessage,
    BusMessage,
    MessageError,
    Reply,
    decode,
    encode,
)

log = logging.getLogger(__name__)


class BusAccessDeniedError(PermissionError):
    """The broker refused a subscription."""


@dataclass(frozen=True, slots=True)
class BusSettings:
    host: str
    port: int
    username: str
    password: str
    identifier: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    topic: topics.Topic
    message: AnyMessage
    retained: bool


def parse_received(topic_name: str, payload: object, *, retained: bool = False) -> Received | None:
    """The parsed message, or None (logged) if the topic or payload is not valid."""
    topic = topics.parse(topic_name)
    if topic is None:
        log.warning("bus: dropped message on unknown topic %r", topic_name)
        return None
    if isinstance(payload, str):
        payload = payload.encode()
    if not isinstance(payload, bytes | bytearray):
        log.warning("bus: dropped non-binary payload on %r", topic_name)
        return None
    try:
        message = decode(topic, bytes(payload))
    except MessageError as error:
        log.warning("bus: dropped malformed message on %r: %s", topic_name, error)
        return None
    return Received(topic, message, retained)


PENDING_CALLS_WARNING = 1_000
"""Unacknowledged publishes and subscribes past which aiomqtt warns (a stuck broker)."""


class BusClient:
    def __init__(self, settings: BusSettings, *, in_flight: int | None = None) -> None:
        """``in_flight``: unacknowledged QoS 1 publishes sent before paho holds the rest
        back (default 20; held-back ones leave later, one write each)."""
        self.settings = settings
        self._client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=settings.identifier or f"{settings.username}-{uuid.uuid4().hex[:8]}",
            max_inflight_messages=in_flight,
        )
        # aiomqtt logs a warning on every publish while more than 10 await their PUBACK;
        # the engine keeps up to 100 in flight on purpose (Desk.in_flight): under load
        # that was a log line per message, 8% of the engine's CPU (bench/load.py).
        self._client.pending_calls_threshold = PENDING_CALLS_WARNING
        self._backlog: deque[Received] = deque()
        self.on_acknowledged: Callable[[int], None] | None = None
        """Told the message id of each :meth:`publish_nowait` the broker acknowledged."""
        # aiomqtt's own callback resolves its awaited publishes; ours follows it.
        self._paho: mqtt.Client = self._client._client
        self._aiomqtt_on_publish: Callable[..., object] | None = self._paho.on_publish
        self._paho.on_publish = self._on_publish
        self._aiomqtt_register_write = self._paho.on_socket_register_write
        self._paho.on_socket_register_write = self._on_register_write
        self._batching = False

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.__aexit__(exc_type, exc, tb)

    async def publish(
        self, topic: str, message: BusMessage, *, retain: bool | None = None, qos: int = 1
    ) -> None:
        """Publish ``message``; ``retain`` defaults to what the topic's kind asks for."""
        parsed = topics.parse(topic)
        if parsed is None:
            raise ValueError(f"not a bus topic: {topic!r}")
        if retain is None:
            retain = parsed.kind in topics.RETAINED
        await self._client.publish(topic, encode(message), qos=qos, retain=retain)

    def publish_nowait(
        self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
    ) -> int:
        """Hand ``payload`` to the link without waiting for the broker: its message id.
        The acknowledgement (QoS 1: the broker's PUBACK; QoS 0: paho wrote it) is told to
        ``on_acknowledged``.
        ``topic`` is not checked: build it with ``topics``. No future, no task: this is
        the engine's path, several per call (``ari_app/engine/desk.py``).
        Raises ``aiomqtt.MqttCodeError`` when the link is down."""
        info = self._paho.publish(topic, payload, qos, retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "could not publish")
        return info.mid

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The publishes made in the block are written together at its end, by the caller.

        Without it, paho asks aiomqtt for a write on the first publish (a thread-safe
        call into the loop, a writer added, a callback, the writer removed) and the
        loop writes later; in a batch paho only queues, and the end of the block
        writes all at once (``loop_write``). What the socket cannot take is left to
        aiomqtt's writer, as without a batch."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self._write_now()

    def _write_now(self) -> None:
        paho = self._paho
        if not paho.want_write():
            return
        # A lost link is paho's to report (aiomqtt's on_disconnect ends the session).
        paho.loop_write()
        sock = paho.socket()
        if paho.want_write() and sock is not None and self._aiomqtt_register_write:
            # The socket is full: paho marked the write as asked for already (held back
            # in the batch), so aiomqtt's writer must be asked here or the rest would wait.
            self._aiomqtt_register_write(paho, None, sock)

    def _on_register_write(
        self, client: mqtt.Client, userdata: object, sock: mqtt.SocketLike
    ) -> None:
        if self._batching:
            return  # written at the batch's end (_write_now)
        if self._aiomqtt_register_write is not None:
            self._aiomqtt_register_write(client, userdata, sock)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        if self._aiomqtt_on_publish is not None:
            self._aiomqtt_on_publish(client, userdata, mid, reason_code, properties)
        if self.on_acknowledged is not None:
            self.on_acknowledged(mid)

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        granted = await self._client.subscribe(topic_filter, qos=qos)
        for code in granted:
            if code.is_failure if isinstance(code, ReasonCode) else code >= 0x80:
                raise BusAccessDeniedError(f"broker refused subscription to {topic_filter!r}")

    async def messages(self) -> AsyncIterator[Received]:
        """Valid messages, in order; malformed ones are logged and skipped."""
        while self._backlog:
            yield self._backlog.popleft()
        async for raw in self._client.messages:
            received = self._parse(raw)
            if received is not None:
                yield received

    def _parse(self, raw: aiomqtt.Message) -> Received | None:
        payload = raw.payload
        if isinstance(payload, bytes | bytearray) and len(payload) > MAX_PAYLOAD_BYTES:
            log.warning(
                "bus: dropped oversized message on %r (%d bytes)", raw.topic.value, len(payload)
            )
            return None
        return parse_received(raw.topic.value, payload, retained=raw.retain)

    async def request(self, agent: str, command: AgentCommand, wait: float = 5.0) -> Reply:
        """Send ``command`` as ``agent`` and wait for the engine's reply.

        Other messages that arrive meanwhile are kept for :meth:`messages`.
        """
        reply_topic = topics.agent_reply(agent, command.request_id)
        await self.subscribe(reply_topic)
        try:
            await self.publish(topics.agent_cmd(agent), command)
            async with asyncio.timeout(wait):
                async for raw in self._client.messages:
                    received = self._parse(raw)
                    if received is None:
                        continue
                    message = received.message
                    if isinstance(message, Reply) and message.request_id == command.request_id:
                        return message
                    self._backlog.append(received)
        finally:
            await self._client.unsubscribe(reply_topic)
        raise aiomqtt.MqttError("message stream ended before the reply")


def new_request_id() -> str:
    return uuid.uuid4().hex


async def run_with_reconnect(
    settings: BusSettings,
    session: Callable[[BusClient], Awaitable[None]],
    *,
    initial_backoff: float = 0.1,
    max_backoff: float = 5.0,
    in_flight: int | None = None,
) -> None:
    """Run ``session`` on a connected client; reconnect with backoff when the link drops.

    ``session`` subscribes (retained topics then resync it) and consumes messages;
    when it returns normally, so does this. Cancel the task to stop.
    """
    backoff = initial_backoff
    while True:
        try:
            async with BusClient(settings, in_flight=in_flight) as client:
                backoff = initial_backoff
                await session(client)
                return
        except aiomqtt.MqttError as error:
            log.warning("bus: connection lost (%s); retrying in %.1f s", error, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
