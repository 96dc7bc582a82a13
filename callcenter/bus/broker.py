"""The embedded broker: amqtt on loopback, per-agent passwords, per-agent topic ACLs.

This is the default bus for one machine: the engine starts it, nothing to set up.
Production uses Mosquitto with ``deploy/mosquitto/`` (same rules, same topics).

Authentication: amqtt's ``FileAuthPlugin`` reads ``user:argon2-hash`` lines
(:func:`write_password_file` writes them). A connection without a user name, or
with a wrong password, is refused. Given ``agent_pins`` (or ``agent_pins_file``,
``tokens``), :class:`PinAuthPlugin` takes its place: the same file for supervisors,
each agent's login PIN (checked against the configuration's scrypt hash) as its
password, and a random token for the engine. The engine runs this broker in a child
process (:mod:`callcenter.bus.broker_process`).

Authorisation: amqtt's own ``TopicAccessControlListPlugin`` takes fixed topic
lists per user name and has no ``%u`` substitution, so it cannot say "each agent,
its own subtree" without listing every agent. :class:`AgentTopicACL` is a small
topic plugin that applies the rules of :mod:`callcenter.bus.topics` to every
PUBLISH (dropped if refused), SUBSCRIBE (refused with 0x80) and delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from amqtt.broker import Broker  # type: ignore[import-untyped]
from amqtt.contexts import Action  # type: ignore[import-untyped]
from amqtt.plugins.authentication import FileAuthPlugin  # type: ignore[import-untyped]
from amqtt.plugins.base import BaseTopicPlugin  # type: ignore[import-untyped]
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from callcenter.bus import topics
from callcenter.config.pins import verify_pin

log = logging.getLogger(__name__)

ENGINE_USER = "engine"

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """An argon2 hash, as amqtt's password file expects."""
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    """What :class:`PinAuthPlugin` keeps of a random token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


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


class PinAuthPlugin(FileAuthPlugin):  # type: ignore[misc]
    """amqtt auth: engine and supervisors from the password file, agents by their PIN.

    An agent's broker password is its login PIN, checked against the scrypt hash in the
    queue configuration (`callcenter/config/pins.py`), so an agent has one secret and the
    admin manages no second list. The hashes come from ``agent_pins`` and/or
    ``agent_pins_file`` (JSON, read again when it changes: the engine rewrites it when
    the configuration is reloaded). Both slow checks (argon2 ~0.4 s, scrypt ~50 ms of
    CPU) run in a thread, off the broker's event loop; a verified login is remembered as
    a keyed digest of (user, password, PIN hash), so a whole floor reconnecting after a
    broker restart costs little and a changed PIN is checked afresh.
    """

    @dataclass
    class Config(FileAuthPlugin.Config):  # type: ignore[misc]
        agent_pins: dict[str, str] = field(default_factory=dict)
        agent_pins_file: str | None = None
        tokens: dict[str, str] = field(default_factory=dict)
        """User -> SHA-256 (hex) of a random token (:func:`token_digest`): the engine's
        own login, high-entropy, so a fast hash is enough."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._verified: dict[str, bytes] = {}
        self._key = secrets.token_bytes(32)
        self._file_pins: dict[str, str] = {}
        self._file_stamp: tuple[int, int, int] | None = None

    def _pins(self) -> dict[str, str]:
        pins: dict[str, str] = dict(self._get_config_option("agent-pins", {}) or {})
        path = self._get_config_option("agent-pins-file", None)
        if path:
            try:
                stat = Path(path).stat()
                stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                if stamp != self._file_stamp:
                    loaded = json.loads(Path(path).read_text(encoding="utf-8"))
                    self._file_pins = {str(k): str(v) for k, v in loaded.items()}
                    self._file_stamp = stamp
            except (OSError, ValueError, AttributeError):
                log.exception("bus: agents' PIN file %s unreadable; keeping the last one", path)
            pins.update(self._file_pins)
        return pins

    async def authenticate(self, *, session: Any) -> bool | None:
        username: str | None = getattr(session, "username", None)
        if not username:
            return False
        password: str = getattr(session, "password", None) or ""
        tokens: dict[str, str] = self._get_config_option("tokens", {}) or {}
        if username in tokens:
            return hmac.compare_digest(token_digest(password), tokens[username])
        pins = self._pins()
        if username in self._users:
            secret = self._users[username]
            check = partial(self.pwd_hasher.verify, password, secret)
        elif username in pins:
            secret = pins[username]
            check = partial(verify_pin, secret, password)
        else:
            log.warning("bus: unknown user %r refused", username)
            return False
        digest = hmac.digest(self._key, f"{username}\0{password}\0{secret}".encode(), "sha256")
        known = self._verified.get(username)
        if known is not None and hmac.compare_digest(known, digest):
            return True
        if await asyncio.to_thread(check):
            self._verified[username] = digest
            return True
        log.warning("bus: wrong password or PIN for user %r", username)
        return False


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
        agent_pins: Mapping[str, str] | None = None,
        agent_pins_file: Path | None = None,
        tokens: Mapping[str, str] | None = None,
        shutdown_timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.shutdown_timeout = shutdown_timeout
        self.port = port
        self._password_file = password_file
        self._engines = list(engines)
        self._supervisors = list(supervisors)
        self._agent_pins = dict(agent_pins) if agent_pins is not None else None
        self._tokens = dict(tokens or {})
        self._agent_pins_file = agent_pins_file
        self._broker: Any = None

    def config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                **self._auth(),
                f"{__name__}.AgentTopicACL": {
                    "engines": self._engines,
                    "supervisors": self._supervisors,
                },
            },
        }

    def _auth(self) -> dict[str, Any]:
        """The password file alone, or with agents' PINs (:class:`PinAuthPlugin`)."""
        if self._agent_pins is None and self._agent_pins_file is None and not self._tokens:
            return {"amqtt.plugins.authentication.FileAuthPlugin": {
                "password_file": str(self._password_file)}}  # fmt: skip
        return {f"{__name__}.PinAuthPlugin": {
            "password_file": str(self._password_file), "agent_pins": self._agent_pins or {},
            "agent_pins_file": str(self._agent_pins_file) if self._agent_pins_file else None,
            "tokens": self._tokens}}  # fmt: skip

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
