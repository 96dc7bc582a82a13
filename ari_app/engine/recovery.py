"""Restart recovery: on every (re)connect, rebuild what the engine knows from Asterisk.

Asterisk keeps the channels and bridges while the engine is dead (reconnect.md); what
it does not keep is the engine's view. On each resync snapshot (``GET /channels`` and
``GET /bridges``, read after the websocket is up):

* **Known calls** (a reconnect of a live engine): a caller or agent leg that vanished
  while no socket was connected is reported gone now; a leg answered meanwhile (its
  StasisStart was lost) is reported answered.
* **Unknown callers in the app** (a restarted engine), read from the ``CC_*`` variables:
  the dialplan's lookups and the engine's mark of the caller's queue, priority and entry
  time (``CC_QUEUED``, marks.py; or the three variables an engine before it set,
  ``CC_QUEUE``, ``CC_PRIORITY``, ``CC_ENQUEUED_AT``: a restart right after an upgrade):

  - talking to an agent in a mixing bridge: adopted, so a hang-up ends the call
    (COMPLETECALLER / COMPLETEAGENT) and the agent goes on to wrap-up;
  - waiting: re-enqueued with their original entry time and priority (``CallEnqueued``
    with ``entered``), oldest first, so the line keeps its order and wait times; one
    that waited for the agent it chose (``CC_AGENT``, routing.py) waits for it for what
    is left of ``AGENT_WAIT``;
  - not yet enqueued (no mark): admitted again, as on arrival.

* **Agent legs not answered** (ringing when the engine died, ``cc-leg-*`` outside the
  app) and answered legs without their caller are hung up *before* any agent is offered
  a call again, so nobody is rung twice; their callers are offered again.

**Agents' sessions** (a restarted engine, first connect only): the agents logged in
when the engine died come back logged in, from the store (``sessions``: its open
``agent_sessions`` rows and each agent's last state change): paused with the same
reason if they were paused, ready otherwise (a wrap-up that was running is over; the
store's session is closed and reopened at the restart, as for any login over an open
session). A pause reason the configuration no longer has leaves the agent logged out,
logged: never ready by surprise.

**Booked callbacks** (a restarted engine, first connect only): a caller who booked
the callback has hung up, so Asterisk has nothing of it; the booking is kept in the
store (bookings.py) and put back in line with ``CallEnqueued.callback_number``, in its
place among the waiting callers (priority, then first entry), to be called back in
turn. A booked caller still on the line (hearing its confirmation when the engine
died) is hung up, as the confirmation would have done. A booking whose agent and
customer (``appArgs=customer,<call>``) talk in a mixing bridge is adopted as a talking
call; one the store shows connected (CONNECT in its stay) with no talk going on any
more was served while the engine was dead: dropped, never called back twice. A
customer's channel without its agent is hung up.

The core learns all of it in one ``Dispatcher.exclusive`` batch: first each adopted
call is replayed (its agent logs in, the call is enqueued while that agent is the only
one free, the Ring it causes is not carried out and is answered at once, the Connect
finds the bridge already there), then (on the first connect only) the stored sessions
and the agents of ``login_agents`` log in, then the waiting callers and the bookings
are enqueued, oldest first; the engine logs ``restored call=... state=waiting|talking``.

**Journal lines, never twice, never lost.** The queue_log lines the replay makes again
(ENTERQUEUE and, for a talking call, CONNECT) were written by the dead engine, unless
it died within the store writer's batch window (``flush_interval``) after deciding
them. With the store's `Records` (``keep_in_store``), the lines already there for each
restored call are read first: a line the call's current stay has is skipped, a missing
one is written (an ENTERQUEUE stamped with the original entry time), and a talking
call whose interaction has no answer gets one (agent, queue, answered now). A stay is
the lines from the last ENTERQUEUE in the call's queue to its closing line (ABANDON,
EXIT*, COMPLETE*, *TRANSFER), so a caller transferred back into the same queue gets
its new ENTERQUEUE. Without the store's answer (none configured, or unreachable) both
lines are skipped, as written: never twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from ari_app.client import AriError, Bridge, Channel, Snapshot
from ari_app.engine.calls import Call, CallTable, Leg
from ari_app.engine.dispatcher import Dispatcher, Handle
from ari_app.engine.entry import VARIABLES, entry_for
from ari_app.engine.executor import Executor
from ari_app.engine.holding import shared
from ari_app.engine.marks import NAMES as MARK_NAMES
from ari_app.engine.marks import queued
from ari_app.engine.routing import AGENT_MARK, AGENT_WAIT
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.expression import Value
from callcenter.core.states import AgentState, CallState
from callcenter.store.records import Outcome

if TYPE_CHECKING:
    from callcenter.store import Store
    from callcenter.store.restart import Booking, Written

log = logging.getLogger(__name__)

LEG_PREFIX = "cc-leg-"
BRIDGE_PREFIX = "cc-"
REPLAYED_VERBS = frozenset({"ENTERQUEUE", "CONNECT"})
CLOSING_VERBS = frozenset({
    "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "FULL", "JOINEMPTY",
    "COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER",
})  # fmt: skip


Sessions = Callable[[], Awaitable[Mapping[str, str | None]]]
"""Agents logged in when the engine stopped: agent -> pause reason (None: ready)."""


class Records(Protocol):
    """What the store kept for a restart (callcenter/store/restart.py `StoredRecords`)."""

    async def written(self, calls: Sequence[str]) -> Mapping[str, Written]: ...
    async def bookings(self) -> Sequence[Booking]: ...
    def ended(self, call: str) -> None: ...


@dataclass(slots=True)
class Restored:
    record: Call
    queue: str
    priority: int
    entered: float
    attributes: dict[str, Value]
    leg: Leg | None = None  # the answered agent leg of a talking call
    callback: str = ""  # a booked callback's number (no channel)
    customer: str | None = None  # ... and its customer's channel, talking to the agent
    agent: str = ""  # the agent it waited for (an ``agent:`` target), if any
    written: frozenset[str] = REPLAYED_VERBS  # replayed lines the store already has
    answered: bool = True  # the store's interaction records the answer


def stasis_args(channel: Channel, app: str) -> list[str] | None:
    """The arguments of ``Stasis(app,...)`` the channel is in, or None (not in the app)."""
    dp = channel.dialplan
    if dp is None or dp.app_name != "Stasis":
        return None
    name, *args = dp.app_data.split(",")
    return args if name == app else None


class Recovery:
    def __init__(
        self,
        calls: CallTable,
        executor: Executor,
        dispatcher: Dispatcher,
        *,
        app: str,
        login_agents: Sequence[str] = (),
        sessions: Sessions | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.calls = calls
        self.executor = executor
        self.dispatcher = dispatcher
        self.app = app
        self.login_agents = tuple(login_agents)
        self.sessions = sessions
        self.records: Records | None = None
        """The store's lines and bookings (``bookings.keep_in_store``); None: no store."""
        self._now = now
        self._first = True
        self._bookings_read = False

    async def resync(self, snapshot: Snapshot) -> None:
        # The store is read alongside Asterisk, so the agents are back as early as before.
        reading = asyncio.ensure_future(self._read_sessions() if self._first else _no_sessions())
        bookings = await self._read_bookings()
        booked = {b.call_id for b in bookings}
        channels = {c.id: c for c in snapshot.channels}
        bridge_of: dict[str, Bridge] = {}
        for bridge in snapshot.bridges:
            for member in bridge.channels:
                bridge_of[member] = bridge
        self._settle_known(channels, snapshot.server)
        callers: list[Channel] = []
        agents: dict[str, tuple[Channel, str, str]] = {}  # by call: leg channel, call, agent
        customers: dict[str, str] = {}  # by call: a callback's customer channel
        strays: list[str] = []
        for channel in snapshot.channels:
            if (
                channel.id in self.calls.calls or self.calls.leg_of_channel(channel.id)
                or self.executor.call_of_customer(channel.id)
            ):  # fmt: skip
                continue
            args = stasis_args(channel, self.app)
            if args is None:
                if channel.id.startswith(LEG_PREFIX) and ";" not in channel.id:
                    strays.append(channel.id)  # rang when the engine died: not answered
                continue
            kind = args[0] if args else "inbound"
            if kind == "inbound" and channel.id in booked:
                strays.append(channel.id)  # booked, hearing the confirmation: hung up
            elif kind == "inbound":
                callers.append(channel)
            elif kind == "agent" and len(args) >= 3:
                agents[args[1]] = (channel, args[1], args[2])
            elif kind == "customer" and len(args) >= 2:
                customers[args[1]] = channel.id  # a callback's customer, answered
        talking, bookings = self._callbacks_talking(bookings, agents, customers, bridge_of)
        strays += customers.values()  # its agent gone, or its booking unknown: over
        restored, sessions = await asyncio.gather(
            asyncio.gather(*(self._read(c, snapshot.server, bridge_of) for c in callers)),
            reading,
        )
        waiting: list[Restored] = []
        for channel, item in zip(callers, restored, strict=True):
            found = agents.pop(channel.id, None)
            if item is None:  # admitted again as a new arrival: no agent of its own yet
                if found is not None:
                    strays.append(found[0].id)
                continue
            mixing = bridge_of.get(channel.id)
            if (
                found is not None and mixing is not None and mixing.bridge_type == "mixing"
                and found[0].id in mixing.channels
            ):  # fmt: skip
                item.record.mixing = mixing.id
                item.leg = Leg(found[0].id, channel.id, found[2], answered=True)
                talking.append(item)
            else:
                if found is not None:
                    strays.append(found[0].id)
                if mixing is not None and mixing.bridge_type == "mixing":
                    # Its agent hung up while the engine was dead: the call is over.
                    log.info("restore call=%s: agent already gone, hanging up", channel.id)
                    strays.append(channel.id)
                    continue
                if mixing is not None:
                    item.record.holding = mixing.id
                waiting.append(item)
        strays += [leg.id for leg, _, _ in agents.values()]  # answered, caller gone
        # Nobody rung twice: every agent leg from before is gone before anyone is offered.
        await asyncio.gather(*(self._hang_up(channel) for channel in strays))
        await self._destroy_empty(snapshot.bridges, set(strays))
        waiting += [self._booking(b) for b in bookings if b.call_id not in self.calls.calls]
        waiting.sort(key=lambda r: (-r.priority, r.entered))
        await self._check_written([*talking, *waiting])
        waiting = [item for item in waiting if not self._served(item)]
        for item in [*talking, *waiting]:
            if item.callback:
                self.executor.restore_booking(item.record, item.customer)
            else:
                self.calls.add(item.record)
            if item.leg is not None:
                self.calls.add_leg(item.leg)
        await self.dispatcher.exclusive(
            lambda handle: self._replay(handle, talking, waiting, sessions)
        )
        for item in waiting:
            if item.record.holding is None and not item.record.gone and not item.callback:
                self.executor.hold(item.record)
        log.info("restore server=%s waiting=%d talking=%d hung_up=%d",
                 snapshot.server, len(waiting), len(talking), len(strays))  # fmt: skip

    # -- a live engine that reconnects -------------------------------------------------------

    def _settle_known(self, channels: dict[str, Channel], server: str) -> None:
        # Only this server's calls: the others' channels are not in its snapshot.
        known = [record for record in self.calls.calls.values() if record.server == server]
        # Callers who left first, so that an agent freed below is not offered one of them.
        for record in known:
            if record.stranded:  # sent on while this server was down: again, now
                self.executor.resend(record, caller_there=record.channel in channels)
                continue
            if record.channel not in channels and not record.leaving:
                log.info("caller gone while disconnected call=%s", record.id)
                self.executor.caller_gone(record)
        for record in known:
            if record.channel not in channels:
                continue
            for leg in list(record.legs.values()):
                live = channels.get(leg.channel)
                if live is None:
                    if leg.answered:
                        self.executor.agent_gone(leg)
                    else:
                        self.executor.leg_failed(leg, "gone while disconnected")
                elif not leg.answered and stasis_args(live, self.app) is not None:
                    leg.answered = True  # its StasisStart was missed
                    self.dispatcher.post(ev.AgentAnswered(self._now(), leg.call, leg.agent))

    # -- reading back what the engine knew -----------------------------------------------------

    async def _read_sessions(self) -> Mapping[str, str | None]:
        if self.sessions is None:
            return {}
        try:
            return await self.sessions()
        except Exception:  # the store down: agents log in again from their consoles
            log.exception("restore: agent sessions could not be read")
            return {}

    async def _read(
        self, channel: Channel, server: str, bridge_of: dict[str, Bridge]
    ) -> Restored | None:
        names = tuple(dict.fromkeys((*VARIABLES, *MARK_NAMES, AGENT_MARK)))
        values = await asyncio.gather(*(self._variable(channel.id, n) for n in names))
        variables = {n: v for n, v in zip(names, values, strict=True) if v}
        exten = args_exten(channel, self.app)
        record = Call(channel.id, channel.id, server, exten, channel.caller.number)
        place = queued(variables)
        if place is None:
            # Arrived but was not enqueued yet: admit it again, as a new arrival.
            bridge = bridge_of.get(channel.id)
            record.holding = bridge.id if bridge is not None else None
            log.info("restore call=%s: not enqueued yet, admitting again", channel.id)
            self.calls.add(record)
            self.executor.admit(record)
            return None
        # The mark decides the queue and priority; the lookups' CC_VIP and CC_LANG the rest.
        variables["CC_QUEUE"] = place.queue
        if place.priority is not None:
            variables["CC_PRIORITY"] = str(place.priority)
        entry = entry_for(self.executor.config, exten, variables)
        if entry is None:  # cannot happen with CC_QUEUE set; never strand the caller anyway
            self.calls.add(record)
            self.executor.admit(record)
            return None
        # Kept on the call as on arrival: a later mark (a move, an overflow) and a transfer
        # back to a queue go on with them.
        record.queue, record.priority = entry.queue, entry.priority
        record.attributes = dict(entry.attributes)
        item = Restored(record, entry.queue, entry.priority, place.entered,
                        dict(entry.attributes))  # fmt: skip
        item.agent = wanted_agent(variables.get(AGENT_MARK), place.at)
        return item

    async def _read_bookings(self) -> Sequence[Booking]:
        """The stored bookings, once: at the first connect (of any server)."""
        if self.records is None or self._bookings_read:
            return []
        self._bookings_read = True  # before the await: a second server's resync may run
        try:
            return await self.records.bookings()
        except Exception:  # the store down: the bookings come back with the next restart
            log.exception("restore: booked callbacks could not be read")
            return []

    def _callbacks_talking(
        self,
        bookings: Sequence[Booking],
        agents: dict[str, tuple[Channel, str, str]],
        customers: dict[str, str],
        bridge_of: dict[str, Bridge],
    ) -> tuple[list[Restored], list[Booking]]:
        """Bookings whose agent and customer talk in a mixing bridge (called back when the
        engine died): adopted like any talking call. The others, to put back in line."""
        talking: list[Restored] = []
        others: list[Booking] = []
        for booking in bookings:
            call = booking.call_id
            customer, found = customers.get(call), agents.get(call)
            mixing = bridge_of.get(customer or "")
            if (
                customer is None or found is None or mixing is None
                or mixing.bridge_type != "mixing" or found[0].id not in mixing.channels
            ):  # fmt: skip
                others.append(booking)
                continue
            del customers[call], agents[call]
            item = self._booking(booking)
            item.customer = customer
            item.record.mixing = mixing.id
            item.leg = Leg(found[0].id, call, found[2], answered=True)
            talking.append(item)
        return talking, others

    def _served(self, item: Restored) -> bool:
        """A booking the store shows connected, with no call going on: it was served (the
        kill came before its row was dropped). Dropped now, never called back twice."""
        if not item.callback or "CONNECT" not in item.written or self.records is None:
            return False
        log.info("restore call=%s: callback already served, booking dropped", item.record.id)
        self.records.ended(item.record.id)
        return True

    @staticmethod
    def _booking(booking: Booking) -> Restored:
        record = Call(booking.call_id, booking.call_id, booking.server, booking.exten,
                      booking.caller_number, name=booking.caller_name, queue=booking.queue,
                      lang=booking.lang, callback=booking.number,
                      attributes=dict(booking.attributes), priority=booking.priority)  # fmt: skip
        return Restored(record, booking.queue, booking.priority, booking.entered,
                        dict(booking.attributes), callback=booking.number)  # fmt: skip

    async def _check_written(self, items: Sequence[Restored]) -> None:
        """Which replayed lines (and answers) of each call the store already has."""
        if self.records is None or not items:
            return
        try:
            written = await self.records.written([item.record.id for item in items])
        except Exception:  # never twice: without the store's answer, as written
            log.exception("restore: written lines could not be read; not writing them again")
            return
        for item in items:
            found = written.get(item.record.id)
            item.written = _in_stay(found.lines, item.queue) if found else frozenset()
            item.answered = found is not None and found.answered_at is not None
            replayed = REPLAYED_VERBS if item.leg is not None else {"ENTERQUEUE"}
            lost = sorted(replayed - item.written)
            if lost:
                log.info("restore call=%s: writing the lost %s", item.record.id, ",".join(lost))

    async def _variable(self, channel: str, name: str) -> str | None:
        try:
            return await self.executor.channels.get_variable(channel, name)
        except AriError:
            return None

    async def _hang_up(self, channel: str) -> None:
        log.info("restore hang-up channel=%s", channel)
        try:
            await self.executor.channels.hangup(channel)
        except AriError as exc:
            log.debug("restore hang-up failed channel=%s error=%s", channel, exc)

    async def _destroy_empty(self, bridges: Sequence[Bridge], hung_up: set[str]) -> None:
        """The engine's bridges left with nobody in them (or only channels just hung up:
        an agent's leg whose caller had gone, alone in their mixing bridge)."""
        for bridge in bridges:
            if (
                bridge.id.startswith(BRIDGE_PREFIX) and not shared(bridge.id)
                and hung_up.issuperset(bridge.channels)
            ):  # fmt: skip
                try:
                    await self.executor.bridges.destroy(bridge.id)
                except AriError as exc:
                    log.debug("restore bridge destroy failed bridge=%s error=%s", bridge.id, exc)

    # -- the core's side, in the dispatcher's task -------------------------------------------------

    def _replay(
        self,
        handle: Handle,
        talking: list[Restored],
        waiting: list[Restored],
        sessions: Mapping[str, str | None],
    ) -> None:
        router = self.dispatcher.router
        now = self._now()

        def login(agent: str, paused: str | None = None) -> None:
            if agent not in router.agents:
                log.warning("restore login agent=%s: not in the configuration", agent)
            elif router.agent_state(agent) is AgentState.LOGGED_OUT:
                try:
                    handle(ev.AgentLoggedIn(now, agent, paused), _never)
                except Exception as exc:
                    log.warning("restore login refused agent=%s paused=%s: %s",
                                agent, paused or "-", exc)  # fmt: skip
                    return
                log.info("restore login agent=%s paused=%s", agent, paused or "-")

        for item in talking:
            if item.leg is not None:
                self._adopt(handle, item, item.leg.agent, login, now)
        if self._first:  # later reconnects keep whoever logged out meanwhile logged out
            self._first = False
            for agent, reason in sorted(sessions.items()):
                login(agent, reason)
            for agent in self.login_agents:
                login(agent)
        for item in waiting:
            call = item.record.id
            try:
                skip = partial(_replayed, call=call, written=item.written)
                handle(self._enqueued(item, now), skip)
            except Exception:
                log.exception("restore failed call=%s", call)
                self.executor.fail(call)
                continue
            log.info("restored call=%s state=%s queue=%s priority=%d waited_s=%.1f", call,
                     "callback" if item.callback else "waiting", item.queue, item.priority,
                     now - item.entered)  # fmt: skip

    def _adopt(
        self, handle: Handle, item: Restored, agent: str, login: Callable[[str], None], now: float
    ) -> None:
        """The caller and ``agent`` talk: make the core see it so (enqueue, ring, answer)."""
        call = item.record.id
        router = self.dispatcher.router

        def skip(command: cmd.Command) -> bool:
            # Not carried out: the ring (the agent already talks), the bridge (it exists),
            # a refusal (the talk goes on whatever the queue says now), and the queue_log
            # lines the dead engine already wrote.
            if isinstance(command, cmd.Ring | cmd.Connect | cmd.CancelRing | cmd.LeaveQueue):
                return getattr(command, "call", "") == call
            return _replayed(command, call, item.written)

        try:
            login(agent)
            handle(self._enqueued(item, now), skip)
            caller = router.calls.get(call)
            if caller is None or agent not in caller.ringing:
                raise RuntimeError(f"agent {agent} was not offered call {call}")
            if agent in caller.unaccepted:  # an accept-mode queue: accepted long ago
                handle(ev.AgentAccepted(now, call, agent), skip)
            handle(ev.AgentAnswered(now, call, agent), skip)
            if router.call_state(call) is not CallState.CONNECTED:
                raise RuntimeError(f"call {call} did not connect to {agent}")
        except Exception as exc:
            # The core cannot see this call (agent unknown, not a member any more): it goes on
            # in Asterisk, and ends when either side hangs up, without queue_log lines.
            log.warning("restore call=%s agent=%s: talking, not in the core (%s)", call, agent, exc)
            if router.calls.get(call) is not None:
                handle(ev.CallerHungUp(now, call), lambda c: True)
            return
        if not item.answered and self.executor.interactions is not None:
            # Its Connect (not carried out, so not journaled) was the interaction's answer.
            self.executor.interactions.interaction(
                call, agent=agent, queue=item.queue, answered_at=now, outcome=Outcome.ANSWERED
            )
        log.info("restored call=%s state=talking queue=%s agent=%s bridge=%s",
                 call, item.queue, agent, item.record.mixing)  # fmt: skip

    @staticmethod
    def _enqueued(item: Restored, now: float) -> ev.CallEnqueued:
        record = item.record
        # Waiting for an agent: for what is left of the wait (none left: any agent).
        wait = max(0.0, AGENT_WAIT - (now - item.entered)) if item.agent else 0.0
        return ev.CallEnqueued(now, record.id, item.queue, record.number, item.attributes,
                               item.priority, entered=item.entered,
                               callback_number=item.callback, agent=item.agent,
                               agent_wait=wait)  # fmt: skip


def args_exten(channel: Channel, app: str) -> str:
    args = stasis_args(channel, app) or []
    if len(args) > 1 and args[1]:
        return args[1]
    return channel.dialplan.exten if channel.dialplan is not None else ""


def _replayed(command: cmd.Command, call: str, written: frozenset[str]) -> bool:
    """A replayed queue_log line of ``call`` that the store already has."""
    return (
        isinstance(command, cmd.QueueLog) and command.call == call
        and command.verb in written
    )  # fmt: skip


def wanted_agent(mark: str | None, entered: str) -> str:
    """The agent of a ``CC_AGENT`` mark made for this entry (its marked time), else ""."""
    agent, _, at = (mark or "").rpartition("@")
    return agent if agent and at == entered else ""


def _in_stay(lines: Sequence[tuple[str, str]], queue: str) -> frozenset[str]:
    """The replayed verbs written in the call's current stay in ``queue``: since its last
    ENTERQUEUE there, unless a closing line came after it."""
    written: set[str] = set()
    for verb, where in lines:
        if verb == "ENTERQUEUE":
            written = {verb} if where == queue else set()
        elif verb == "CONNECT" and written:
            written.add(verb)
        elif verb in CLOSING_VERBS:
            written = set()
    return frozenset(written)


async def _no_sessions() -> Mapping[str, str | None]:
    return {}


def _never(command: cmd.Command) -> bool:
    return False


async def stored_sessions(store: Store) -> dict[str, str | None]:
    """The `Sessions` of a store: its open sessions, paused agents with their reason."""
    found = await store.logged_in_agents()
    return {
        agent: last.reason if last is not None and last.state is AgentState.PAUSED else None
        for agent, last in found.items()
        if last is None or last.state is not AgentState.LOGGED_OUT  # a session left open
    }
