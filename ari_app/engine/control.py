"""Call control: what an agent (or a supervisor) does to the call they are on.

Every request names the agent, never a call: the call is the one that agent talks on
right now (the core's answered leg in the `CallTable`, or the call a transfer put
them on), so an agent can never act on another agent's call. A request that makes no
sense (no call, wrong state, bad digits, unknown target) raises `ControlError`, whose
text is for the console.

How each action is done on Asterisk, and why:

* **hold / resume**: the caller is moved into a holding bridge of its own with music
  on hold, and back into the call's mixing bridge (``addChannel`` moves a channel
  between bridges, errors.md). ARI's ``POST /channels/{id}/hold`` only indicates hold
  toward the channel: no event, and a Local or trunk caller hears nothing
  (hold_mute_variables_continue.md, sip_phone_hold.md); channel MOH on a caller left
  in the mixing bridge would still let agent and caller hear each other. A holding
  bridge with MOH is what waiting callers already get (queue_moh_ring_answer.md).
* **mute**: the agent's channel, direction ``in`` (what the agent's phone sends), so
  the caller stops hearing the agent while the agent still hears the caller.
* **DTMF**: sent on the caller's channel (toward whoever called: a remote IVR).
* **blind transfer**

  - *to a queue*: the caller waits with music in a holding bridge, the agent's leg is
    hung up and the core gets ``CallTransferred`` (BLINDTRANSFER, the agent goes to
    wrap-up), then ``CallEnqueued`` **for the same call id** with the caller's data
    (attributes and priority from arrival, or its ``CC_*`` variables after a restart).
    The interaction row keeps one id for the
    customer's whole contact (``first_queue``, ``arrived_at`` keep their first value,
    ``queue`` and ``agent`` become the last ones), and queue_log shows the call
    leaving one queue and entering the next under one callid, as app_queue does for
    a caller that re-enters a queue.
  - *to an agent*: the target must be logged in, ready and reachable. The caller waits
    with music while the target's phone rings (the first agent is freed at once, as
    for a queue). The target is kept out of routing meanwhile (`Reachability.engage`):
    the core does not route this call to them, so it must not offer them another.
    Answered: caller and target are bridged and the target controls the call. Not
    answered (no answer, busy): the caller goes back into its queue **at the front**
    (``CallEnqueued`` with ``position=1``), never left alone with music. Refused at
    once (500 ``Allocation failed``, agent_unreachable.md): ``ControlError``, and the
    caller stays with the agent.
  - *to a number*: the caller is sent with ``continue`` to ``<outbound
    context>,<number>,1`` in the dialplan, which dials out (transfer_redirect.md (B):
    continue from a bridge gives ``ChannelLeftBridge`` then ``StasisEnd``). ARI's
    ``redirect`` is no use: on a Local channel it returns 204 and does nothing, on
    PJSIP it sends a REFER the engine never hears back from (transfer_redirect.md).

* **attended transfer**: the caller is put on hold (as above); the target (an agent's
  phone, or ``Local/<number>@<outbound context>`` for a number) is originated and, once
  answered, joins the agent in the call's mixing bridge (the caller is in its holding
  bridge meanwhile). ``complete_transfer``: the caller joins the mixing bridge, the
  agent's leg is hung up (``CallTransferred``: ATTENDEDTRANSFER and wrap-up), the target
  now controls the call.
  ``cancel_transfer``: the consult leg is hung up and the caller brought back. A queue
  cannot be consulted (no agent to talk to yet): refused, transfer it blind.
* **conference**: during a consult, the caller joins the mixing bridge too: three
  parties, which Asterisk mixes with ``softmix`` (snoop_whisper_barge.md).

Hang-ups anywhere leave nobody stranded: the target hangs up during a consult, the
caller comes back to the agent; the agent hangs up during a consult, the caller goes
to the target (answered) or waits for it as in a blind transfer (ringing); the agent
leaves a conference, caller and target stay; the caller hangs up, every channel this
module originated is hung up and every bridge destroyed (the executor destroys the
call's own bridges). Channels originated here get ids ``cc-xfer-<hex>`` and enter the
app with ``appArgs=consult|transfer,<call>,<agent>``; one of those found without an
owner (an engine restarted meanwhile) is hung up. On a booked callback the customer's
channel (callbacks.py) stands for the caller; it cannot go back into a queue, so it is
transferred attended or to a number only.

The agent who transfers ends their part with ``CallTransferred``: queue_log writes
app_queue's ``BLINDTRANSFER|exten|context|...`` (a queue or agent id with ``queue`` /
``agent``, a number with the outbound context) or ``ATTENDEDTRANSFER|BRIDGE|<mixing
bridge>|...`` (also when the agent hangs up during a consult: Asterisk completes the
transfer then), and wrap-up follows. Not told to the core (it has no event for them):
hold, mute, consults, and the talk of an agent reached by transfer (no CONNECT for them,
no wrap-up afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from ari_app.client import AllocationFailedError, AriError, Snapshot
from ari_app.client import events as ari
from ari_app.client.bridges import Bridges
from ari_app.client.channels import Channels
from ari_app.client.models import Channel
from ari_app.client.pool import current_server, on_server
from ari_app.engine.calls import Call, CallTable, new_bridge_id
from ari_app.engine.entry import VARIABLES, entry_for
from ari_app.engine.holding import shared
from ari_app.engine.marks import MARK, mark
from ari_app.engine.reachability import Reachability
from ari_app.engine.recovery import stasis_args
from ari_app.engine.settings import OUTBOUND_CONTEXT, TRANSFER_RING_TIMEOUT
from ari_app.engine.supervision import MODES, MonitorError, Supervision
from callcenter.config import Config
from callcenter.core import events as ev
from callcenter.core.errors import RoutingError
from callcenter.core.states import AgentState

log = logging.getLogger(__name__)

DIGITS = re.compile(r"[0-9*#A-Dw]{1,32}")
"""DTMF an agent may send: digits, *, #, A-D, and ``w`` (a half-second pause)."""
NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
"""A number to transfer to: it becomes a dialplan extension, so nothing else passes."""
ENDPOINT = re.compile(r"[A-Za-z0-9]{1,16}/[A-Za-z0-9_.@:+-]{1,80}")
KINDS = ("queue", "agent", "number")
OWN_KINDS = frozenset({"consult", "transfer", "supervisor", "snoop"})
"""appArgs of the channels this module and supervision originate."""
RING_TIMEOUT = TRANSFER_RING_TIMEOUT
"""Seconds a transfer or consult target rings before the caller is looked after (the
engine's ``transfer_ring_timeout`` setting)."""


class ControlError(Exception):
    """The engine refuses an agent's or supervisor's request; str(exc) says why, for the console."""


def caller_side(record: Call) -> str:
    """The customer's channel: the caller's, or on a booked callback the one the engine
    dialed (callbacks.py; the caller hung up long ago)."""
    return record.customer or record.channel


def new_channel_id(kind: str) -> str:
    return f"cc-{kind}-{uuid.uuid4().hex}"


@dataclass(eq=False)
class Party:
    """A channel originated here for a call: a consult or transfer target."""

    channel: str
    call: str
    endpoint: str
    agent: str = ""  # the agent rung, "" for a number
    answered: bool = False


@dataclass(eq=False)
class Session:
    """Call control's view of one connected call."""

    call: Call
    agent: str  # who talks with the caller and may act on the call ("" nobody: a number)
    channel: str  # that agent's (or number's) channel
    core_leg: bool  # the core's connected agent: AgentHungUp (or CallTransferred) is owed
    held: bool = False  # the caller is in its holding bridge with music
    muted: bool = False
    consult: Party | None = None
    conference: bool = False
    pending: Party | None = None  # blind transfer ringing: nobody controls the call yet
    ended: bool = False


class CallControl:
    def __init__(
        self,
        calls: CallTable,
        channels: Channels,
        bridges: Bridges,
        post: Callable[[ev.Event], None],
        agent_state: Callable[[str], AgentState],
        config: Callable[[], Config],
        reachability: Reachability,
        *,
        app: str = "callcenter",
        outbound_context: str = OUTBOUND_CONTEXT,
        ring_timeout: int = RING_TIMEOUT,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.calls = calls
        self.channels = channels
        self.bridges = bridges
        self._post = post
        self._agent_state = agent_state  # the core's view, read between two events
        self.config = config
        self.reachability = reachability
        self.app = app
        self.outbound_context = outbound_context
        self.ring_timeout = ring_timeout
        self._now = now
        self.supervision = Supervision(channels, bridges, self._mixing_of, app=app)
        self.sessions: dict[str, Session] = {}  # by call
        self._by_agent: dict[str, Session] = {}
        self._parties: dict[str, Party] = {}  # by channel
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the agent's requests ------------------------------------------------------------------

    async def hangup(self, agent: str) -> None:
        """The agent ends their part: their channel is hung up, and the events that follow
        do the rest (AgentHungUp and wrap-up, or the consult rules above)."""
        async with self._acting(agent) as session:
            await self.channels.hangup(session.channel)

    async def hold(self, agent: str) -> None:
        async with self._acting(agent) as session:
            self._no_consult(session)
            if session.held:
                raise ControlError("the caller is already on hold")
            await self._to_holding(session)

    async def resume(self, agent: str) -> None:
        async with self._acting(agent) as session:
            self._no_consult(session)
            if not session.held:
                raise ControlError("the caller is not on hold")
            await self._to_mixing(session)

    async def mute(self, agent: str) -> None:
        async with self._acting(agent) as session:
            if session.muted:
                raise ControlError("already muted")
            await self.channels.mute(session.channel, "in")
            session.muted = True

    async def unmute(self, agent: str) -> None:
        async with self._acting(agent) as session:
            if not session.muted:
                raise ControlError("not muted")
            await self.channels.unmute(session.channel, "in")
            session.muted = False

    async def dtmf(self, agent: str, digits: str) -> None:
        if not isinstance(digits, str) or not DIGITS.fullmatch(digits):
            raise ControlError("DTMF digits must be 1 to 32 of 0-9 * # A-D w")
        async with self._acting(agent) as session:
            await self.channels.send_dtmf(caller_side(session.call), digits)

    async def transfer(self, agent: str, kind: str, target: str, *, attended: bool = False) -> None:
        if kind not in KINDS:
            raise ControlError(f"transfer to a queue, an agent or a number, not {kind!r}")
        if kind == "queue" and attended:
            raise ControlError("a queue cannot be consulted: transfer the caller blind")
        self._check_target(agent, kind, target)
        async with self._acting(agent) as session:
            if session.consult is not None:
                raise ControlError("a transfer is already in progress")
            if session.call.customer and not attended and kind != "number":
                # Its way back into a queue would be a caller channel that is long gone.
                raise ControlError("a called-back customer is transferred attended, or to a number")
            if kind != "queue":
                self._check_target(agent, kind, target)  # again: things moved while waiting
            log.info("transfer call=%s agent=%s kind=%s target=%s attended=%s",
                     session.call.id, agent, kind, target, attended)  # fmt: skip
            if attended:
                await self._consult(session, kind, target)
            elif kind == "queue":
                await self._blind_to_queue(session, target)
            elif kind == "agent":
                await self._blind_to_agent(session, target)
            else:
                await self._blind_to_number(session, target)

    async def complete_transfer(self, agent: str) -> None:
        async with self._acting(agent) as session:
            consult = self._answered_consult(session)
            if session.held:
                await self._to_mixing(session)
            await self._release_agent(session, None)
            self._promote(session, consult)

    async def cancel_transfer(self, agent: str) -> None:
        async with self._acting(agent) as session:
            if session.consult is None:
                raise ControlError("no transfer in progress")
            await self._drop_consult(session)

    async def conference(self, agent: str) -> None:
        async with self._acting(agent) as session:
            self._answered_consult(session)
            if session.conference:
                raise ControlError("already in a conference")
            await self._to_mixing(session)
            session.conference = True

    # -- supervisors ---------------------------------------------------------------------------

    async def monitor(self, supervisor: str, endpoint: str, agent: str, mode: str) -> None:
        if mode not in MODES:
            raise ControlError(f"monitor mode is one of {', '.join(MODES)}, not {mode!r}")
        if not isinstance(endpoint, str) or not ENDPOINT.fullmatch(endpoint):
            raise ControlError("the supervisor's endpoint must look like PJSIP/2001")
        if supervisor == agent:
            raise ControlError("a supervisor cannot monitor their own call")
        async with self._acting(agent) as session:
            try:
                await self.supervision.monitor(
                    supervisor, endpoint, session.call.id, session.channel, mode
                )
            except MonitorError as exc:
                raise ControlError(str(exc)) from exc

    async def stop_monitor(self, supervisor: str) -> None:
        try:
            await self.supervision.stop(supervisor)
        except MonitorError as exc:
            raise ControlError(str(exc)) from exc

    # -- finding the agent's call ----------------------------------------------------------------

    def session_of(self, agent: str) -> Session | None:
        """The call `agent` talks on now, as a session (made on first use), or None."""
        session = self._by_agent.get(agent)
        if session is not None:
            if self._live(session) and session.agent == agent:
                return session
            self._by_agent.pop(agent, None)
        leg = self.calls.leg_of_agent(agent)
        if leg is None or not leg.answered:
            return None
        record = self.calls.get(leg.call)
        if record is None or record.gone or record.leaving or record.mixing is None:
            return None
        session = self.sessions.get(record.id)
        if session is not None and not session.ended:
            return session if session.agent == agent else None
        session = Session(record, agent, leg.channel, core_leg=True, held=False)
        self.sessions[record.id] = session
        self._by_agent[agent] = session
        return session

    @contextlib.asynccontextmanager
    async def _acting(self, agent: str) -> AsyncIterator[Session]:
        """The agent's session, locked against the call's other steps; AriError -> ControlError."""
        session = self.session_of(agent)
        if session is None:
            raise ControlError(f"agent {agent} is not on a call")
        call = session.call.id
        try:
            async with self._lock(call):
                # Re-read: the call may have ended, or changed hands, while we waited.
                if self.session_of(agent) is not session or session.ended:
                    raise ControlError(f"agent {agent} is not on a call")
                try:
                    # The call's requests go to its server, also from tasks started here.
                    with on_server(session.call.server):
                        yield session
                except AriError as exc:
                    if session.ended or not self._live(session):
                        raise ControlError("the call ended") from exc
                    log.warning("control failed call=%s agent=%s error=%s",
                                call, agent, exc)  # fmt: skip
                    raise ControlError(f"Asterisk refused: {exc}") from exc
        finally:
            self._unlock(call)

    def _live(self, session: Session) -> bool:
        record = session.call
        return (
            not session.ended
            and self.calls.get(record.id) is record
            and not record.gone
            and not record.leaving
        )

    def _mixing_of(self, call: str) -> str | None:
        record = self.calls.get(call)
        return record.mixing if record is not None else None

    @staticmethod
    def _no_consult(session: Session) -> None:
        if session.consult is not None:
            raise ControlError("a transfer is in progress: complete or cancel it first")

    @staticmethod
    def _answered_consult(session: Session) -> Party:
        consult = session.consult
        if consult is None:
            raise ControlError("no transfer in progress")
        if not consult.answered:
            raise ControlError("the transfer target has not answered yet")
        return consult

    def _check_target(self, agent: str, kind: str, target: str) -> None:
        config = self.config()
        if not isinstance(target, str) or not target:
            raise ControlError("no transfer target given")
        if kind == "queue" and target not in config.queues:
            raise ControlError(f"unknown queue {target!r}")
        if kind == "number" and not NUMBER.fullmatch(target):
            raise ControlError("a number has 1 to 32 digits, * or #, optionally after +")
        if kind == "agent":
            if target not in config.agents:
                raise ControlError(f"unknown agent {target!r}")
            if target == agent:
                raise ControlError("an agent cannot transfer a call to themselves")
            try:
                state = self._agent_state(target)
            except RoutingError:
                state = AgentState.LOGGED_OUT
            busy = target in self._by_agent or any(
                p.agent == target for p in self._parties.values()
            )
            if state is not AgentState.READY or busy or not self.reachability.reachable(target):
                raise ControlError(f"agent {target} is not available")

    # -- steps -------------------------------------------------------------------------------------

    async def _to_holding(self, session: Session) -> None:
        """The caller into a holding bridge of its own, with the queue's music."""
        record = session.call
        hold = new_bridge_id("hold")
        await self.bridges.create("holding", bridge_id=hold, name=f"hold-{record.id}")
        record.holding = hold
        session.held = True
        await self.bridges.add_channel(hold, caller_side(record))  # leaves the mixing bridge
        await self.bridges.start_moh(hold, self._music_class(record))

    async def _to_mixing(self, session: Session) -> None:
        """The caller back into the call's mixing bridge (a new one if it has none)."""
        record = session.call
        if record.mixing is None:
            record.mixing = new_bridge_id("mix")
            await self.bridges.create("mixing", bridge_id=record.mixing, name=f"call-{record.id}")
        await self.bridges.add_channel(record.mixing, caller_side(record))  # leaves the holding one
        session.held = False
        hold, record.holding = record.holding, None
        if hold is not None and not shared(hold):
            await self._quietly(self.bridges.destroy(hold))

    def _music_class(self, record: Call) -> str | None:
        queue = self.config().queues.get(record.queue)
        return queue.music_class if queue is not None else None

    async def _release_agent(self, session: Session, to: tuple[str, str] | None) -> None:
        """The agent leaves the call, which goes on without them: a transfer, blind ``to``
        (exten, context) or (None) attended."""
        record, agent, channel = session.call, session.agent, session.channel
        self._unbind(session)
        if session.core_leg:
            # Out of the table first: its hang-up is then no longer the call's end.
            self.calls.remove_leg(record.id, agent)
            self._post(self._transferred(session, agent, to))
        else:
            self._forget_party(channel)
        session.core_leg, session.agent, session.channel, session.muted = False, "", "", False
        if channel:
            await self._hang_up(channel)
        self.supervision.call_ended(record.id)  # a monitor follows the agent, not the caller

    def _transferred(
        self, session: Session, agent: str, to: tuple[str, str] | None
    ) -> ev.CallTransferred:
        """The core's word for it: BLINDTRANSFER ``to`` (exten, context), or (None)
        ATTENDEDTRANSFER into the call's mixing bridge; then wrap-up."""
        now, call = self._now(), session.call.id
        if to is None:
            return ev.CallTransferred(now, call, agent, attended=True,
                                      bridge=session.call.mixing or "")  # fmt: skip
        return ev.CallTransferred(now, call, agent, *to)

    def _promote(self, session: Session, party: Party) -> None:
        """`party` now talks with the caller and controls the call."""
        session.consult = session.pending = None
        session.conference = session.muted = False
        session.agent, session.channel, session.core_leg = party.agent, party.channel, False
        if party.agent:
            self._by_agent[party.agent] = session
        log.info("transferred call=%s to=%s", session.call.id, party.agent or party.channel)

    def _unbind(self, session: Session) -> None:
        if session.agent and self._by_agent.get(session.agent) is session:
            del self._by_agent[session.agent]

    async def _blind_to_queue(self, session: Session, queue: str) -> None:
        record = session.call
        record.queue = queue  # its music while it waits
        if not session.held:
            await self._to_holding(session)
        await self._release_agent(session, (queue, "queue"))
        await self._end_session(session, hang_up_parties=False)
        await self._drop_mixing(record)
        await self._enqueue(record, queue)

    async def _drop_mixing(self, record: Call) -> None:
        """The caller waits alone: the next agent gets a new bridge (executor._connect)."""
        mixing, record.mixing = record.mixing, None
        if mixing is not None:
            await self._quietly(self.bridges.destroy(mixing))

    async def _enqueue(self, record: Call, queue: str, position: int | None = None) -> None:
        """The caller (waiting with music) joins `queue` again with its own data."""
        attributes, priority = dict(record.attributes), record.priority  # from arrival
        if not attributes:  # a call restored after a restart: its CC_* variables
            values = await asyncio.gather(*(self._variable(record.channel, n) for n in VARIABLES))
            variables = {n: v for n, v in zip(VARIABLES, values, strict=True) if v}
            entry = entry_for(self.config(), record.exten, {**variables, "CC_QUEUE": queue})
            if entry is not None:
                attributes, priority = dict(entry.attributes), entry.priority
        record.queue = queue
        now = self._now()
        # Read back after a restart, as on arrival (routing._enqueue): one request.
        await self.channels.set_variable(record.channel, MARK, mark(queue, priority, now))
        self._post(ev.CallEnqueued(now, record.id, queue, record.number,
                                   attributes, priority, position))  # fmt: skip

    async def _blind_to_agent(self, session: Session, target: str) -> None:
        if not session.held:
            await self._to_holding(session)
        party = self._new_party(session, target, self.config().agents[target].endpoint)
        session.pending = party
        await self._ring(session, party)  # refused at once: the caller stays with the agent
        await self._release_agent(session, (target, "agent"))
        await self._drop_mixing(session.call)

    async def _blind_to_number(self, session: Session, number: str) -> None:
        record = session.call
        record.leaving = True  # its StasisEnd is expected
        try:
            await self.channels.continue_in_dialplan(
                caller_side(record), self.outbound_context, number, 1
            )
        except AriError:
            record.leaving = False
            raise
        await self._release_agent(session, (number, self.outbound_context))
        await self._end_session(session)
        for bridge in (record.holding, record.mixing):
            if bridge is not None and not shared(bridge):  # the others wait in a shared one
                await self._quietly(self.bridges.destroy(bridge))
        record.holding = record.mixing = None
        self.calls.remove(record.id)

    async def _consult(self, session: Session, kind: str, target: str) -> None:
        if not session.held:
            await self._to_holding(session)
        if kind == "agent":
            party = self._new_party(session, target, self.config().agents[target].endpoint)
        else:
            party = self._new_party(session, "", f"Local/{target}@{self.outbound_context}")
        session.consult = party
        await self._ring(session, party)

    def _new_party(self, session: Session, agent: str, endpoint: str) -> Party:
        party = Party(new_channel_id("xfer"), session.call.id, endpoint, agent)
        self._parties[party.channel] = party
        if agent:
            self.reachability.engage(agent)
        return party

    async def _ring(self, session: Session, party: Party) -> None:
        """Originate to the party; refused at once (ControlError): the caller is back with
        the agent and nothing else changed."""
        kind = "consult" if session.consult is party else "transfer"
        try:
            await self.channels.originate(
                party.endpoint, app=self.app, app_args=(kind, party.call, party.agent or "-"),
                channel_id=party.channel, caller_id=session.call.number or None,
                ring_timeout=self.ring_timeout,
            )  # fmt: skip
        except AriError as exc:
            # Unregistered: a synchronous 500 and no event (agent_unreachable.md).
            reason = "unreachable" if isinstance(exc, AllocationFailedError) else str(exc)
            log.info("transfer ring failed call=%s target=%s reason=%s",
                     party.call, party.agent or party.endpoint, reason)  # fmt: skip
            self._forget_party(party.channel)
            session.consult = session.pending = None
            await self._to_mixing(session)
            what = f"agent {party.agent}" if party.agent else "the number"
            raise ControlError(f"cannot ring {what}: {reason}") from exc

    async def _drop_consult(self, session: Session) -> None:
        """The consult leg goes; the caller is back with the agent."""
        consult, session.consult = session.consult, None
        session.conference = False
        if consult is not None:
            self._forget_party(consult.channel)
            await self._hang_up(consult.channel)
        if session.held and session.agent:
            await self._to_mixing(session)

    # -- events --------------------------------------------------------------------------------

    def on_event(self, event: ari.AriEvent) -> bool:
        """Takes the events of channels originated here (True); watches the others."""
        if self.supervision.on_event(event):
            return True
        channel = getattr(event, "channel", None)
        if not isinstance(channel, Channel):
            return False
        party = self._parties.get(channel.id)
        if party is not None:
            self._party_event(party, event)
            return True
        if isinstance(event, ari.StasisStart) and event.args and event.args[0] in OWN_KINDS:
            # Rung by an engine that died since: nobody waits for it any more.
            log.info("stray transfer leg channel=%s args=%s", channel.id, event.args)
            self._spawn(channel.id, lambda: self._hang_up(channel.id))
            return True
        if not isinstance(event, ari.StasisEnd | ari.ChannelHangupRequest | ari.ChannelDestroyed):
            return False
        record = self.calls.call_of_channel(channel.id)
        if record is not None:
            mine = self.sessions.get(record.id)
            if mine is not None:  # the caller left: everything of ours goes too
                self._spawn(record.id, partial(self._end_session, mine))
            return False
        leg = self.calls.leg_of_channel(channel.id)
        if leg is None:
            for mine in [s for s in self.sessions.values() if s.call.customer == channel.id]:
                self._spawn(mine.call.id, partial(self._end_session, mine))  # customer left
            return False
        session = self.sessions.get(leg.call) if leg.answered else None
        if session is None or session.agent != leg.agent or not session.core_leg:
            return False
        if session.consult is None:
            self._spawn(leg.call, partial(self._end_session, session))
            return False  # the executor's usual end of the call: the caller is hung up
        # The agent hung up during a consult: the caller must not go with them. Asterisk
        # completes an attended transfer when the transferer hangs up, so it is one here.
        log.info("agent left during a transfer call=%s agent=%s", leg.call, leg.agent)
        self._unbind(session)
        self.calls.remove_leg(leg.call, leg.agent)
        self._post(self._transferred(session, leg.agent, None))
        session.core_leg, session.agent, session.channel = False, "", ""
        self._spawn(leg.call, lambda: self._controller_left(session))
        return True

    def _party_event(self, party: Party, event: ari.AriEvent) -> None:
        session = self.sessions.get(party.call)
        if session is None or session.ended:
            self._forget_party(party.channel)
            self._spawn(party.channel, lambda: self._hang_up(party.channel))
            return
        match event:
            case ari.StasisStart() if not party.answered:
                party.answered = True
                self._spawn(party.call, lambda: self._party_answered(session, party))
            case ari.ChannelDestroyed() if not party.answered:
                self._spawn(party.call, lambda: self._party_failed(session, party))
            case ari.StasisEnd() | ari.ChannelHangupRequest() | ari.ChannelDestroyed() if (
                party.answered
            ):
                self._spawn(party.call, lambda: self._party_gone(session, party))
            case _:
                pass

    async def _party_answered(self, session: Session, party: Party) -> None:
        if self._parties.get(party.channel) is not party or session.ended:
            return
        record = session.call
        if session.consult is party:
            if record.mixing is None:
                raise RuntimeError("a consult without the call's mixing bridge")
            await self.bridges.add_channel(record.mixing, party.channel)  # with the agent
            log.info("consult answered call=%s target=%s", record.id, party.agent or "number")
        elif session.pending is party:
            # In charge at once: their requests wait for this step (the call's lock).
            self._promote(session, party)
            await self._to_mixing(session)
            await self.bridges.add_channel(record.mixing or "", party.channel)

    async def _party_failed(self, session: Session, party: Party) -> None:
        """Rang and did not answer (or could not be rung)."""
        if self._parties.get(party.channel) is not party:
            return
        self._forget_party(party.channel)
        if session.consult is party:
            await self._drop_consult(session)
        elif session.pending is party:
            # Nobody took the caller: back into its queue, at the front.
            session.pending = None
            await self._end_session(session, hang_up_parties=False)
            await self._drop_mixing(session.call)
            log.info("transfer not answered call=%s: back to queue %s", party.call,
                     session.call.queue)  # fmt: skip
            await self._enqueue(session.call, session.call.queue, position=1)

    async def _party_gone(self, session: Session, party: Party) -> None:
        """An answered party hung up."""
        if self._parties.get(party.channel) is not party:
            return
        self._forget_party(party.channel)
        if session.consult is party:
            await self._drop_consult(session)
        elif session.channel == party.channel:
            self._unbind(session)
            session.agent, session.channel = "", ""
            await self._controller_left(session)

    async def _controller_left(self, session: Session) -> None:
        """Whoever controlled the call is gone (their channel already is)."""
        consult = session.consult
        if consult is not None and consult.answered:
            self._promote(session, consult)
            await self._to_mixing(session)  # with the target (already so in a conference)
        elif consult is not None:
            session.consult, session.pending = None, consult  # answered -> bridged with caller
        else:
            log.info("last party left call=%s: hanging up the caller", session.call.id)
            await self._end_session(session)
            await self._hang_up(caller_side(session.call))

    async def _end_session(self, session: Session, *, hang_up_parties: bool = True) -> None:
        if session.ended:
            return
        session.ended = True
        record = session.call
        if self.sessions.get(record.id) is session:
            del self.sessions[record.id]
        self._unbind(session)
        self.supervision.call_ended(record.id)
        channels = [p.channel for p in self._parties.values() if p.call == record.id]
        for channel in channels:
            self._forget_party(channel)
        if not session.core_leg and session.channel:
            channels.append(session.channel)
        if hang_up_parties:
            for channel in channels:
                await self._hang_up(channel)

    def _forget_party(self, channel: str) -> None:
        party = self._parties.pop(channel, None)
        if party is not None and party.agent:
            self.reachability.release(party.agent)

    # -- reconnect -------------------------------------------------------------------------------

    def resync(self, snapshot: Snapshot) -> None:
        """After a (re)connect: parties that vanished meanwhile are handled as gone, and
        channels of ours nobody owns (rung, snooped or bridged by an engine that died) are
        hung up: Asterisk keeps them, and the recovery leaves them alone."""
        self.supervision.resync(snapshot)
        live = {c.id for c in snapshot.channels}
        for channel in snapshot.channels:  # (this server's: the resync's scope, pool.py)
            args = stasis_args(channel, self.app)
            if (
                args and args[0] in OWN_KINDS and channel.id not in self._parties
                and not self.supervision.owns(channel.id)
            ):  # fmt: skip
                log.info("stray channel hung up channel=%s args=%s", channel.id, args)
                self._spawn(channel.id, partial(self._hang_up, channel.id))
        for stale in [s for s in self.sessions.values() if not self._live(s)]:
            self._spawn(stale.call.id, partial(self._end_session, stale))
        for party in [p for p in self._parties.values() if p.channel not in live]:
            session = self.sessions.get(party.call)
            if session is not None and session.call.server != snapshot.server:
                continue  # another server's call: not in this snapshot, and untouched
            if session is None:
                self._forget_party(party.channel)
            elif party.answered:
                self._spawn(party.call, partial(self._party_gone, session, party))
            else:
                self._spawn(party.call, partial(self._party_failed, session, party))

    # -- plumbing --------------------------------------------------------------------------------

    def _lock(self, call: str) -> asyncio.Lock:
        lock = self._locks.get(call)
        if lock is None:
            lock = self._locks[call] = asyncio.Lock()
        return lock

    def _spawn(self, call: str, step: Callable[[], Awaitable[None]]) -> None:
        # On the call's server; a channel of no call on the scope's (pool.py).
        session = self.sessions.get(call)
        record = self.calls.get(call) or (session.call if session is not None else None)
        server = record.server if record is not None else current_server()
        task = asyncio.get_running_loop().create_task(self._locked(call, step, server))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _locked(
        self, call: str, step: Callable[[], Awaitable[None]], server: str | None
    ) -> None:
        async with self._lock(call):
            try:
                with on_server(server):
                    await step()
            except (AriError, ControlError) as exc:
                log.warning("control step failed call=%s error=%s", call, exc)
            except Exception:
                log.exception("control step failed call=%s", call)
        self._unlock(call)

    def _unlock(self, call: str) -> None:
        """Forget the lock of a call without a session once nobody holds it."""
        lock = self._locks.get(call)
        if call not in self.sessions and lock is not None and not lock.locked():
            del self._locks[call]

    async def _variable(self, channel: str, name: str) -> str | None:
        try:
            return await self.channels.get_variable(channel, name)
        except AriError:
            return None  # not set: 404 "Provided variable was not found"

    async def _hang_up(self, channel: str) -> None:
        await self._quietly(self.channels.hangup(channel))

    @staticmethod
    async def _quietly(request: Awaitable[None]) -> None:
        try:
            await request
        except AriError as exc:
            log.debug("control cleanup request failed error=%s", exc)

    async def idle(self) -> None:
        """Until every step started so far has run (tests)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
            await self.supervision.idle()
        await self.supervision.idle()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.supervision.aclose()
