"""A traffic scenario played live against the simulated Asterisk, in real time.

Theory of operation. `TrafficDriver` plays the callers and the agents of a scenario
(`callcenter.traffic.scenario`: the same file `callcenter simulate` reads, with the same
arrival model, distributions and draws) around a running engine:

* callers arrive as the scenario's Poisson arrivals say (`callcenter.traffic.arrivals`),
  each through the dialplan's equivalent: ``inject_caller`` on the carrier trunk into
  ``Stasis(callcenter,inbound,${EXTEN},CC_QUEUE=...)`` with the ``CC_*`` variables the
  AGI scripts leave (`dialplan_variables`), set and passed as extensions.conf does,
  and the interaction row ``dnis_route`` writes (dialed number, campaign:
  ``record_arrival``). They press the keys the scenario gives for
  each IVR menu (``press``), take a callback offer when the scenario's share says so
  (the queue's key once the offer prompt plays), give up when their patience runs out
  while still waiting or ringing (``remote_hangup``: the trunk's BYE), and otherwise
  stay until the agent hangs up;
* agents (every staffed one except the person at the keyboard, ``human``) register
  their phone when their shift starts, log in over the bus as a console does
  (`console.link.BusLink`, their PIN as broker password: a simulated agent is a
  console without a screen), answer after the scenario's answer delay or let a share of
  offers ring out (`ScenarioPhones`: a fresh draw for every ring), hang up after the
  talk time, end wrap-up with a disposition, take the scenario's pauses, come back
  from an automatic pause for missed offers, and log out at the end of their shift;
* the human's phone answers by itself after `HUMAN_RING` seconds (an auto-answer
  headset: the console has no phone of its own) and the other party (a caller, a
  called-back customer) hangs up after its talk time unless the human does first (F3),
  so the floor never waits on the keyboard.

Callers and phones are watched by polling the simulator's channels (`POLL`): it has no
event to wait on, and a few dozen callers a second's quarter apart cost nothing.

Scenario times of day are read on the engine's clock (``now``): the demo runs the
engine at the scenario's time of day, so ``at: "10:00"`` means 10:00 on that clock.
Nothing is fed to the engine but ARI events and bus commands, as on a real floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from ari_app.engine.marks import queued
from callcenter.bus.client import BusSettings, Received, new_request_id
from callcenter.bus.schemas import (
    AgentCommand,
    AgentStateMessage,
    CommandAction,
    OfferMessage,
    Scalar,
)
from callcenter.config import Config
from callcenter.core.spec import Target, TargetKind
from callcenter.core.states import AgentState
from callcenter.store.records import InteractionFields
from callcenter.traffic.arrivals import arrival_times, rate_steps
from callcenter.traffic.distributions import Duration, pick
from callcenter.traffic.scenario import Arrivals, Scenario
from callcenter.traffic.simulation import MAX_MENU_VISITS, default_shifts
from console.link import BusLink, LinkDownError
from sim.agents import Answer, Endpoints, NoAnswer, Policy, Unregistered
from sim.asterisk import SimAsterisk, StasisUnavailableError
from sim.model import CallerId, Channel

log = logging.getLogger(__name__)

RecordArrival = Callable[[str, InteractionFields], Awaitable[None]]

TRUNK = "carrier"  # asterisk-conf/extensions.conf: calls from the carrier
CONTEXT = "callcenter-inbound"
# Stasis(callcenter,inbound,${EXTEN},CC_QUEUE=${CC_QUEUE},...) in extensions.conf.
STASIS_VARIABLES = ("CC_QUEUE", "CC_PRIORITY", "CC_VIP", "CC_LANG")
HUMAN_RING = 3.0  # seconds the human agent's phone rings before it answers itself
LANGUAGE_KEY_AFTER = 1.0  # seconds into the language prompt before its key is pressed
POLL = 0.25  # seconds between two looks at a waiting caller's channel
REQUEST_WAIT = 5.0
CALLBACK_THINK = 1.0  # seconds between hearing the callback offer (or number request) and keying
# The center's callback prompts (ari_app/engine/waiting.py), heard on the caller's channel.
CALLBACK_OFFER = "sound:callcenter/callback-offer"
CALLBACK_ENTER_NUMBER = "sound:callcenter/callback-enter-number"
SHIFT_END_WAIT = 900.0  # seconds an agent finishing a shift may take to end its last call
LOGIN_SPACING = 0.2  # seconds between two agents' logins at the start of a shift


def dialplan_variables(config: Config, dnis: str, *, vip: bool) -> dict[str, str]:
    """What ``[callcenter-inbound]`` leaves on the channel before ``Stasis()``:
    ``dnis_route`` (CC_DNIS, CC_ENTRY, CC_CAMPAIGN, CC_LANG, CC_STATUS) and
    ``caller_lookup`` (CC_VIP; a simulated caller is a known VIP customer or unknown).
    ``business_hours`` is left out: the engine decides opening on its own clock."""
    number = config.numbers.get(dnis)
    if number is None:
        return {"CC_DNIS": dnis, "CC_STATUS": "unknown", "CC_VIP": "0"}
    found = {
        "CC_DNIS": dnis,
        "CC_ENTRY": str(number.target),
        "CC_CAMPAIGN": number.campaign or "",
        "CC_LANG": number.language or "",
        "CC_VIP": "1" if vip else "0",
        "CC_STATUS": "ok",
    }
    return {name: value for name, value in found.items() if value}


def _queue_of(channel: Channel) -> str:
    """The queue a caller waits in: the engine's mark (ari_app/engine/marks.py), else the
    dialplan's choice (``CC_QUEUE``); "" while in no queue (the menus)."""
    place = queued(channel.variables)
    return place.queue if place is not None else channel.variables.get("CC_QUEUE", "")


@dataclass
class ScenarioPhones(Endpoints):
    """Endpoints whose registered phones answer as a fresh draw says, ring by ring."""

    answers: dict[str, Callable[[], Policy]] = field(default_factory=dict)

    def policy(self, endpoint: str) -> Policy | None:
        found = super().policy(endpoint)
        draw = self.answers.get(endpoint)
        if found is None or isinstance(found, Unregistered) or draw is None:
            return found
        return draw()


@dataclass
class Counts:
    """What the driver did, for the demo's log and tests."""

    callers: int = 0
    abandoned: int = 0
    callbacks: int = 0  # callback offers taken
    agent_hangups: int = 0
    logins: int = 0
    refused_logins: int = 0


class TrafficDriver:
    def __init__(
        self,
        ast: SimAsterisk,
        config: Config,
        scenario: Scenario,
        *,
        bus: tuple[str, int],
        now: Callable[[], float],
        midnight: float,
        pins: Mapping[str, str] | None = None,
        human: str | None = None,
        app: str = "callcenter",
        record_arrival: RecordArrival | None = None,
    ) -> None:
        """``now``: the engine's clock; ``midnight``: that clock's midnight of the
        scenario's first day; ``pins``: agent -> PIN (default: the agent id, as in the
        sample configuration); ``human``: the agent at the keyboard, not simulated;
        ``record_arrival(call id, fields)``: the interaction row ``dnis_route`` writes
        (dialed number, campaign, arrival), for reports per number and campaign."""
        if not isinstance(ast.endpoints, ScenarioPhones):
            raise TypeError("the simulator needs ScenarioPhones endpoints")
        self.ast, self.phones = ast, ast.endpoints
        self.config, self.scenario = config, scenario
        self.bus, self.now, self.midnight = bus, now, midnight
        self.pins = dict(pins or {})
        self.human, self.app = human, app
        self.record_arrival = record_arrival
        self.agent_rng = random.Random(f"{scenario.seed}/agents")
        self.counts = Counts()
        self.agents: dict[str, SimAgent] = {}
        self.by_endpoint = {spec.endpoint: agent for agent, spec in config.agents.items()}
        self.auto_pause = config.routing_spec().auto_pause_reason
        self._tasks: set[asyncio.Task[Any]] = set()
        self._logins = asyncio.Lock()
        # Every agent's phone is configured (pjsip.conf) but offline until its shift:
        # an unconfigured PJSIP endpoint does not exist at all (errors.md: 422 on
        # subscribing to it), which is not how a real floor looks to the engine.
        for spec in config.agents.values():
            ast.unregister(spec.endpoint)
        if human is not None and human in config.agents:
            endpoint = config.agents[human].endpoint
            self.phones.answers[endpoint] = lambda: Answer(after=HUMAN_RING)
            ast.register(endpoint, Answer(after=HUMAN_RING))

    @property
    def logged_in(self) -> int:
        """Simulated agents logged in now, as the engine last told them."""
        out = (None, AgentState.LOGGED_OUT)
        return sum(1 for agent in self.agents.values() if agent.state not in out)

    # -- life cycle -----------------------------------------------------------------------

    async def run(self) -> None:
        """Play the scenario from the clock's time of day until cancelled."""
        day = self.scenario.day
        shifts = default_shifts(self.scenario, list(self.config.agents), day.start, day.length)
        for agent, planned in shifts.items():
            if agent != self.human:
                for shift in planned:
                    self.spawn(self._shift(agent, shift.start, shift.end))
        for pause in self.scenario.agents.pauses:
            for agent in pause.agents:
                if agent != self.human:
                    self.spawn(self._pause(agent, pause.at, pause.minutes * 60.0, pause.reason))
        for index, arrivals in enumerate(self.scenario.arrivals):
            self.spawn(self._arrivals(index, arrivals))
        if self.human is not None and self.human in self.config.agents:
            self.spawn(self._human_calls(self.config.agents[self.human].endpoint))
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # The floor closes (the engine goes too): agents just hang up their sessions.
        await asyncio.gather(*(agent.stop(log_out=False) for agent in self.agents.values()))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("traffic task failed", exc_info=task.exception())

    async def until(self, moment: float) -> None:
        """Sleep until ``moment`` (seconds after the scenario's midnight) on the clock."""
        await asyncio.sleep(max(0.0, self.midnight + moment - self.now()))

    # -- agents ---------------------------------------------------------------------------

    async def _shift(self, agent: str, start: float, end: float | None) -> None:
        spec = self.config.agents.get(agent)
        if spec is None:
            return
        await self.until(start)
        found = self.agents.get(agent)
        if found is None:
            found = self.agents[agent] = SimAgent(self, agent, spec.endpoint,
                                                  self.pins.get(agent, agent))  # fmt: skip
        async with self._logins:
            await found.start()
            # One at a time, a moment apart: amqtt 0.12 can fail a connection that
            # arrives while another session subscribes (its subscription dict changes
            # during iteration), which costs that agent a 10 s connect timeout.
            await asyncio.sleep(LOGIN_SPACING)
        if end is not None:
            await self.until(end)
            await found.finish_shift()

    async def _pause(self, agent: str, at: float, seconds: float, reason: str) -> None:
        if self.midnight + at < self.now():
            return  # planned before the demo started
        await self.until(at)
        found = self.agents.get(agent)
        if found is not None:
            found.pause(reason, seconds)

    def hang_up_phone(self, endpoint: str) -> bool:
        """The agent puts the phone down: a BYE on its connected channel (README: no cause)."""
        for channel in list(self.ast.channels.values()):
            if channel.name.startswith(endpoint + "-") and channel.bridge is not None:
                self.ast.remote_hangup(channel.id)
                self.counts.agent_hangups += 1
                return True
        return False

    def answer_policy(self) -> Policy:
        """How a simulated agent's phone answers this ring: the scenario's draw."""
        agents = self.scenario.agents
        if self.agent_rng.random() < agents.no_answer:
            return NoAnswer()
        return Answer(after=agents.answer_delay.draw(self.agent_rng))

    def talk_time(self, queue: str) -> Duration:
        agents = self.scenario.agents
        return agents.talk_time_by_queue.get(queue, agents.talk_time)

    # -- callers --------------------------------------------------------------------------

    async def _arrivals(self, index: int, arrivals: Arrivals) -> None:
        day = self.scenario.day
        rates = rate_steps(arrivals, day.start, day.length)
        times = arrival_times(rates, random.Random(f"{self.scenario.seed}/arrivals/{index}"))
        stream = random.Random(f"{self.scenario.seed}/callers/{index}")
        late = self.now() - self.midnight
        for moment in times:
            caller_rng = random.Random(stream.getrandbits(64))
            if moment < late:
                continue  # before the demo started (a scenario joined mid-day)
            await self.until(moment)
            self.spawn(self._caller(arrivals, caller_rng))

    async def _caller(self, arrivals: Arrivals, rng: random.Random) -> None:
        callers = self.scenario.callers
        # The draws in the order of the what-if simulation (Simulation._arrive).
        number = f"138{rng.randrange(10**8):08d}"
        lang = pick(rng, callers.languages) if callers.languages else None
        flags = {flag: rng.random() < share for flag, share in callers.flags.items()}
        patience = callers.patience.draw(rng) if callers.patience is not None else None
        rng.random()  # the caller's need: the agents' talk time is drawn on their side
        accepts_callback = rng.random() < callers.callback_acceptance
        variables: dict[str, str]
        if arrivals.number:
            dnis = arrivals.number
            variables = dialplan_variables(self.config, dnis, vip=flags.get("vip", False))
            number_spec = self.config.numbers.get(dnis)
            target: Target | None = number_spec.target if number_spec is not None else None
        else:  # straight to a queue: the dialplan's `enqueue` script chose it (CC_QUEUE)
            dnis = rng.choice(arrivals.numbers) if arrivals.numbers else arrivals.queue
            variables = {"CC_QUEUE": arrivals.queue, "CC_VIP": "1" if flags.get("vip") else "0"}
            target = Target(TargetKind.QUEUE, arrivals.queue)
        if lang and "CC_QUEUE" in variables:
            variables["CC_LANG"] = lang
        # extensions.conf passes the lookups' findings as Stasis arguments too.
        passed = [f"{name}={variables.get(name, '')}" for name in STASIS_VARIABLES]
        try:
            channel = self.ast.inject_caller(
                dnis, caller=CallerId("", number), variables=variables, app=self.app,
                args=("inbound", dnis, *passed), trunk=TRUNK, context=CONTEXT,
            )  # fmt: skip
        except StasisUnavailableError:
            log.warning("caller %s dropped: the engine is not connected", number)
            return
        self.counts.callers += 1
        if self.record_arrival is not None and arrivals.number:
            # As dnis_route: routing does not wait on the store; a failure loses the count.
            self.spawn(self._record(channel.id, dnis, number))
        await self._menus(channel, target, lang, rng)
        await self._wait(channel, patience, accepts_callback, number)

    async def _record(self, call: str, dnis: str, caller_number: str) -> None:
        found = self.config.numbers.get(dnis)
        if self.record_arrival is None or found is None:
            return
        fields: InteractionFields = {
            "dnis": dnis, "campaign": found.campaign or None, "entry_point": str(found.target),
            "caller_number": caller_number, "arrived_at": self.now(),
        }  # fmt: skip
        try:
            await self.record_arrival(call, fields)
        except Exception:  # the store is the engine's: a lost count is all
            log.warning("call %s to %s not counted", call, dnis, exc_info=True)

    async def _menus(
        self, channel: Channel, target: Target | None, lang: str | None, rng: random.Random
    ) -> None:
        """Press the scenario's keys in each menu the caller goes through."""
        visits = 0
        while target is not None and target.kind is TargetKind.IVR and visits < MAX_MENU_VISITS:
            menu = self.config.ivr.get(target.value)
            if menu is None:
                return
            visits += 1
            if menu.language is not None:
                # A caller without one of the offered languages ends up with the default
                # (as in the what-if simulation); pressing its key gets there at once,
                # so the menu key that follows is not taken for the language.
                keys = {language: key for key, language in menu.language.keys.items()}
                wanted = lang if lang in keys else menu.language.default
                await asyncio.sleep(LANGUAGE_KEY_AFTER)
                if not self._in_stasis(channel):
                    return
                if wanted in keys:
                    self.ast.press(channel.id, keys[wanted])
            choices = self.scenario.ivr.get(target.value)
            await asyncio.sleep(max(0.5, choices.time.draw(rng)) if choices else 0.5)
            if not self._in_stasis(channel):
                return
            key = pick(rng, choices.choices) if choices else None
            if key is None:  # nothing valid: the menu's retries, then after_retries
                target = menu.after_retries
                continue
            self.ast.press(channel.id, key)
            target = menu.options.get(key, menu.after_retries)

    async def _wait(
        self, channel: Channel, patience: float | None, accepts_callback: bool, number: str
    ) -> None:
        """In line until an agent answers (then the agent's side ends the call), the
        patience counted from joining the queue runs out, or a callback is booked."""
        loop = asyncio.get_running_loop()
        give_up: float | None = None
        offered = False
        while self._in_stasis(channel):
            if give_up is None and patience is not None and _queue_of(channel):
                give_up = loop.time() + patience  # in line (the dialplan's or the engine's)
            if self._connected_agent(channel) is not None:
                return
            if accepts_callback and not offered and self._hears(channel, CALLBACK_OFFER):
                offered = True
                if await self._take_callback(channel, number):
                    patience = give_up = None  # booked: the engine says so and hangs up
            if give_up is not None and loop.time() >= give_up:
                self.ast.remote_hangup(channel.id)
                self.counts.abandoned += 1
                return
            await asyncio.sleep(POLL)

    async def _take_callback(self, channel: Channel, number: str) -> bool:
        """Press the queue's callback key once the offer is heard; a caller asked for a
        number keys it in, ended by ``#`` (ari_app/engine/waiting.py)."""
        queue = self.config.queues.get(_queue_of(channel))
        if queue is None or queue.callback is None:
            return False
        await asyncio.sleep(CALLBACK_THINK)
        if not self._in_stasis(channel) or self._connected_agent(channel) is not None:
            return False
        self.ast.press(channel.id, queue.callback.key)
        self.counts.callbacks += 1
        await asyncio.sleep(CALLBACK_THINK)
        if self._in_stasis(channel) and self._hears(channel, CALLBACK_ENTER_NUMBER):
            self.ast.press(channel.id, number + "#")
        return True

    def _hears(self, channel: Channel, media: str) -> bool:
        """``media`` is playing (or queued) on the caller's channel."""
        target = f"channel:{channel.id}"
        return any(
            playback.target_uri == target and media in (playback.media_uri, *playback.after)
            for playback in self.ast.media.playbacks.values()
        )

    async def _human_calls(self, endpoint: str) -> None:
        """The other party of each call the human agent is connected to (a caller, a
        called-back customer) hangs up after its talk time, unless the human did first."""
        rng = random.Random(f"{self.scenario.seed}/human")
        seen: set[str] = set()
        while True:
            for channel in list(self.ast.channels.values()):
                if channel.id in seen or not channel.name.startswith(endpoint + "-"):
                    continue
                other = self._other_party(channel)
                if other is not None:
                    seen.add(channel.id)
                    talk = self.talk_time(_queue_of(other)).draw(rng)
                    self.spawn(self._hang_up_later(other, channel, talk))
            seen &= set(self.ast.channels)
            await asyncio.sleep(POLL)

    async def _hang_up_later(self, other: Channel, agent_leg: Channel, talk: float) -> None:
        await asyncio.sleep(talk)
        if other.id in self.ast.channels and self._other_party(agent_leg) is other:
            self.ast.remote_hangup(other.id)  # the caller has what they called for

    def _other_party(self, channel: Channel) -> Channel | None:
        """The one other channel in ``channel``'s mixing bridge, if there is exactly one."""
        bridge = self.ast.bridges.get(channel.bridge or "")
        if bridge is None or bridge.bridge_type != "mixing" or len(bridge.channels) != 2:
            return None
        others = [self.ast.channels.get(c) for c in bridge.channels if c != channel.id]
        return others[0] if others and others[0] is not None else None

    def _in_stasis(self, channel: Channel) -> bool:
        return channel.id in self.ast.channels and channel.in_stasis

    def _connected_agent(self, channel: Channel) -> str | None:
        bridge = self.ast.bridges.get(channel.bridge or "")
        if bridge is None or bridge.bridge_type != "mixing":
            return None
        for other_id in bridge.channels:
            other = self.ast.channels.get(other_id)
            if other is not None and other is not channel:
                endpoint = other.name.rsplit("-", 1)[0]
                if endpoint in self.by_endpoint:
                    return self.by_endpoint[endpoint]
        return None


class SimAgent:
    """One simulated agent: a phone on the simulator and a console's session on the bus."""

    def __init__(self, driver: TrafficDriver, agent: str, endpoint: str, pin: str) -> None:
        self.driver, self.agent, self.endpoint, self.pin = driver, agent, endpoint, pin
        self.state: AgentState | None = None
        self.since = 0.0
        self.queues: dict[str, str] = {}  # call -> queue, from the offers
        self.pauses: dict[str, float] = {}  # reason -> seconds, for a pause asked for
        self.link: BusLink | None = None
        self._session: asyncio.Task[None] | None = None
        self._pending: asyncio.Task[None] | None = None  # the next thing this agent does
        self._commands: set[asyncio.Task[None]] = set()
        self._logged_out = asyncio.Event()

    async def start(self) -> None:
        if self._session is not None:
            return
        driver = self.driver
        driver.phones.answers[self.endpoint] = driver.answer_policy
        driver.ast.register(self.endpoint, Answer())
        host, port = driver.bus
        self.link = BusLink.for_agent(
            BusSettings(host, port, self.agent, self.pin), self.agent, max_backoff=1.0
        )
        self.link.bind(self._message, lambda up: None, self._connected)
        self._session = asyncio.create_task(self.link.run(), name=f"agent-{self.agent}")

    async def stop(self, *, log_out: bool = True) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        self._cancel_pending()
        if log_out and self.state not in (None, AgentState.LOGGED_OUT):
            with contextlib.suppress(LinkDownError, TimeoutError):
                await self._request(CommandAction.LOGOUT, {})
        for task in list(self._commands):
            task.cancel()
        session.cancel()
        await asyncio.gather(session, *self._commands, return_exceptions=True)
        self.driver.ast.unregister(self.endpoint)

    async def finish_shift(self) -> None:
        """Log out (the engine does it after the call in progress, which the agent
        finishes as usual), then hang up the session and take the phone off."""
        if self.state not in (None, AgentState.LOGGED_OUT):
            self._command(CommandAction.LOGOUT, {})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SHIFT_END_WAIT):
                    await self._logged_out.wait()
        await self.stop(log_out=False)

    def pause(self, reason: str, seconds: float) -> None:
        """Ask for a pause (the engine takes it after the call in progress)."""
        self.pauses[reason] = seconds
        self._command(CommandAction.PAUSE, {"reason": reason})

    # -- the bus ---------------------------------------------------------------------------

    async def _connected(self) -> None:
        try:
            reply = await self._request(CommandAction.LOGIN, {"pin": self.pin})
        except (LinkDownError, TimeoutError) as error:
            log.info("agent %s: login not answered: %s", self.agent, error)
            return
        if reply:
            self.driver.counts.logins += 1
        else:
            self.driver.counts.refused_logins += 1

    async def _request(self, action: CommandAction, params: dict[str, Scalar]) -> bool:
        if self.link is None:
            raise LinkDownError("not connected")
        command = AgentCommand(request_id=new_request_id(), action=action, params=params)
        reply = await self.link.request(command, REQUEST_WAIT)
        if not reply.ok:
            log.info("agent %s: %s refused: %s", self.agent, action, reply.error)
        return reply.ok

    def _command(self, action: CommandAction, params: dict[str, Scalar]) -> None:
        async def send() -> None:
            with contextlib.suppress(LinkDownError, TimeoutError):
                await self._request(action, params)

        task = asyncio.create_task(send())
        self._commands.add(task)
        task.add_done_callback(self._commands.discard)

    def _message(self, received: Received) -> None:
        message = received.message
        if isinstance(message, OfferMessage):
            self.queues[message.call] = message.queue
        elif isinstance(message, AgentStateMessage) and (message.state, message.since) != (
            self.state,
            self.since,
        ):  # a retained copy again after a reconnect changes nothing
            self.state, self.since = message.state, message.since
            if message.state is AgentState.LOGGED_OUT:
                self._logged_out.set()
            else:
                self._logged_out.clear()
            self._react(message)

    def _react(self, message: AgentStateMessage) -> None:
        self._cancel_pending()
        driver, rng = self.driver, self.driver.agent_rng
        agents = driver.scenario.agents
        if message.state is AgentState.ON_CALL:
            talk = driver.talk_time(self.queues.pop(message.call, "")).draw(rng)
            self._later(talk, lambda: driver.hang_up_phone(self.endpoint))
        elif message.state is AgentState.WRAP_UP and agents.wrapup is not None:
            codes = sorted(driver.config.dispositions)
            params: dict[str, Scalar] = {"disposition": rng.choice(codes)} if codes else {}
            self._later(agents.wrapup.draw(rng), lambda: self._command(CommandAction.WRAP_UP,
                                                                        params))  # fmt: skip
        elif message.state is AgentState.PAUSED:
            lasts = self.pauses.pop(message.reason, None)
            if message.reason == driver.auto_pause:
                lasts = agents.auto_pause_return.draw(rng)
            if lasts is not None:
                self._later(lasts, lambda: self._command(CommandAction.UNPAUSE, {}))

    def _later(self, delay: float, act: Callable[[], object]) -> None:
        async def wait_then_act() -> None:
            await asyncio.sleep(delay)
            act()

        self._pending = asyncio.create_task(wait_then_act())

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
