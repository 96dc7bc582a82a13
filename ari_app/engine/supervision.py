"""Supervision: a supervisor listens to, whispers to, or barges into an agent's call.

The supervisor's phone is rung (originate with ``appArgs=supervisor,<call>,<supervisor>``);
once it answers:

* **listen**: a snoop channel on the agent's channel, ``spy=both`` (the supervisor
  hears both sides), bridged with the supervisor in a bridge of its own;
* **whisper**: the same with ``whisper=out`` (the agent, and only the agent, hears
  the supervisor);
* **barge**: no snoop, the supervisor joins the call's mixing bridge, which Asterisk
  then turns from ``simple_bridge`` into ``softmix`` (snoop_whisper_barge.md).

Snoop channels are named ``Snoop/<spied id>-N`` and enter the app at once with
``StasisStart`` (``appArgs=snoop,<call>,<supervisor>``); we choose their id (``snoopId``)
before the request, so that event is recognised; it may come after the request's 200, and
the snoop joins the spy bridge only once it came. Deleting one gives no
``ChannelDestroyed`` (snoop_whisper_barge.md), so the first of its hang-up request or
``StasisEnd`` ends it. Asterisk hangs a snoop up when the spied channel goes, which
ends the monitoring when the agent leaves the call; the call's end ends it too
(``call_ended``). Whatever ends first, the supervisor's channel, the snoop and the
spy bridge are all cleaned up.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from ari_app.client import AllocationFailedError, AriError, Snapshot
from ari_app.client import events as ari
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.client.pool import current_server, on_server
from ari_app.engine.calls import new_bridge_id

log = logging.getLogger(__name__)

MODES = ("listen", "whisper", "barge")
SPY_BRIDGE = "cc-spy-"
RING_TIMEOUT = 30
SNOOP_START_TIMEOUT = 5.0
"""Seconds a new snoop channel may take to enter the app."""


class MonitorError(Exception):
    """Why a monitoring request cannot be done; CallControl turns it into ControlError."""


def new_channel_id(kind: str) -> str:
    """``cc-sup-<hex>`` / ``cc-snoop-<hex>``: never a prefix of another live id (errors.md)."""
    return f"cc-{kind}-{uuid.uuid4().hex}"


@dataclass(eq=False)
class Monitor:
    supervisor: str
    call: str
    agent_channel: str
    mode: str
    channel: str  # the supervisor's phone
    answered: bool = False
    snoop: str | None = None
    bridge: str | None = None
    ended: bool = False
    snooping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by the snoop's StasisStart: only then may it join a bridge."""
    server: str | None = field(default_factory=current_server)
    """The call's server (the scope `monitor` is asked in): the supervisor's phone is rung
    there, the snoop and the spy bridge live there (pool.py)."""


class Supervision:
    def __init__(
        self,
        channels: Channels,
        bridges: Bridges,
        mixing_of: Callable[[str], str | None],
        *,
        app: str = "callcenter",
    ) -> None:
        self.channels = channels
        self.bridges = bridges
        self._mixing_of = mixing_of  # the call's mixing bridge now (barge)
        self.app = app
        self._by_supervisor: dict[str, Monitor] = {}
        self._by_channel: dict[str, Monitor] = {}  # supervisor phones and snoops
        self._tasks: set[asyncio.Task[None]] = set()

    def monitoring(self, supervisor: str) -> Monitor | None:
        return self._by_supervisor.get(supervisor)

    def owns(self, channel: str) -> bool:
        return channel in self._by_channel

    def resync(self, snapshot: Snapshot) -> None:
        """After a (re)connect: monitors whose phone or snoop went meanwhile end; spy
        bridges nobody owns (an engine that died while monitoring) are destroyed."""
        live = {c.id for c in snapshot.channels}
        for item in list(self._by_supervisor.values()):
            if item.server not in (None, snapshot.server):
                continue  # another server's: not in this snapshot, and untouched
            if item.channel not in live or (item.snoop is not None and item.snoop not in live):
                self._spawn(partial(self._end, item), item)
        ours = {m.bridge for m in self._by_supervisor.values()}
        for bridge in snapshot.bridges:
            if bridge.id.startswith(SPY_BRIDGE) and bridge.id not in ours:
                log.info("stray spy bridge destroyed bridge=%s", bridge.id)
                self._spawn(partial(self._destroy, bridge.id))

    async def _destroy(self, bridge: str) -> None:
        await self._quietly(self.bridges.destroy(bridge))

    async def monitor(
        self, supervisor: str, endpoint: str, call: str, agent_channel: str, mode: str
    ) -> None:
        if supervisor in self._by_supervisor:
            raise MonitorError(f"{supervisor} is already monitoring a call: stop it first")
        item = Monitor(supervisor, call, agent_channel, mode, new_channel_id("sup"))
        self._by_supervisor[supervisor] = item
        self._by_channel[item.channel] = item
        try:
            await self.channels.originate(
                endpoint, app=self.app, app_args=("supervisor", call, supervisor),
                channel_id=item.channel, ring_timeout=RING_TIMEOUT,
            )  # fmt: skip
        except AriError as exc:
            self._forget(item)
            if isinstance(exc, AllocationFailedError):  # agent_unreachable.md
                raise MonitorError(f"the phone {endpoint} is not reachable") from exc
            raise MonitorError(f"cannot ring {endpoint}: {exc}") from exc
        log.info("monitor ringing supervisor=%s call=%s mode=%s", supervisor, call, mode)

    async def stop(self, supervisor: str) -> None:
        item = self._by_supervisor.get(supervisor)
        if item is None:
            raise MonitorError(f"{supervisor} is not monitoring any call")
        with on_server(item.server):
            await self._end(item)

    def call_ended(self, call: str) -> None:
        for item in [m for m in self._by_supervisor.values() if m.call == call]:
            self._spawn(partial(self._end, item), item)

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: ari.AriEvent) -> bool:
        channel = getattr(event, "channel", None)
        item = self._by_channel.get(channel.id) if channel is not None else None
        if item is None:
            return False
        is_phone = channel is not None and channel.id == item.channel
        match event:
            case ari.StasisStart() if is_phone and not item.answered:
                item.answered = True
                self._spawn(lambda: self._connect(item), item)
            case ari.StasisStart() if not is_phone:
                item.snooping.set()  # the snoop entering the app
            case ari.ChannelDestroyed():
                self._spawn(lambda: self._end(item), item)
            case ari.StasisEnd() | ari.ChannelHangupRequest() if not is_phone or item.answered:
                # An unanswered phone's hang-up request is not its end (stasis.py).
                self._spawn(lambda: self._end(item), item)
            case _:
                pass
        return True

    async def _connect(self, item: Monitor) -> None:
        if item.ended:
            return
        try:
            if item.mode == "barge":
                mixing = self._mixing_of(item.call)
                if mixing is None:
                    raise MonitorError("the call has no bridge to barge into")
                item.bridge = None  # the call's own bridge: not ours to destroy
                await self.bridges.add_channel(mixing, item.channel)
            else:
                item.snoop = new_channel_id("snoop")
                self._by_channel[item.snoop] = item
                await self.channels.snoop(
                    item.agent_channel, self.app, spy="both",
                    whisper="out" if item.mode == "whisper" else None,
                    app_args=("snoop", item.call, item.supervisor), snoop_id=item.snoop,
                )  # fmt: skip
                # The snoop's 200 can come before it is in the app (its StasisStart is
                # raised from the snoop's own thread): adding it to a bridge then is a 422
                # "Channel not in Stasis application" (seen on Asterisk 22.10.1,
                # tests/asterisk/test_engine_flows.py).
                try:
                    async with asyncio.timeout(SNOOP_START_TIMEOUT):
                        await item.snooping.wait()
                except TimeoutError:
                    raise MonitorError("the snoop channel never entered the app") from None
                if item.ended:
                    return
                item.bridge = new_bridge_id("spy")
                await self.bridges.create("mixing", bridge_id=item.bridge, name="spy")
                await self.bridges.add_channel(item.bridge, [item.channel, item.snoop])
            log.info("monitoring supervisor=%s call=%s mode=%s",
                     item.supervisor, item.call, item.mode)  # fmt: skip
        except (AriError, MonitorError) as exc:
            log.warning("monitor failed supervisor=%s call=%s error=%s",
                        item.supervisor, item.call, exc)  # fmt: skip
            await self._end(item)

    async def _end(self, item: Monitor) -> None:
        if item.ended:
            return
        item.ended = True
        item.snooping.set()  # nothing to wait for any more (_connect)
        self._forget(item)
        for channel in (item.channel, item.snoop):
            if channel is not None:
                await self._quietly(self.channels.hangup(channel))
        if item.bridge is not None:
            await self._quietly(self.bridges.destroy(item.bridge))
        log.info("monitor ended supervisor=%s call=%s", item.supervisor, item.call)

    def _forget(self, item: Monitor) -> None:
        if self._by_supervisor.get(item.supervisor) is item:
            del self._by_supervisor[item.supervisor]
        for channel in (item.channel, item.snoop):
            if channel is not None and self._by_channel.get(channel) is item:
                del self._by_channel[channel]

    # -- tasks ---------------------------------------------------------------------------------

    def _spawn(self, step: Callable[[], Awaitable[None]], item: Monitor | None = None) -> None:
        server = item.server if item is not None else current_server()
        task = asyncio.get_running_loop().create_task(self._run(step, server))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(step: Callable[[], Awaitable[None]], server: str | None) -> None:
        try:
            with on_server(server):
                await step()
        except Exception:
            log.exception("monitor step failed")

    @staticmethod
    async def _quietly(request: Awaitable[None]) -> None:
        try:
            await request
        except AriError as exc:
            log.debug("monitor cleanup request failed error=%s", exc)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
