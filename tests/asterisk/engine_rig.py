"""The engine on the private real Asterisk: agents' phones as Local channels, a store in tmp.

The instance is the test rig's (:mod:`tests.asterisk.rig`) with its own overlay, started once
per session and used only by the engine's tests (its ``callcenter`` app is the engine's):

* agents' phones are ``Local/<agent>@<behaviour>``: ``cc-agents-auto`` answers after
  :data:`ANSWER_DELAY` and then sends audio (music) as a picked-up phone does; it also
  stands for customers and numbers dialed out (``outbound_context``); ``cc-agents-noanswer`` rings
  until the originate's timeout (agent_no_answer.md), ``cc-agents-busy`` runs ``Busy()``
  (agent_busy.md). Each counts its rings in the global ``RUNG_<agent>``, read with
  ``GET /asterisk/variable``, so a test sees every ring Asterisk saw, even those of an
  engine that was killed;
* ``PJSIP/1099`` is an endpoint with an AOR and no contact: an unregistered phone
  (``offline``; ringing it is a 500 ``Allocation failed``, agent_unreachable.md);
* callers are ``Local/<number>@from-test`` into the shipped ``callcenter-inbound``
  (FastAGI lookups, then ``Stasis(callcenter,inbound,<number>)``), see
  :func:`tests.asterisk.ari.originate_caller`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from ari_app.client import AriClient, AriError, AriEvent, Bridge
from ari_app.engine import Engine, EngineSettings
from callcenter.config import load_config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.store import Store, StoreWriter
from callcenter.store.journal import Journal
from tests.agi.prompts import documented
from tests.asterisk.agi_server import ThreadedFastAgi
from tests.asterisk.ari import CALLER_APP, FROM_TEST, AriCredentials, EventLog, stasis_app
from tests.asterisk.rig import Asterisk, Overlay, RigUnavailable, find_binary

ANSWER_DELAY = 0.2
"""Seconds an auto-answering agent's phone rings before it is picked up."""

AGENTS_DIALPLAN = f"""
; Agents' phones for the engine's tests (tests/asterisk/engine_rig.py).
[cc-agents-auto]
exten => _X.,1,Set(GLOBAL(RUNG_${{EXTEN}})=$[0${{RUNG_${{EXTEN}}}} + 1])
 same => n,Ringing()
 same => n,Wait({ANSWER_DELAY})
 same => n,Answer()
 ; A picked-up phone sends audio all along; a silent one would keep a snoop on its channel
 ; alive after DELETE (the spy's audiohook is detached only as frames pass).
 same => n,MusicOnHold(default,600)
 same => n,Hangup()

[cc-agents-noanswer]
exten => _X.,1,Set(GLOBAL(RUNG_${{EXTEN}})=$[0${{RUNG_${{EXTEN}}}} + 1])
 same => n,Ringing()
 same => n,Wait(600)
 same => n,Hangup()

[cc-agents-busy]
exten => _X.,1,Set(GLOBAL(RUNG_${{EXTEN}})=$[0${{RUNG_${{EXTEN}}}} + 1])
 same => n,Busy(5)
"""

#: An agent phone that never registered: an AOR without a contact.
UNREGISTERED_PHONE = """
[1099](agent-endpoint)
auth = 1099
aors = 1099
[1099](agent-auth)
username = 1099
password = {password}
[1099](agent-aor)
"""

ENGINE_RUNNING: list[Asterisk] = []
"""The engine's instance while it runs (conftest adds its log to a failing test's report)."""

AUTO = "cc-agents-auto"
NOANSWER = "cc-agents-noanswer"
BUSY = "cc-agents-busy"

CONFIG = """\
pause_reasons:
  missed: {label: Missed calls, on_ring_no_answer: true}
queues:
  sales:
    strategy: linear
    ring_timeout: 2
    retry: 0
    members: ["1001", "1002", "1003"]
  support:
    strategy: linear
    ring_timeout: 2
    retry: 0
    members: ["1004"]
    announcements: {every: 30, position: true}    # on joining, then every 30 s
    exit_key: "0"
    exit_target: "dialplan:cc-agents-noanswer,9999,1"   # somewhere the caller stays
  recorded:
    strategy: linear
    members: ["1003"]
    record: true
  chatty:                   # announces more often than "you are next" (5.4 s) lasts
    strategy: linear
    members: ["1004"]
    announcements: {every: 0.2, position: true}
  callbacks:
    strategy: linear
    members: ["1002"]
    callback: {after: 0.2, key: "5"}
  info:
    strategy: linear
    members: ["1004"]
    announcements: {periodic_prompts: [beep], periodic_every: 0.5}   # beep: 0.4 s
agents:
  "1001": {name: Ann, endpoint: "Local/1001@cc-agents-auto"}
  "1002": {name: Bob, endpoint: "Local/1002@cc-agents-auto"}
  "1003": {name: Cy, endpoint: "Local/1003@cc-agents-auto"}
  "1004": {name: Di, endpoint: "Local/1004@cc-agents-auto"}
ivr:
  main:
    prompts: [beep]
    timeout: 5
    options: {"1": queue:support, "2": queue:sales}
numbers:
  "800": {target: queue:sales}
  "801": {target: ivr:main}
  "802": {target: queue:support}
  "803": {target: queue:info}
  "804": {target: queue:recorded}
  "805": {target: queue:chatty}
  "806": {target: queue:callbacks}
"""


def agents_config(**endpoints: str) -> str:
    """:data:`CONFIG` with some agents' phones behaving otherwise, e.g. ``a1001=NOANSWER``
    (context name) or ``a1001="PJSIP/1099"`` (a whole endpoint)."""
    text = CONFIG
    for key, where in endpoints.items():
        agent = key.removeprefix("a")
        endpoint = where if "/" in where else f"Local/{agent}@{where}"
        text = text.replace(f'"Local/{agent}@{AUTO}"', f'"{endpoint}"')
    return text


@pytest.fixture(scope="session")
def engine_asterisk(
    tmp_path_factory: pytest.TempPathFactory, fastagi: ThreadedFastAgi
) -> Iterator[Asterisk]:
    """A private Asterisk for the engine's tests (see the module docstring)."""
    binary = find_binary()
    if binary is None:
        pytest.skip("no Asterisk binary: set CALLCENTER_ASTERISK or install Asterisk")
    _, to_record = documented()
    overlay = Overlay(
        fastagi=f"agi://127.0.0.1:{fastagi.port}",
        extra_dialplan=FROM_TEST + AGENTS_DIALPLAN,
        placeholder_sounds=tuple(sorted(to_record)),
    )
    instance = Asterisk(binary, tmp_path_factory.mktemp("engine-asterisk"), overlay)
    instance.prepare()
    # A password nobody knows: the phone never registers.
    unregistered = UNREGISTERED_PHONE.format(password=secrets.token_hex(16))
    (instance.etc / "pjsip_agents.conf").write_text(unregistered)
    # ARI records into <spool>/recording, which an installation ships and Asterisk does not
    # create: without it `POST /bridges/{id}/record` is a 500 ("Unrecognized recording
    # error: No such file or directory" in Asterisk's log).
    (instance.root / "spool" / "recording").mkdir(parents=True, exist_ok=True)
    try:
        instance.start()
    except RigUnavailable as exc:
        tail = instance.log_tail()
        instance.stop()
        pytest.skip(f"private Asterisk did not start: {exc}\n{tail}")
    ENGINE_RUNNING.append(instance)
    yield instance
    ENGINE_RUNNING.remove(instance)
    instance.stop()


@pytest.fixture
async def engine_callers(engine_asterisk: Asterisk) -> AsyncIterator[tuple[AriClient, EventLog]]:
    """The test callers' app on the engine's Asterisk (as ``caller_app`` on the shared one)."""
    async with stasis_app(credentials(engine_asterisk), CALLER_APP) as registered:
        yield registered


@dataclass(slots=True)
class Site:
    """An engine (in-process) on the private Asterisk, with what a test looks at."""

    asterisk: Asterisk
    engine: Engine
    store: Store
    writer: StoreWriter
    callers: AriClient
    """The test's own ARI client (app ``cc-test-caller``): originates callers, reads state."""
    caller_events: EventLog
    seen: EventLog = field(default_factory=EventLog)
    """Every ARI event the engine received, in order."""
    decided: list[cmd.Command] = field(default_factory=list)
    """Every command the core gave, in order (a journal of the dispatcher's)."""

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        self.decided.extend(commands)

    async def queue_log(self, call: str) -> list[str]:
        await self.engine.idle()
        await self.writer.flush()
        return [line.verb for line in await self.store.queue_log(call=call)]

    async def rung(self, agent: str) -> int:
        """How often Asterisk rang ``agent``'s phone (the dialplan's counter)."""
        try:
            value = await self.callers.asterisk.get_variable(f"RUNG_{agent}")
        except AriError:
            return 0
        return int(value or 0)

    async def bridge_of(self, channel: str) -> Bridge | None:
        """The bridge ``channel`` is in on Asterisk now, or None."""
        for bridge in await self.callers.bridges.list():
            if channel in bridge.channels:
                return bridge
        return None

    async def channel_exists(self, channel: str) -> bool:
        return any(c.id == channel for c in await self.callers.channels.list())

    async def until(self, what: Callable[[], Any], limit: float = 8.0, why: str = "") -> None:
        """Poll an async or plain condition on Asterisk's or the engine's state (neither
        has an event for everything a test looks at, e.g. a bridge's members)."""
        try:
            async with asyncio.timeout(limit):
                while True:
                    value = what()
                    if asyncio.iscoroutine(value):
                        value = await value
                    if value:
                        return
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise AssertionError(f"still false after {limit:g} s: {why or what}") from None

    async def until_leg(self, call: str, agent: str) -> str:
        """The channel of ``agent``'s leg for ``call`` once it answered."""
        engine = self.engine
        await self.until(
            lambda: (leg := engine.calls.leg(call, agent)) is not None and leg.answered
        )
        leg = self.leg_of(call, agent)
        assert leg is not None
        return leg

    def leg_of(self, call: str, agent: str) -> str | None:
        leg = self.engine.calls.leg(call, agent)
        return leg.channel if leg is not None else None

    def log_count(self, needle: str) -> int:
        """Lines of Asterisk's log containing ``needle`` (what ARI has no event for)."""
        text = self.asterisk.log_file.read_text(errors="replace")
        return sum(needle in line for line in text.splitlines())


def settings_for(asterisk: Asterisk, conf: Path, **more: Any) -> EngineSettings:
    return EngineSettings(
        ari_url=asterisk.ari_url,
        ari_user=asterisk.ari_user,
        ari_password=SecretStr(asterisk.ari_password),
        config_dir=str(conf),
        config_poll_interval=0,
        **more,
    )


def write_config(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "center.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


@contextlib.asynccontextmanager
async def engine_site(
    asterisk: Asterisk,
    tmp_path: Path,
    callers: tuple[AriClient, EventLog],
    config: str = CONFIG,
    **settings: Any,
) -> AsyncIterator[Site]:
    """An engine connected to ``asterisk`` with ``config``; stopped (and every channel it
    left hung up) on the way out."""
    conf = write_config(tmp_path / "conf", config)
    engine_settings = settings_for(asterisk, conf, **settings)
    async with (
        await Store.open(tmp_path / "cc.db") as store,
        StoreWriter(store, flush_interval=0.01) as writer,
    ):
        engine = Engine(engine_settings, load_config(conf), journal=Journal(writer))
        engine.executor.interactions = writer  # as serve() does: IVR paths, recordings
        site = Site(asterisk, engine, store, writer, callers[0], callers[1])

        def record(event: AriEvent) -> bool:
            site.seen.events.append(event)
            site.seen._changed.set()
            return False  # seen, not taken: the engine handles it as usual

        engine.stasis.hooks.insert(0, record)
        engine.journals.append(site)
        await engine.start(connect_timeout=10)
        try:
            yield site
        finally:
            await engine.stop()
            await hang_up_everything(callers[0])


async def hang_up_everything(client: AriClient) -> None:
    """Leave the instance empty for the next test: every channel and bridge goes."""
    for channel in await client.channels.list():
        with contextlib.suppress(AriError):
            await client.channels.hangup(channel.id)
    for bridge in await client.bridges.list():
        with contextlib.suppress(AriError):
            await client.bridges.destroy(bridge.id)


def credentials(asterisk: Asterisk) -> AriCredentials:
    return AriCredentials(asterisk.ari_url, asterisk.ari_user, asterisk.ari_password)
