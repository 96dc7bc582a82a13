"""The executor: the core's commands (and a caller's arrival) become ARI requests.

Nothing here awaits inside the dispatcher: each command is turned into a step on its
call's own chain of tasks, so one call's requests run in the order the core decided
(originate before its cancel, bridge before hang-up) while different calls proceed
side by side. A REST outcome the core must know (an originate refused) is posted
back to the dispatcher as a core event.

Fail-safe: a step that fails unexpectedly is logged with the call id and the caller
is sent back to the dialplan at the fallback (``fail``); other calls are untouched.
A request that fails because the caller already left is expected and dropped.

Its parts: `Routing` (routing.py: arrival, menu exits, targets) and `Callbacks`
(callbacks.py: the customer's leg) are base classes; what the caller hears is `Voice`
(voice.py), driven by `Menus` (menus.py: the IVR) and `WaitingRoom` (waiting.py: the
core's waiting-room commands and the keys of a queued caller).

On connect: the caller leaves the holding bridge for a new mixing bridge with the
agent; with the queue's ``record`` policy the mixing bridge is recorded as
``cc-<call id>`` (kept for the interaction row, stopped before the bridge goes).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Unpack

from ari_app.client import AllocationFailedError, AriConnectionError, AriError
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.client.media import Playbacks, Recordings
from ari_app.client.pool import AriUnroutableError, current_server, on_server
from ari_app.engine.callbacks import Callbacks, caller_id
from ari_app.engine.calls import Call, CallTable, Leg, new_bridge_id, new_leg_id
from ari_app.engine.clock import TimerClock
from ari_app.engine.holding import HoldingBridges, shared
from ari_app.engine.marks import MARK, mark
from ari_app.engine.menus import Menus
from ari_app.engine.routing import Routing
from ari_app.engine.settings import OUTBOUND_CONTEXT
from ari_app.engine.voice import Voice
from ari_app.engine.waiting import WaitingRoom
from callcenter.config import Config
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.spec import Target, TargetKind

if TYPE_CHECKING:
    from callcenter.store.records import InteractionFields

log = logging.getLogger(__name__)

Post = Callable[[ev.Event], None]
Step = Callable[[], Awaitable[None]]

WAITING_COMMANDS = (cmd.Announce, cmd.PlayPrompt, cmd.OfferCallback, cmd.ConfirmCallback)


class InteractionSink(Protocol):
    """Where facts the core does not know go: the store writer's ``interaction``."""

    def interaction(self, call_id: str, **fields: Unpack[InteractionFields]) -> bool: ...


@dataclass(frozen=True, slots=True)
class Fallback:
    """Where a caller the engine cannot serve continues in the dialplan."""

    context: str = "callcenter-fallback"
    extension: str = "s"
    priority: int = 1

    def __str__(self) -> str:
        return f"{self.context},{self.extension},{self.priority}"


class Executor(Routing, Callbacks):
    def __init__(
        self,
        channels: Channels,
        bridges: Bridges,
        calls: CallTable,
        clock: TimerClock,
        post: Post,
        config: Config,
        *,
        playbacks: Playbacks,
        recordings: Recordings,
        app: str = "callcenter",
        fallback: Fallback = Fallback(),
        outbound_context: str = OUTBOUND_CONTEXT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.channels = channels
        self.bridges = bridges
        self.recordings = recordings
        self.calls = calls
        self.clock = clock
        self.config = config
        self.app = app
        self.fallback = fallback
        self.outbound_context = outbound_context
        """Where numbers are dialed out (callbacks): the engine setting."""
        self.interactions: InteractionSink | None = None
        """Recording names and IVR paths for the interaction row (the store writer)."""
        self._post = post
        self._now = now
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._resends: dict[str, asyncio.TimerHandle] = {}
        self.holding = HoldingBridges(bridges)
        self.voice = Voice(channels, playbacks, self._chain, self.fail)
        self.menus = Menus(self.voice, self._menu_exit, self.fail)
        self.waiting = WaitingRoom(self.voice, post, now, self._hang_up_kept)
        self._customers: dict[str, str] = {}  # callback customer channel -> call
        self._kept: set[str] = set()  # callbacks whose caller has hung up, place kept

    # -- commands ------------------------------------------------------------------------

    def execute(self, command: cmd.Command) -> None:
        match command:
            case cmd.StartTimer(key=key, at=at):
                self.clock.start(key, at)
            case cmd.CancelTimer(key=key):
                self.clock.cancel(key)
            case cmd.Ring(accept=True):
                pass  # accept mode: the offer is on the agent's console (the bus) only
            case cmd.Ring():
                self._ring(command)
            case cmd.CancelRing(call=call, agent=agent):
                leg = self.calls.remove_leg(call, agent)
                if leg is not None and not leg.pending:
                    self._chain(call, lambda: self._hang_up(leg.channel))
            case cmd.Connect():
                self._prepare_connect(command.call)
                self._chain(command.call, lambda: self._connect(command))
            case cmd.LeaveQueue():
                self._leave(command)
            case cmd.QueueChanged(call=call, queue=queue, entered=entered):
                self._moved(call, queue, entered)
            case _ if isinstance(command, WAITING_COMMANDS):
                record = self.calls.get(getattr(command, "call", ""))
                if record is not None and not record.gone and record.id not in self._kept:
                    self.waiting.execute(record, command)
            case _:
                pass  # state changes and queue_log lines: the journal and the log

    def _ring(self, command: cmd.Ring) -> None:
        record = self.calls.get(command.call)
        if record is None or record.gone:
            return  # the caller left; the core's CancelRing for this offer follows
        leg = self.calls.add_leg(Leg(new_leg_id(), command.call, command.agent, pending=True))
        self._chain(command.call, lambda: self._originate(record, leg, command))

    async def _originate(self, record: Call, leg: Leg, command: cmd.Ring) -> None:
        if self.calls.leg(leg.call, leg.agent) is not leg:
            return  # cancelled before its turn came: no channel, no hang-up either
        leg.pending = False
        # The agent's phone shows who is calling: originate's callerId becomes the new
        # channel's caller and connected line (agent_busy.jsonl: callerId "Support Queue
        # <100>" came back as both); once bridged, Asterisk updates the connected line.
        number = command.callback_number or record.number
        try:
            await self.channels.originate(
                command.endpoint,
                app=self.app,
                app_args=("agent", leg.call, leg.agent),
                channel_id=leg.channel,
                caller_id=caller_id(record.name, number),
                # Whole seconds only; the core's own ring timer ends the offer on time.
                ring_timeout=max(1, math.ceil(command.timeout)),
            )
        except AriError as exc:
            # Unregistered endpoint: a synchronous 500 "Allocation failed", no channel and no
            # event follow (agent_unreachable.md).
            reason = "unreachable" if isinstance(exc, AllocationFailedError) else str(exc)
            # The originate goes to the caller's server: not reaching it is the caller's
            # side, and the core pauses that caller instead of trying every agent on it.
            server_down = isinstance(exc, AriConnectionError | AriUnroutableError)
            log.info("ring failed call=%s agent=%s server=%s reason=%s",
                     leg.call, leg.agent, record.server, reason)  # fmt: skip
            self.leg_failed(leg, reason, caller_unreachable=server_down)

    def leg_failed(
        self, leg: Leg, reason: str, *, no_answer: bool = False, caller_unreachable: bool = False
    ) -> None:
        """The leg ended before the agent answered: tell the core (once)."""
        if self.calls.leg(leg.call, leg.agent) is not leg:
            return
        self.calls.remove_leg(leg.call, leg.agent)
        now = self._now()
        if no_answer:
            self._post(ev.AgentNoAnswer(now, leg.call, leg.agent))
        else:
            self._post(ev.RingFailed(now, leg.call, leg.agent, reason, caller_unreachable))

    def _prepare_connect(self, call: str) -> None:
        """Nothing more is played to the caller, nothing more is keyed in the line."""
        self.waiting.forget(call)
        self.voice.stop(call)

    async def _connect(self, command: cmd.Connect) -> None:
        record = self.calls.get(command.call)
        leg = self.calls.leg(command.call, command.agent)
        if record is None or record.gone or leg is None:
            return  # a hang-up raced the answer; its event is on its way to the core
        mixing = new_bridge_id("mix")
        record.mixing = mixing
        await self.bridges.create("mixing", bridge_id=mixing, name=f"call-{record.id}")
        if command.callback_number:
            # The agent is on the line first; the customer joins when answering (customer_up).
            await self.bridges.add_channel(mixing, leg.channel)
        else:
            # Straight from the holding bridge: adding a bridged channel swaps it over in
            # its own thread (control_swap_channel_in_bridge, res/stasis/control.c). Not
            # destroy-then-add: a caller just pulled out of the destroyed bridge was now and
            # then left in no bridge while addChannel still answered 204 (3 in 2,100 tries
            # on Asterisk 22.10.1; none in 2,100 this way round).
            await self.bridges.add_channel(mixing, [record.channel, leg.channel])
        await self._left_holding(record)
        if command.record:
            await self._record(record, mixing, leg.agent)
        if command.callback_number:
            await self._dial_customer(record, command.callback_number)
        log.info("connected call=%s agent=%s bridge=%s", record.id, leg.agent, mixing)

    async def _record(self, record: Call, mixing: str, agent: str) -> None:
        """Record the mixing bridge as ``cc-<call id>`` (``-<agent>`` after a first one).
        A recorder that fails is logged; the call goes on unrecorded rather than failing."""
        name = f"cc-{record.id}" if record.recording is None else f"cc-{record.id}-{agent}"
        try:
            # RecordingStarted usually arrives before the 201 (queue_moh_ring_answer.md).
            await self.bridges.record(mixing, name, "wav", if_exists="fail")
        except AriError as exc:
            log.warning("recording not started call=%s name=%s error=%s", record.id, name, exc)
            return
        record.recording = name
        log.info("recording call=%s name=%s", record.id, name)
        if self.interactions is not None:
            self.interactions.interaction(record.id, recording_path=name)

    async def _stop_recording(self, record: Call) -> None:
        if record.recording is not None and record.mixing is not None:
            # Stop and keep; RecordingFinished follows (queue_moh_ring_answer.md).
            await self._quietly(self.recordings.stop(record.recording))

    # -- the holding bridge -------------------------------------------------------------------

    def hold(self, record: Call) -> None:
        """Into the holding bridge with music (a restored caller found outside one)."""
        self._chain(record.id, lambda: self._hold(record))

    async def _hold(self, record: Call) -> None:
        if record.holding is not None:
            return  # already in line (a LeaveQueue to another queue)
        record.holding = await self.holding.join(
            record.server, self._music_class(record), record.channel
        )

    async def _unhold(self, record: Call) -> None:
        """Out of the holding bridge, staying in Stasis (to the menus)."""
        holding, record.holding = record.holding, None
        if holding is None:
            return
        if shared(holding):
            await self._quietly(self.bridges.remove_channel(holding, record.channel))
        else:
            await self._drop_own_holding(holding)

    async def _left_holding(self, record: Call) -> None:
        """The caller was swapped out of its holding bridge (into the mixing bridge)."""
        holding, record.holding = record.holding, None
        if holding is not None and not shared(holding):
            await self._drop_own_holding(holding)

    async def _drop_own_holding(self, holding: str) -> None:
        # A bridge of the call's own (an older engine's, found by a restart): one request,
        # not three (stop music, remove, destroy): destroying a bridge takes its channels
        # out, and they stay in Stasis ("removed and resume whatever they were doing
        # beforehand", ari-api-docs bridges.json); its music stops with it.
        await self._quietly(self.bridges.destroy(holding))

    def _music_class(self, record: Call) -> str | None:
        queue = self.config.queues.get(record.queue)
        return queue.music_class if queue is not None else None

    # -- leaving the line ---------------------------------------------------------------------

    def _leave(self, command: cmd.LeaveQueue) -> None:
        record = self.calls.get(command.call)
        if record is None or record.gone:
            return
        self.waiting.forget(record.id)
        target = command.target
        if target is not None and target.kind is TargetKind.QUEUE:
            # Straight into another queue: still in the holding bridge, with its music.
            self.requeued(record, target.value)
            now = self._now()
            self._post(ev.CallEnqueued(now, record.id, target.value, record.number,
                                       record.attributes, record.priority))  # fmt: skip
            self._chain(record.id, lambda: self._mark(record, target.value, now))
            return
        log.info("leave call=%s queue=%s reason=%s target=%s",
                 record.id, command.queue, command.reason, target)  # fmt: skip
        self.voice.stop(record.id)
        # No target (a queue without overflow): hang up, as LeaveQueue and the config say.
        self.send(record, target or Target(TargetKind.HANGUP))

    def _moved(self, call: str, queue: str, entered: float) -> None:
        """Moved by a supervisor: the new queue (and the first entry time) marked for a
        restart. The caller keeps waiting with the new queue's music (`requeued`)."""
        record = self.calls.get(call)
        if record is None or record.gone:
            return
        self.requeued(record, queue)  # the new queue's music
        if record.id not in self._kept:  # a booked callback has no channel to mark
            self._chain(record.id, lambda: self._mark(record, queue, entered))

    async def _mark(self, record: Call, queue: str, entered: float) -> None:
        """The queue and entry time a restarted engine restores the caller with (its
        priority unchanged), in one request (marks.py)."""
        value = mark(queue, record.priority, entered)
        await self.channels.set_variable(record.channel, MARK, value)

    # -- departures -------------------------------------------------------------------------

    def caller_gone(self, record: Call) -> None:
        """The caller hung up: every agent leg and bridge of the call goes too."""
        if record.gone or record.id in self._kept:
            return
        self._post(ev.CallerHungUp(self._now(), record.id))
        if record.callback:
            # Booked: the caller hangs up as expected and the place in line is kept; the
            # core calls the customer back in turn (Connect.callback_number).
            self._kept.add(record.id)
            self.menus.forget(record.id)
            self.waiting.forget(record.id)
            self._chain(record.id, lambda: self._release_bridges(record))
            return
        record.gone = True
        self._chain(record.id, lambda: self._release(record, hang_up_caller=False))

    def refuse(self, channel: str, server: str) -> None:
        """A caller on `server` the engine cannot take (its id is another server's call's,
        stasis.py): back to the dialplan at the fallback, on its own server."""
        fb = self.fallback

        async def send_back() -> None:
            with on_server(server):
                await self.channels.continue_in_dialplan(
                    channel, fb.context, fb.extension, fb.priority
                )

        self._chain(f"{server}/{channel}", send_back)

    def hang_up_stray(self, channel: str, call: str) -> None:
        """A channel of ``call`` the engine does not know (any more): hang it up."""
        self._chain(call or channel, lambda: self._hang_up(channel))

    def _hang_up_kept(self, record: Call) -> None:
        """After the callback's confirmation: hang up the caller, keep the call."""
        self._chain(record.id, lambda: self._hang_up(record.channel))

    def agent_gone(self, leg: Leg) -> None:
        """An answered agent hung up: the caller is hung up too (no wrap-up call-back)."""
        record = self.calls.get(leg.call)
        if self.calls.leg(leg.call, leg.agent) is not leg or record is None:
            return
        self.calls.remove_leg(leg.call, leg.agent)
        self._post(ev.AgentHungUp(self._now(), leg.call, leg.agent))
        if record.gone:
            return
        record.gone = record.leaving = True
        self._chain(record.id, lambda: self._release(record, hang_up_caller=True))

    def fail(self, call: str) -> None:
        """Fail-safe: send the caller back to the dialplan; the core forgets the call."""
        record = self.calls.get(call)
        if record is None or record.leaving or record.gone:
            return
        record.leaving = record.gone = True
        log.error("fail-safe call=%s server=%s: caller sent to %s",
                  call, record.server, self.fallback)  # fmt: skip
        self.menus.forget(call)
        self._post(ev.CallerHungUp(self._now(), call))
        self._chain(call, lambda: self._fail_safe(record))

    async def _fail_safe(self, record: Call) -> None:
        await self._hang_up_legs(record)
        if record.id in self._kept:
            await self._release_bridges(record)
            self._forget(record)
        else:
            await self._send_on(record, None)

    async def _release(self, record: Call, *, hang_up_caller: bool) -> None:
        await self._hang_up_legs(record)
        if hang_up_caller and record.id not in self._kept:
            await self._quietly(self._hang_up(record.channel))
        await self._release_bridges(record)
        self._forget(record)

    async def _hang_up_legs(self, record: Call) -> None:
        for leg in list(record.legs.values()):
            self.calls.remove_leg(leg.call, leg.agent)
            if not leg.pending:
                await self._quietly(self._hang_up(leg.channel))
        customer, record.customer = record.customer, None
        if customer is not None:
            self._customers.pop(customer, None)
            await self._quietly(self._hang_up(customer))

    async def _release_bridges(self, record: Call) -> None:
        """The call's own bridges go; a shared holding bridge stays for the others."""
        await self._stop_recording(record)
        for bridge in (record.holding, record.mixing):
            if bridge is not None and not shared(bridge):
                await self._quietly(self.bridges.destroy(bridge))
        record.holding = record.mixing = None

    def _forget(self, record: Call) -> None:
        """The call is over for the engine: no prompt, timer or key is left behind."""
        self.menus.forget(record.id)
        self.waiting.forget(record.id)
        self.voice.forget(record.id)
        self._kept.discard(record.id)
        self.calls.remove(record.id)

    async def _to_fallback(self, record: Call) -> None:
        fb = self.fallback
        # `continue` leaves Stasis: only StasisEnd follows (hold_mute_variables_continue.md).
        await self.channels.continue_in_dialplan(
            record.channel, fb.context, fb.extension, fb.priority
        )

    async def _hang_up(self, channel: str) -> None:
        try:
            await self.channels.hangup(channel)
        except AriError as exc:
            log.debug("hang-up of a channel already gone channel=%s error=%s", channel, exc)

    @staticmethod
    async def _quietly(request: Awaitable[None]) -> None:
        try:
            await request
        except AriError as exc:
            log.debug("cleanup request failed error=%s", exc)

    # -- one chain of steps per call ---------------------------------------------------------

    def _chain(self, call: str, step: Step) -> None:
        previous = self._tails.get(call)
        # Its requests go to the call's server (pool.py); a channel without a call (a stray
        # leg) is on the server of the event that found it, the scope in force here.
        record = self.calls.get(call)
        server = record.server if record is not None else current_server()
        task = asyncio.get_running_loop().create_task(self._run(call, previous, step, server))
        self._tails[call] = task
        task.add_done_callback(lambda done: self._untail(call, done))

    def _untail(self, call: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(call) is task:
            del self._tails[call]

    async def _run(
        self, call: str, previous: asyncio.Task[None] | None, step: Step, server: str | None
    ) -> None:
        if previous is not None and not previous.done():  # asyncio.wait costs a future
            await asyncio.wait([previous])
        try:
            with on_server(server):
                await step()
        except AriError as exc:
            record = self.calls.get(call)
            if record is None or record.gone:
                log.debug("request after the caller left call=%s error=%s", call, exc)
                return
            log.exception("ari request failed call=%s", call)
            self.fail(call)
        except Exception:
            log.exception("step failed call=%s", call)
            self.fail(call)

    async def idle(self) -> None:
        """Until every step scheduled so far has run (tests, shutdown)."""
        while self._tails:
            await asyncio.wait(list(self._tails.values()))

    async def aclose(self) -> None:
        for timer in self._resends.values():
            timer.cancel()
        self._resends.clear()
        tasks = list(self._tails.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
