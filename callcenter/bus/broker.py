"""The embedded broker: amqtt on loopback, per-agent passwords, per-agent topic ACLs.

This is the default bus for one machine: the engine starts it, nothing to set up.
Production uses Mosquitto with ``deploy/mosquitto/`` (same rules, same topics).

Authentication: amqtt's ``FileAuthPlugin`` reads ``user:argon2-hash`` lines
(:func:`write_password_file` writes them). A connection without a user name, or
with a wrong password, is refused.

Authorisation: amqtt's own ``TopicAccessControlListPlugin`` takes fixed topic
lists per user name and has no ``%u`` substitution, so it cannot say "each agent,
its own subtree" without listing every agent. :class:`AgentTopicACL` is a small
topic plugin that applies the rules of :mod:`callcenter.bus.topics` to every
PUBLISH (dropped if refused), SUBSCRIBE (refused with 0x80) and delivery.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker  # type: ignore[import-untyped]
from amqtt.contexts import Action  # type: ignore[import-untyped]
from amqtt.plugins.base import BaseTopicPlugin  # type: ignore[import-untyped]
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from callcenter.bus import topics

log = logging.getLogger(__name__)

ENGINE_USER = "engine"

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """An argon2 hash, as amqtt's password file expects."""
    return _hasher.hash(password)


def write_password_file(path: Path, passwords: Mapping[str, str]) -> None:
    """Write ``user:hash`` lines for amqtt; the file is created readable by its owner only."""
    lines = [f"{user}:{hash_password(pw)}\n" for user, pw in passwords.items()]
    path.touch(mode=0o600, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


class AgentTopicACL(BaseTopicPlugin):  # type: ignore[misc]
    """amqtt topic plugin: engines and supervisors by name, every other user is an agent."""

    @dataclass
    class Config:
        engines: list[str] = field(default_factory=lambda: [ENGINE_USER])
        supervisors: list[str] = field(default_factory=list)

    async def topic_filtering(
        self, *, session: Any = None, topic: str | None = None, action: Any = None
    ) -> bool:
        username: str | None = getattr(session, "username", None)
        if not topic or not username:
            return False
        role = topics.role_of(
            username,
            engines=frozenset(self.context.config.engines),
            supervisors=frozenset(self.context.config.supervisors),
        )
        if action == Action.PUBLISH:
            allowed = topics.may_publish(role, username, topic)
        elif action == Action.SUBSCRIBE:
            allowed = topics.may_subscribe(role, username, topic)
        else:
            allowed = topics.may_receive(role, username, topic)
        if not allowed:
            log.warning("bus ACL refused %s of %r by user %r", action, topic, username)
        return allowed


class _Broker(Broker):  # type: ignore[misc]
    """amqtt's broker, remembering its client connections so :meth:`stop` can cut them."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.client_writers: set[asyncio.StreamWriter] = set()

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        self.client_writers.add(writer)
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            self.client_writers.discard(writer)


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt on ``host:port`` (port 0: a free one, read back from :attr:`port`).

    Use as ``async with EmbeddedBroker(password_file) as broker: ...``.
    """

    def __init__(
        self,
        password_file: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        engines: tuple[str, ...] = (ENGINE_USER,),
        supervisors: tuple[str, ...] = (),
        shutdown_timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.shutdown_timeout = shutdown_timeout
        self.port = port
        self._password_file = password_file
        self._engines = list(engines)
        self._supervisors = list(supervisors)
        self._broker: Any = None

    def config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.FileAuthPlugin": {
                    "password_file": str(self._password_file)
                },
                f"{__name__}.AgentTopicACL": {
                    "engines": self._engines,
                    "supervisors": self._supervisors,
                },
            },
        }

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("broker already started")
        if not self._password_file.is_file():
            raise FileNotFoundError(f"bus password file not found: {self._password_file}")
        if self.port == 0:
            # amqtt keeps its listening socket private; a probe for a free port is
            # racy in theory but fine on loopback.
            self.port = _free_port(self.host)
        broker = _Broker(self.config())
        await broker.start()
        self._broker = broker
        log.info("embedded MQTT broker on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Shut the broker down; never hangs longer than ``shutdown_timeout``.

        amqtt 0.12.1's shutdown can wait forever for a connected client's reader
        task to finish cancelling (seen in tests/bus/test_reconnect.py about one
        run in three). So the client connections are cut first, which ends those
        readers the ordinary way (EOF); the timeout is a last resort that at least
        frees the port.
        """
        broker, self._broker = self._broker, None
        if broker is None:
            return
        for writer in list(broker.client_writers):
            writer.transport.abort()
        await asyncio.sleep(0)
        try:
            async with asyncio.timeout(self.shutdown_timeout):
                await broker.shutdown()
        except TimeoutError:
            log.warning("embedded MQTT broker did not stop in time; closing its listeners")
            for server in getattr(broker, "_servers", {}).values():
                server.instance.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
