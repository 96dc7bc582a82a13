"""The engine's side of the bus: what agents and supervisors see, and what they ask.

    Dispatcher --record(event, commands)--> Desk.record --> Outbox --publisher task--> MQTT
    MQTT agents/+/cmd, supervisors/+/cmd --> Desk._session --> core events, CallControl --> Reply

Out: the core's commands become messages as the dispatcher carries them out
(``record`` is the dispatcher's journal hook: synchronous, never awaits, never
raises). They go into an :class:`Outbox` that a separate task publishes, so a slow or
absent broker never slows routing: retained state is coalesced per topic (only the
latest ``agents/{id}/state`` or ``queues/{q}/stats`` waits to be sent) and, under
pressure, the oldest non-retained messages are dropped and counted. The publisher
sends all that waits in one write (a dispatcher step's messages together) and tracks
the broker's acknowledgements by message id: no task or future per message. A call
publishes 8 messages: the agent's state 3 times (ringing, on_call, ready; wrap_up
too where the queue has one), the offer (again with the history when the store was
slower than the offer), and 4 call events (join, ringing, connected, done).

The screen pop: the customer's record, past interactions and complaint tickets not
closed yet are read from the store when the caller is *enqueued* (with a short
timeout), so they are usually there when the offer is made. If not, the offer goes
at once with what the engine knows and ``history_pending``; an offer for the same
call with the history follows.

In: a command acts for the agent named in its topic, never for one named in its
payload (``topics.command_agent``); call control goes through :class:`CallControl`,
whose every method finds the call by that agent. A refusal (the core's, or
``ControlError``) is a ``Reply(ok=False, error=...)``; a malformed or oversized
payload is logged and dropped by the bus client. ``figures`` answers with the
agent's own day, replayed from its stored state changes (``reports.agent_day``), so
the figures survive a console or engine restart.

Resilience: the link reconnects with backoff (``run_with_reconnect``) and republishes
all retained state on every connect (a restarted broker has none). A console that
disconnects changes nothing: calls are on the phones, not on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import logging
import re
import secrets
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Unpack

import aiomqtt

from ari_app.engine.control import ControlError
from callcenter.bus import schemas, topics
from callcenter.bus.broker import token_digest, write_password_file
from callcenter.bus.broker_process import BrokerProcess
from callcenter.bus.client import BusClient, BusSettings, run_with_reconnect
from callcenter.config import Config
from callcenter.config.pins import verify_pin
from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.agent import MemberCondition
from callcenter.core.errors import RoutingError
from callcenter.core.states import AgentState, CallState, IllegalTransitionError
from callcenter.store import Store
from callcenter.store.caller_lookup import CallerRecord, look_up_caller, read_caller_now
from callcenter.store.desk_requests import DESK_ACTIONS, handle_desk_command
from callcenter.store.records import Interaction, InteractionFields
from callcenter.store.reports import agent_day
from callcenter.store.tickets import Ticket

if TYPE_CHECKING:
    from ari_app.engine.app import Engine
    from ari_app.engine.settings import EngineSettings

log = logging.getLogger(__name__)

HISTORY_LIMIT = 10
OPEN_TICKETS_LIMIT = 5  # the screen pop's pending complaints, most recently changed first
DTMF = re.compile(r"[0-9*#A-D]{1,32}")
ENDPOINT = re.compile(r"[A-Za-z]+/[A-Za-z0-9_.@:+-]{1,64}")
LOGIN_FAILURES_ALLOWED = 5
LOGIN_LOCKOUT = 30.0  # seconds refused after that many wrong PINs in a row: no PIN guessing
FIGURES_TIMEOUT = 5.0  # seconds the store may take for an agent's day
MAX_BACKLOG = 20  # commands of one console waiting at once; more are dropped


class CallControl(Protocol):
    """What the desk calls for call control (``ari_app.engine.control.CallControl``).

    Every method acts on the call ``agent`` is connected to right now, so an agent can
    never act on another agent's call; ``ControlError`` when there is none."""

    async def hangup(self, agent: str) -> None: ...
    async def hold(self, agent: str) -> None: ...
    async def resume(self, agent: str) -> None: ...
    async def mute(self, agent: str) -> None: ...
    async def unmute(self, agent: str) -> None: ...
    async def dtmf(self, agent: str, digits: str) -> None: ...
    async def transfer(
        self, agent: str, kind: str, target: str, *, attended: bool = False
    ) -> None: ...
    async def complete_transfer(self, agent: str) -> None: ...
    async def cancel_transfer(self, agent: str) -> None: ...
    async def conference(self, agent: str) -> None: ...
    async def monitor(self, supervisor: str, endpoint: str, agent: str, mode: str) -> None: ...
    async def stop_monitor(self, supervisor: str) -> None: ...


class Records(Protocol):
    """Where the agent's call notes go (``callcenter.store.Store``)."""

    async def update_interaction(
        self, call_id: str, **fields: Unpack[InteractionFields]
    ) -> bool: ...


LookUp = Callable[[str], Awaitable[CallerRecord]]
"""A caller's customer, history and open tickets by number (the screen pop's part)."""

LookUpNow = Callable[[str], CallerRecord | None]
"""The same without awaiting; None when the store can only answer later."""


class PublishLink(Protocol):
    """What the publisher needs of the link (``callcenter.bus.client.BusClient``)."""

    on_acknowledged: Callable[[int], None] | None

    def publish_nowait(
        self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1
    ) -> int: ...
    def batch(self) -> contextlib.AbstractContextManager[None]: ...


class RefusedError(Exception):
    """A command the desk refuses; str(exc) goes to the console."""


# -- the outbox -----------------------------------------------------------------------------


Item = tuple[str, schemas.BusMessage, bool]  # topic, message, retain


class Outbox:
    """Messages waiting for the publisher; never blocks the producer.

    Two lanes, each in order: ``urgent`` (offers, replies, agent state: what an agent
    waits for) is always taken before the rest (call events, queue figures, alerts),
    so a burst of supervisor traffic never delays an offer. A retained topic holds at
    most one pending message (a newer one replaces it where it stands); beyond
    ``limit`` pending messages the oldest non-retained one is dropped, from the bulk
    lane first. ``current`` keeps the latest retained message of every topic,
    republished on each (re)connect.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self.current: dict[str, schemas.BusMessage] = {}
        self.urgent_topics: set[str] = set()  # retained topics of the urgent lane
        self.dropped = 0
        self._lanes: tuple[OrderedDict[object, Item], OrderedDict[object, Item]] = (
            OrderedDict(),
            OrderedDict(),
        )
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes)

    def put(
        self, topic: str, message: schemas.BusMessage, *, retain: bool = False, urgent: bool = False
    ) -> None:
        lane = self._lanes[0 if urgent else 1]
        if retain:
            self.current[topic] = message
            if urgent:
                self.urgent_topics.add(topic)
            lane[topic] = (topic, message, True)  # an older pending value is replaced in place
        else:
            lane[next(self._seq)] = (topic, message, False)
        if len(self) > self.limit:
            self._drop_oldest()
        self._wake.set()

    def republish_all(self) -> None:
        """Queue every retained topic's latest message again (a new broker has none)."""
        for topic, message in self.current.items():
            lane = self._lanes[0 if topic in self.urgent_topics else 1]
            lane.pop(topic, None)
            lane[topic] = (topic, message, True)
        self._wake.set()

    def _drop_oldest(self) -> None:
        for lane in reversed(self._lanes):
            for key, (_topic, _message, retain) in lane.items():
                if not retain:
                    del lane[key]
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 1000 == 0:
                        log.warning("bus outbox full: %d messages dropped so far", self.dropped)
                    return

    async def take(self) -> Item:
        while (item := self.take_nowait()) is None:
            self._wake.clear()
            await self._wake.wait()
        return item

    def take_nowait(self) -> Item | None:
        """The next message (urgent lane first), or None when none waits."""
        lane = self._lanes[0] if self._lanes[0] else self._lanes[1]
        if not lane:
            return None
        _key, item = lane.popitem(last=False)
        return item

    def put_back(self, item: Item) -> None:
        """A message whose publish failed (link lost): first in line for the next link."""
        topic, _message, retain = item
        if retain and topic in self.current and self.current[topic] is not item[1]:
            return  # a newer value exists; it is (or will be) republished
        lane = self._lanes[0 if not retain or topic in self.urgent_topics else 1]
        key: object = topic if retain else next(self._seq)
        lane[key] = item
        lane.move_to_end(key, last=False)
        self._wake.set()


# -- the screen pop -------------------------------------------------------------------------


@dataclass
class _Waiting:
    """What the desk knows of a queued call, for its offers."""

    number: str
    entered: float
    vip: bool
    lookup: asyncio.Future[dict[str, Any]] | None = None


def _history(interactions: Sequence[Interaction], call: str) -> list[schemas.PastContact]:
    return [
        schemas.PastContact(
            call=past.call_id,
            at=past.arrived_at or 0.0,
            queue=past.queue or "",
            agent=past.agent or "",
            disposition=past.disposition or "",
            notes=(past.notes or "")[: schemas.MAX_TEXT],
        )
        for past in interactions
        if past.call_id != call and topics.valid_id(past.call_id)
    ][:HISTORY_LIMIT]


def _pending(found: Sequence[Ticket]) -> list[schemas.OpenTicket]:
    """Complaints not closed yet, each with its latest entry: the agent sees a pending
    complaint before answering."""
    pending = []
    for ticket in found:
        last = ticket.history[-1] if ticket.history else None
        pending.append(schemas.OpenTicket(
            ticket=ticket.id, department=ticket.department[:128], status=ticket.status,
            updated_at=ticket.updated_at, last_action=last.action[:128] if last else "",
            last_text=last.text[: schemas.MAX_TEXT] if last else "",
        ))  # fmt: skip
    return pending


# -- the desk -------------------------------------------------------------------------------


class Desk:
    def __init__(
        self,
        engine: Engine,
        bus: BusSettings,
        *,
        store: Store | None = None,
        records: Records | None = None,
        control: CallControl | None = None,
        supervisors: frozenset[str] = frozenset(),
        stats_interval: float = 1.0,
        lookup_timeout: float = 0.5,
        service_level_target: float = 0.8,
        reconnect_backoff: float = 5.0,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.store = store  # tickets and scheduled callbacks (callcenter/store/desk_requests.py)
        self.records = records if records is not None else store
        history, tickets = HISTORY_LIMIT + 1, OPEN_TICKETS_LIMIT
        self.look_up: LookUp | None = None if store is None else partial(
            look_up_caller, store, history_limit=history, tickets_limit=tickets
        )  # fmt: skip
        """The screen pop's store lookup (``look_up_caller``: one pass for the three reads)."""
        self.look_up_now: LookUpNow | None = None if store is None else partial(
            read_caller_now, store, history_limit=history, tickets_limit=tickets
        )  # fmt: skip
        """Tried first (an SQLite file: a few point reads in the event loop), so that the
        first offer has the whole pop: one offer per call, not two (``_offer``)."""
        self.control = control
        self.supervisors = supervisors
        self.stats_interval = stats_interval
        self.lookup_timeout = lookup_timeout
        self.service_level_target = service_level_target
        self.reconnect_backoff = reconnect_backoff
        self.in_flight = 100  # publishes awaiting the broker's acknowledgement
        self.outbox = Outbox()
        self.connected = asyncio.Event()
        self.connections = 0
        self._waiting: dict[str, _Waiting] = {}  # by call
        self._offers: dict[str, schemas.OfferMessage] = {}  # by agent: the latest offer
        self._last_call: dict[str, str] = {}  # by agent: the call to wrap up
        self._last_caller: dict[str, str] = {}  # by agent: that call's caller number
        self._below_target: set[str] = set()  # queues alerted, until they recover
        self._stats_sent: dict[str, schemas.QueueStatsMessage] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # agent -> wrong PINs, last at
        self._locks: dict[str, asyncio.Lock] = {}  # one command at a time per sender
        self._backlog: dict[str, int] = {}  # sender -> its commands not answered yet
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self.on_config: Callable[[Config], None] | None = None
        """Told each new configuration (the embedded broker's agents' PINs follow it)."""
        self._config_seen = engine.executor.config

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        for agent in self.engine.router.agents:
            self._publish_state_from_router(agent, cause="start")
        self._tasks = [
            asyncio.create_task(self._link(), name="bus-link"),
            asyncio.create_task(self._stats_loop(), name="bus-stats"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._handlers]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)
        for waiting in self._waiting.values():
            if waiting.lookup is not None:
                waiting.lookup.cancel()

    # -- out: from the dispatcher (synchronous, must not raise) ----------------------------

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        try:
            self._record(event, commands)
        except Exception:  # the bus must never stop routing
            log.exception("bus desk failed on event=%s", type(event).__name__)

    def _record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        now = event.now
        if isinstance(event, ev.CallEnqueued):
            self._enqueued(event)
        for command in commands:
            match command:
                case cmd.AgentStateChanged(agent=agent):
                    message = schemas.agent_state_message(command, now)
                    self.outbox.put(topics.agent_state(agent), message, retain=True, urgent=True)
                    if command.state is AgentState.LOGGED_OUT:
                        self._offers.pop(agent, None)
                case cmd.Ring(accepted=True):
                    pass  # the phone rings for an offer the agent accepted: already on screen
                case cmd.Ring():
                    # No ``ring`` call event any more: the agent's state (ringing, with the
                    # call) and the call's (ringing, with the queue) say it all already,
                    # and each publish costs the engine CPU (callcenter/bus/README.md).
                    self._offer(command, now)
                case cmd.Connect(call=call, agent=agent):
                    # No ``connect`` call event any more either: the call's ``connected``
                    # state and the agent's ``on_call`` (with the call) say it already.
                    self._last_call[agent] = call
                    waiting = self._waiting.get(call)
                    self._last_caller[agent] = waiting.number if waiting else ""
                case cmd.QueueLog(verb="ENTERQUEUE", call=call):
                    # Entering a queue is no state change in the core; the supervisors'
                    # waiting list needs it (at the caller's entry time).
                    self.outbox.put(topics.call_events(call), schemas.call_join_event(command))
                case cmd.CallStateChanged(call=call):
                    changed = schemas.call_state_event(command, now)
                    self.outbox.put(topics.call_events(call), changed)
                    if command.state is CallState.DONE:
                        self._call_done(call)
                case _:
                    pass

    def _enqueued(self, event: ev.CallEnqueued) -> None:
        if event.call in self._waiting:  # moved on to another queue: same caller, same pop
            return
        vip = event.attributes.get("vip") is True
        waiting = _Waiting(event.caller_number, event.entered or event.now, vip)
        if event.caller_number:
            waiting.lookup = self._start_lookup(event.call, event.caller_number)
        self._waiting[event.call] = waiting

    def _start_lookup(self, call: str, number: str) -> asyncio.Future[dict[str, Any]] | None:
        """The screen pop's part from the store: answered at once where the store can
        (``look_up_now``), else a task (``look_up``)."""
        if self.look_up_now is not None:
            pop: dict[str, Any] | None
            try:
                found = self.look_up_now(number)
                pop = None if found is None else self._pop(call, found)
            except Exception:  # a locked database (sqlite_reader.py), a broken file
                log.exception("screen pop: store lookup failed call=%s", call)
                pop = {}
            if pop is not None:
                answered: asyncio.Future[dict[str, Any]] = (
                    asyncio.get_running_loop().create_future()
                )
                answered.set_result(pop)
                return answered
        if self.look_up is None:
            return None
        return asyncio.create_task(self._look_up(call, number))

    def _call_done(self, call: str) -> None:
        waiting = self._waiting.pop(call, None)
        if waiting is not None and waiting.lookup is not None and not waiting.lookup.done():
            waiting.lookup.cancel()

    async def _look_up(self, call: str, number: str) -> dict[str, Any]:
        """The screen pop's part from the store; {} when the store is slow or fails."""
        if self.look_up is None:
            return {}
        try:
            async with asyncio.timeout(self.lookup_timeout):
                found = await self.look_up(number)
        except TimeoutError:
            log.warning("screen pop: store slower than %.2f s call=%s", self.lookup_timeout, call)
            return {}
        except Exception:
            log.exception("screen pop: store lookup failed call=%s", call)
            return {}
        return self._pop(call, found)

    @staticmethod
    def _pop(call: str, found: CallerRecord) -> dict[str, Any]:
        pop: dict[str, Any] = {
            "history": _history(found.history, call),
            "open_tickets": _pending(found.open_tickets),
        }
        customer = found.customer
        if customer is not None:
            pop["tags"] = [tag[:128] for tag in customer.tags[: schemas.MAX_LIST]]
            pop["customer_notes"] = (customer.notes or "")[: schemas.MAX_TEXT]
            pop["vip"] = customer.vip
            if customer.name:
                pop["customer_name"] = customer.name
        return pop

    def _offer(self, ring: cmd.Ring, now: float) -> None:
        waiting = self._waiting.get(ring.call)
        record = self.engine.calls.get(ring.call)
        caller_name = record.name if record else ""
        # The IVR keeps its path as "menu>key>menu>key" (ari_app/engine/calls.py).
        ivr_path = [step for step in (record.ivr_path if record else "").split(">") if step]
        base: dict[str, Any] = {
            "caller_number": (waiting.number if waiting else record.number if record else "")[:128],
            "caller_name": caller_name[: schemas.MAX_TEXT],
            "vip": bool(waiting and waiting.vip),
            "ivr_path": [step[:128] for step in ivr_path[: schemas.MAX_LIST]],
            "waited": max(0.0, now - waiting.entered) if waiting else 0.0,
        }
        lookup = waiting.lookup if waiting else None
        if lookup is None or lookup.done():
            pop = lookup.result() if lookup is not None and not lookup.cancelled() else {}
            self._send_offer(ring, now, base, pop, pending=False)
            return
        self._send_offer(ring, now, base, {}, pending=True)
        lookup.add_done_callback(lambda task: self._enriched(ring, now, base, task))

    def _enriched(
        self, ring: cmd.Ring, now: float, base: dict[str, Any], task: asyncio.Future[dict[str, Any]]
    ) -> None:
        offer = self._offers.get(ring.agent)
        if task.cancelled() or offer is None or offer.call != ring.call:
            return  # the call ended, or the agent has another offer since: nothing to add
        # Even once answered: the agent is talking to this caller, the history helps.
        try:
            self._send_offer(ring, now, base, task.result(), pending=False)
        except Exception:
            log.exception("screen pop: enriched offer failed call=%s", ring.call)

    def _send_offer(
        self,
        ring: cmd.Ring,
        now: float,
        base: dict[str, Any],
        pop: dict[str, Any],
        *,
        pending: bool,
    ) -> None:
        fields = {**base, **pop}
        customer_name = fields.pop("customer_name", "")
        if not fields["caller_name"]:
            fields["caller_name"] = customer_name
        fields["vip"] = bool(base["vip"] or pop.get("vip", False))
        offer = schemas.offer_message(ring, now, history_pending=pending, **fields)
        self._offers[ring.agent] = offer
        self.outbox.put(topics.agent_offer(ring.agent), offer, urgent=True)

    def _publish_state_from_router(self, agent: str, cause: str) -> None:
        """The agent's state as the router has it, for an agent with no change seen yet."""
        state = self.engine.router.agent_state(agent)
        core = self.engine.router.agents[agent]
        message = schemas.AgentStateMessage(
            agent=agent, state=state, previous=state, cause=cause,
            reason=core.pause_reason[:128], call=core.call if topics.valid_id(core.call) else "",
            since=core.state_since or self.engine.now(),
        )  # fmt: skip
        self.outbox.put(topics.agent_state(agent), message, retain=True, urgent=True)

    # -- queue figures ------------------------------------------------------------------

    async def _stats_loop(self) -> None:
        while True:
            try:
                self.publish_stats()
                self._check_config()
            except Exception:
                log.exception("bus: queue figures failed")
            await asyncio.sleep(self.stats_interval)

    def _check_config(self) -> None:
        config = self._config()
        if config is not self._config_seen:
            self._config_seen = config
            if self.on_config is not None:
                self.on_config(config)

    def publish_stats(self) -> None:
        """Each queue's figures, if they changed since last sent (coalesced: one per
        queue per interval, however many calls came and went)."""
        router = self.engine.router
        now = self.engine.now()
        counts: dict[str, dict[MemberCondition, int]] = {}
        for agent in router.agents.values():
            condition = agent.condition
            for queue in agent.memberships:
                per = counts.setdefault(queue, {})
                per[condition] = per.get(condition, 0) + 1
        for name, queue_ in router.queues.items():
            per = counts.get(name, {})
            line = list(queue_.line)
            message = schemas.queue_stats_message(
                name, queue_.stats, now, waiting=len(line),
                longest_wait=max((caller.waited(now) for caller in line), default=0.0),
                agents=schemas.AgentCounts(
                    ready=per.get(MemberCondition.AVAILABLE, 0),
                    busy=per.get(MemberCondition.INUSE, 0),
                    paused=per.get(MemberCondition.PAUSED, 0),
                    wrap_up=per.get(MemberCondition.WRAPUP, 0),
                ),
            )  # fmt: skip
            previous = self._stats_sent.get(name)
            if previous is None or previous.model_copy(update={"at": now}) != message:
                self._stats_sent[name] = message
                self.outbox.put(topics.queue_stats(name), message, retain=True)
            self._check_service_level(name, message)

    def _check_service_level(self, queue: str, stats: schemas.QueueStatsMessage) -> None:
        level = stats.service_level
        if level is None or level >= self.service_level_target:
            self._below_target.discard(queue)
            return
        if queue in self._below_target:
            return  # alerted already; again only after it recovers
        self._below_target.add(queue)
        target = self.service_level_target
        alert = schemas.AlertMessage(
            kind="service_level", queue=queue, value=level, target=target, at=stats.at,
            text=f"service level {level:.0%} below target {target:.0%} in {queue}",
        )  # fmt: skip
        log.warning("alert queue=%s service_level=%.3f target=%.3f", queue, level, target)
        self.outbox.put(topics.ALERTS, alert)

    # -- the link -----------------------------------------------------------------------

    async def _link(self) -> None:
        """The link, for as long as the engine runs: reconnects on a lost connection
        (``run_with_reconnect``) and, logged, on anything unexpected too."""
        while True:
            try:
                await run_with_reconnect(
                    self.bus, self._session, max_backoff=self.reconnect_backoff,
                    in_flight=self.in_flight,
                )  # fmt: skip
            except Exception:
                log.exception("bus link failed; retrying in %.1f s", self.reconnect_backoff)
            await asyncio.sleep(self.reconnect_backoff)

    async def _session(self, client: BusClient) -> None:
        self.connections += 1
        await client.subscribe(f"{topics.PREFIX}/agents/+/cmd")
        await client.subscribe(f"{topics.PREFIX}/supervisors/+/cmd")
        self.outbox.republish_all()
        log.info("bus connected host=%s port=%d (connection %d)",
                 self.bus.host, self.bus.port, self.connections)  # fmt: skip
        self.connected.set()
        publisher = asyncio.create_task(self._publish(client), name="bus-publisher")
        try:
            async for received in client.messages():
                self._dispatch(received.topic, received.message)
            raise aiomqtt.MqttError("the broker's message stream ended")
        finally:
            self.connected.clear()
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher

    async def _publish(self, client: PublishLink) -> None:
        """Publish in order, everything waiting at once in one write (``BusClient.batch``:
        the commands of a dispatcher step go out together), with no task or future per
        message: ``publish_nowait`` hands each to the link and the broker's PUBACKs (QoS
        1) or paho's writes (QoS 0: retained state) come back to ``acknowledged``. At
        most ``in_flight`` await theirs; those still waiting when the link drops go back
        to the outbox, first in line for the next link (at least once)."""
        unacked: dict[int, Item] = {}  # by message id, in publish order
        room = asyncio.Event()

        def acknowledged(mid: int) -> None:
            if unacked.pop(mid, None) is not None and len(unacked) < self.in_flight:
                room.set()

        client.on_acknowledged = acknowledged
        try:
            while True:
                item: Item | None = await self.outbox.take()
                try:
                    with client.batch():
                        while item is not None:
                            self._publish_one(client, item, unacked)
                            item = None
                            if len(unacked) < self.in_flight:
                                item = self.outbox.take_nowait()
                except aiomqtt.MqttError as error:  # the link is going down: the session ends
                    if item is not None:
                        self.outbox.put_back(item)
                    log.warning("bus: publish failed (%s)", error)
                    await asyncio.sleep(0.1)
                while len(unacked) >= self.in_flight:
                    room.clear()
                    await room.wait()
        finally:
            client.on_acknowledged = None
            for item in reversed(unacked.values()):
                self.outbox.put_back(item)

    def _publish_one(self, client: PublishLink, item: Item, unacked: dict[int, Item]) -> None:
        topic, message, retain = item
        try:
            payload = schemas.encode(message)
        except schemas.MessageError:
            log.exception("bus: unpublishable message on %s", topic)
            return
        # Retained state (an agent's, a queue's figures) goes at QoS 0: every new link
        # republishes each retained topic's latest value (``republish_all``) and a
        # superseded one is never sent again (``put_back``), so QoS 1's resending would
        # add nothing; its PUBACK would add a wake-up and a packet to read per message.
        # Call events, offers and replies keep QoS 1: nothing republishes them.
        qos = 0 if retain else 1
        unacked[client.publish_nowait(topic, payload, retain=retain, qos=qos)] = item

    # -- in: commands -------------------------------------------------------------------

    def _dispatch(self, topic: topics.Topic, message: schemas.AnyMessage) -> None:
        work: Coroutine[Any, Any, schemas.Reply | None]
        if topic.kind is topics.TopicKind.AGENT_CMD and isinstance(message, schemas.AgentCommand):
            sender, reply = topic.agent, topics.agent_reply(topic.agent, message.request_id)
            if self._flooding(sender):
                return
            work = self._agent_command(topic.agent, message)
        elif topic.kind is topics.TopicKind.SUPERVISOR_CMD and isinstance(
            message, schemas.SupervisorCommand
        ):
            if topic.supervisor not in self.supervisors:
                log.warning("bus: command from unknown supervisor %r dropped", topic.supervisor)
                return
            sender = "supervisor:" + topic.supervisor
            reply = topics.supervisor_reply(topic.supervisor, message.request_id)
            if self._flooding(sender):
                return
            work = self._supervisor_command(topic.supervisor, message)
        else:
            return  # our own replies and other traffic
        self._backlog[sender] = self._backlog.get(sender, 0) + 1
        task = asyncio.create_task(self._answer(sender, reply, message.request_id, work))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    def _flooding(self, sender: str) -> bool:
        """One console's commands wait for each other; a console sending more than
        ``MAX_BACKLOG`` at once is not served more (the rest are dropped, logged)."""
        if self._backlog.get(sender, 0) < MAX_BACKLOG:
            return False
        log.warning("bus: command from %s dropped: %d waiting already", sender, MAX_BACKLOG)
        return True

    async def _answer(
        self,
        sender: str,
        reply_topic: str,
        request_id: str,
        work: Coroutine[Any, Any, schemas.Reply | None],
    ) -> None:
        lock = self._locks.setdefault(sender, asyncio.Lock())
        try:
            async with lock:
                answer = await self._outcome(sender, request_id, work)
        finally:
            self._backlog[sender] -= 1
        self.outbox.put(reply_topic, answer, urgent=True)

    async def _outcome(
        self, sender: str, request_id: str, work: Coroutine[Any, Any, schemas.Reply | None]
    ) -> schemas.Reply:
        """The reply to one command: ok, the refusal's reason, or an internal error
        (logged with its trace; the console learns nothing of the engine's insides)."""
        try:
            return await work or schemas.Reply(request_id=request_id, ok=True)
        except (RefusedError, RoutingError, IllegalTransitionError, ControlError) as refusal:
            error = str(refusal) or type(refusal).__name__
            log.info("bus command refused sender=%s request=%s: %s", sender, request_id, error)
            return schemas.Reply(request_id=request_id, ok=False, error=error[:2000])
        except Exception:
            log.exception("bus command failed sender=%s request=%s", sender, request_id)
            return schemas.Reply(request_id=request_id, ok=False, error="internal error")

    def _control(self) -> CallControl:
        if self.control is None:
            raise RefusedError("call control is not available on this engine")
        return self.control

    async def _agent_command(
        self, agent: str, command: schemas.AgentCommand
    ) -> schemas.Reply | None:
        """Act for ``agent`` (from the topic) only; ``params`` never name the actor."""
        if agent not in self.engine.router.agents:
            raise RefusedError(f"unknown agent {agent}")
        action, params = command.action, command.params
        log.info("bus command agent=%s action=%s request=%s", agent, action, command.request_id)
        action_ = schemas.CommandAction
        if action is action_.LOGIN:
            reason = _text(params, "reason", "")
            await self._login(
                agent, _text(params, "pin"), self._pause_reason(reason) if reason else None
            )
        elif action is action_.LOGOUT:
            await self.engine.logout(agent)
        elif action is action_.PAUSE:
            await self.engine.pause(agent, self._pause_reason(_text(params, "reason")))
        elif action is action_.UNPAUSE:
            await self.engine.unpause(agent)
        elif action is action_.WRAP_UP:
            await self._wrap_up(agent, _text(params, "disposition", ""), _text(params, "notes", ""))
        elif action is action_.RESYNC:
            self.resync(agent)
        elif action is action_.HANGUP:
            await self._control().hangup(agent)
        elif action is action_.HOLD:
            await self._control().hold(agent)
        elif action is action_.RESUME:
            await self._control().resume(agent)
        elif action is action_.MUTE:
            await self._control().mute(agent)
        elif action is action_.UNMUTE:
            await self._control().unmute(agent)
        elif action is action_.DTMF:
            digits = _text(params, "digits")
            if not DTMF.fullmatch(digits):
                raise RefusedError("digits are 0-9, *, # or A-D (at most 32)")
            await self._control().dtmf(agent, digits)
        elif action is action_.TRANSFER:
            kind = _text(params, "kind")
            if kind not in ("queue", "agent", "number"):
                raise RefusedError("transfer kind is queue, agent or number")
            attended = params.get("attended", False)
            if not isinstance(attended, bool):
                raise RefusedError("attended is true or false")
            await self._control().transfer(agent, kind, _text(params, "target"), attended=attended)
        elif action is action_.COMPLETE_TRANSFER:
            await self._control().complete_transfer(agent)
        elif action is action_.CANCEL_TRANSFER:
            await self._control().cancel_transfer(agent)
        elif action is action_.CONFERENCE:
            await self._control().conference(agent)
        elif action in DESK_ACTIONS:
            if self.store is None:
                raise RefusedError("tickets and callbacks need the store")
            return await handle_desk_command(
                self.store, agent, command, now=self.engine.now(),
                departments=self._config().departments, call_id=self._last_call.get(agent),
                customer=self._last_caller.get(agent) or None,
            )  # fmt: skip
        elif action is action_.ANSWER:
            await self._accept(agent)
        elif action is action_.FIGURES:
            return await self._figures(agent, command.request_id)
        else:
            raise RefusedError(f"{action} is not handled by this engine yet")
        return None

    async def _figures(self, agent: str, request_id: str) -> schemas.Reply:
        """The agent's own day from the store (``agent_day``): calls, talk, wrap-up, pause,
        missed offers since the engine's local midnight, counted up to now."""
        if self.store is None:
            raise RefusedError("figures need the store")
        now = self.engine.now()
        midnight = datetime.datetime.fromtimestamp(now).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        try:
            async with asyncio.timeout(FIGURES_TIMEOUT):
                day = await agent_day(self.store, agent, midnight.timestamp(), now)
        except TimeoutError as exc:
            raise RefusedError("the store is busy; figures later") from exc
        figures = schemas.AgentFigures(
            start=day.start, end=day.end, calls=day.calls, offers=day.offers, missed=day.missed,
            talk_time=day.talk, wrap_up_time=day.wrap_up, pause_time=day.paused,
            logged_in_time=day.logged_in,
        )  # fmt: skip
        return schemas.Reply(request_id=request_id, ok=True, data=figures.as_data())

    async def _accept(self, agent: str) -> None:
        """Accept the offer on screen (a queue with ``accept``): the phone rings now. For
        other queues the phone itself rings and is answered there: refused by the core."""
        core = self.engine.router.agents[agent]
        if core.state is not AgentState.RINGING or not core.call:
            raise RefusedError("no call is offered to you")
        await self.engine.dispatcher.request(ev.AgentAccepted(self.engine.now(), core.call, agent))

    async def _login(self, agent: str, pin: str, paused: str | None) -> None:
        """Log ``agent`` in once its PIN checks out; ``paused``: log in paused."""
        spec = self._config().agents.get(agent)
        if spec is None or spec.pin is None:
            raise RefusedError("this agent has no PIN configured; ask the administrator")
        failures, last = self._failures.get(agent, (0, 0.0))
        if failures >= LOGIN_FAILURES_ALLOWED and time.monotonic() - last < LOGIN_LOCKOUT:
            raise RefusedError("too many wrong PINs; try again later")
        # scrypt takes ~50 ms of CPU: in a thread, so routing goes on meanwhile.
        if not await asyncio.to_thread(verify_pin, spec.pin, pin):
            self._failures[agent] = (failures + 1, time.monotonic())
            log.warning("bus login refused agent=%s: wrong PIN", agent)
            raise RefusedError("wrong PIN")
        self._failures.pop(agent, None)
        await self.engine.dispatcher.request(ev.AgentLoggedIn(self.engine.now(), agent, paused))

    def _pause_reason(self, reason: str) -> str:
        if reason not in self._config().pause_reasons:
            raise RefusedError(f"unknown pause reason {reason!r}")
        return reason

    async def _wrap_up(self, agent: str, disposition: str, notes: str) -> None:
        call = self._last_call.get(agent)
        if call is None:
            raise RefusedError("no call to wrap up")
        now = self.engine.now()
        if disposition:
            await self.engine.dispatcher.request(ev.DispositionSet(now, call, agent, disposition))
        if notes and self.records is not None:
            try:
                async with asyncio.timeout(5.0):
                    await self.records.update_interaction(call, notes=notes[: schemas.MAX_TEXT])
            except Exception as exc:
                log.exception("wrap-up notes not saved call=%s agent=%s", call, agent)
                raise RefusedError("the notes could not be saved; try again") from exc
        if self.engine.router.agent_state(agent) is AgentState.WRAP_UP:
            await self.engine.dispatcher.request(ev.WrapUpFinished(self.engine.now(), agent))

    def resync(self, agent: str) -> None:
        """Send ``agent``'s state again (and the offer, while it rings)."""
        message = self.outbox.current.get(topics.agent_state(agent))
        if message is not None:
            self.outbox.put(topics.agent_state(agent), message, retain=True, urgent=True)
        else:
            self._publish_state_from_router(agent, cause="resync")
        offer = self._offers.get(agent)
        core = self.engine.router.agents[agent]
        if offer is not None and core.state is AgentState.RINGING and core.call == offer.call:
            self.outbox.put(topics.agent_offer(agent), offer, urgent=True)

    async def _supervisor_command(
        self, supervisor: str, command: schemas.SupervisorCommand
    ) -> None:
        action, params = command.action, command.params
        log.info("bus command supervisor=%s action=%s request=%s",
                 supervisor, action, command.request_id)  # fmt: skip
        action_ = schemas.SupervisorAction
        if action is action_.STOP_MONITOR:
            await self._control().stop_monitor(supervisor)
            return
        if action is action_.SET_PRIORITY:
            call, priority = _text(params, "call"), params.get("priority")
            if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
                raise RefusedError("priority is a whole number from 0")
            await self.engine.dispatcher.request(
                ev.CallerPriorityChanged(self.engine.now(), call, priority)
            )
            return
        if action is action_.MOVE_CALL:
            call, queue = _text(params, "call"), _text(params, "queue")
            if queue not in self._config().queues:
                raise RefusedError(f"unknown queue {queue!r}")
            await self.engine.dispatcher.request(ev.CallerMoved(self.engine.now(), call, queue))
            return
        agent = _text(params, "agent")
        if agent not in self.engine.router.agents:
            raise RefusedError(f"unknown agent {agent}")
        if action is action_.FORCE_PAUSE:
            await self.engine.pause(agent, self._pause_reason(_text(params, "reason")))
        elif action is action_.FORCE_LOGOUT:
            await self.engine.logout(agent)
        elif action is action_.MONITOR:
            mode, endpoint = _text(params, "mode"), _text(params, "endpoint")
            if mode not in ("listen", "whisper", "barge"):
                raise RefusedError("mode is listen, whisper or barge")
            if not ENDPOINT.fullmatch(endpoint):
                raise RefusedError("endpoint is TECH/resource, e.g. PJSIP/2001")
            await self._control().monitor(supervisor, endpoint, agent, mode)

    def _config(self) -> Config:
        return self.engine.executor.config


def _text(params: dict[str, Any], name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if not isinstance(value, str):
        raise RefusedError(f"{name} is required" if value is None else f"{name} must be text")
    return value


# -- wiring: the broker and the link from the settings --------------------------------------


def agent_pins(config: Config) -> dict[str, str]:
    """Each agent's PIN hash: its password on the embedded broker."""
    return {agent: spec.pin for agent, spec in config.agents.items() if spec.pin}


@dataclass(frozen=True, slots=True)
class BusLink:
    """How the engine reaches the bus, and the embedded broker when it runs one."""

    settings: BusSettings
    broker: BrokerProcess | None = None


@contextlib.asynccontextmanager
async def open_bus(settings: EngineSettings, config: Config) -> AsyncIterator[BusLink | None]:
    """The engine's bus link from ``settings``: None without a bus; with
    ``bus_embedded``, an amqtt broker on ``bus_host:bus_port`` for the time of the block,
    in a child process (``callcenter/bus/broker_process.py`` says why).

    Embedded credentials: the engine's own password is ``bus_password`` or, if unset,
    a random one (only the engine itself uses it); supervisors' passwords come from
    ``bus_supervisors``; an agent's broker password is its login PIN, checked against
    the configuration's scrypt hash (``PinAuthPlugin``): one secret per agent.
    """
    if not settings.bus_enabled:
        yield None
        return
    password = (
        settings.bus_password.get_secret_value()
        if settings.bus_password is not None
        else secrets.token_urlsafe(24)
    )
    link = BusSettings(settings.bus_address, settings.bus_port, settings.bus_user, password)
    if not settings.bus_embedded:
        yield BusLink(link)
        return
    with tempfile.TemporaryDirectory(prefix="callcenter-bus-") as workdir:
        password_file = Path(workdir) / "passwd"
        # Supervisors choose their passwords: argon2, slow on purpose (off the event
        # loop). The engine's is a token only it uses: a fast hash is enough.
        users = {
            name: secret.get_secret_value() for name, secret in settings.bus_supervisors.items()
        }
        await asyncio.to_thread(write_password_file, password_file, users)
        pins = agent_pins(config)
        broker = BrokerProcess(
            password_file, Path(workdir), host=settings.bus_address, port=settings.bus_port,
            engines=(settings.bus_user,), supervisors=tuple(settings.bus_supervisors),
            agent_pins=pins, tokens={settings.bus_user: token_digest(password)},
        )  # fmt: skip
        async with broker:
            yield BusLink(
                BusSettings(broker.host, broker.port, settings.bus_user, password), broker
            )


__all__ = ["BusLink", "CallControl", "ControlError", "Desk", "Outbox", "agent_pins", "open_bus"]
