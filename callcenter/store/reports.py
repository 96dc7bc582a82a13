"""Report figures, computed from the store alone (``interactions`` and ``agent_state_changes``).

The rows are read with plain SELECTs and the figures computed here in Python,
so SQLite and PostgreSQL give identical numbers (no dialect-specific date or
rounding functions). All times are epoch seconds; durations are seconds.

Traffic figures (:func:`traffic`), for each group (queue, dialed number or
campaign) and each time slot. A call belongs to the slot in which it reached
the grouped entity: by queue, the slot of ``enqueued_at`` and the call's final
``queue``; by dialed number (``dnis``) or ``campaign``, the slot of
``arrived_at``. Slots are ``slot`` seconds long, counted from ``start``.

For one call::

    queued      enqueued_at is set
    answered    queued and answered_at is set
    wait        (answered_at if answered, else ended_at) - enqueued_at
    abandoned   queued, not answered, outcome = "abandoned"
    short       abandoned and wait < short_abandon
    talk        talk_time, or when not stored: ended_at - answered_at - hold_time
    hold        hold_time (customer on hold while connected)
    wrap-up     wrapup_ended_at - ended_at (0 when there was none)
    handle      talk + hold + wrap-up (answered calls that have ended)

For a group, with T the service-level threshold and S the short abandons when
``exclude_short_abandons`` (else S = 0)::

    arrived             calls in the group (= offered when grouped by queue)
    offered             queued calls
    answered            answered calls
    answered_within_sl  answered calls with wait <= T
    abandoned           abandoned calls minus S
    service level %     100 * answered_within_sl / (answered + abandoned with wait > T)
                        (abandons before T count neither for nor against)
    abandonment %       100 * abandoned / (offered - S)
    ASA                 sum(wait of answered calls) / answered
    AHT                 sum(handle) / handled      (handled: answered calls that ended)
    total handle time   sum(handle)
    average talk        sum(talk) / handled
    average wrap-up     sum(wrap-up) / handled
    longest wait        max(wait) over queued calls whose wait is over
    satisfaction        mean survey_score over the calls that have one

A ratio with a zero denominator is ``None`` (no data), never 0.

Occupancy (:func:`agent_occupancy`), per agent, from the agent state changes
replayed over [start, end) (the state at ``start`` is the last change before
it)::

    occupancy = (on_call + wrap_up) / (ready + ringing + on_call + wrap_up)

i.e. time handling calls over logged-in time not paused.

One agent's day (:func:`agent_day`, the agent console's "my day" figures), replayed
the same way from that agent's changes: calls answered, offers, missed offers, and
time on a call, in wrap-up and paused; average handle = (talk + wrap-up) / calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, func, select

from callcenter.core.states import AgentState, AgentTrigger
from callcenter.store.records import Outcome
from callcenter.store.schema import agent_state_changes, interactions
from callcenter.store.store import Store

GroupBy = Literal["queue", "dnis", "campaign"]


@dataclass(frozen=True, slots=True)
class ServiceLevelRule:
    threshold: float = 20.0  # seconds: answered within this is "in service level"
    short_abandon: float = 5.0  # seconds: abandons quicker than this are "short"
    exclude_short_abandons: bool = True


@dataclass(slots=True)
class TrafficFigures:
    """Counts and sums for one group and slot; the ratios are properties."""

    key: str | None  # the queue, dialed number or campaign (None: not set / all)
    slot_start: float | None  # None: the whole period
    rule: ServiceLevelRule = field(default_factory=ServiceLevelRule)
    arrived: int = 0
    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0  # counted abandons (short ones excluded when the rule says so)
    abandoned_after_sl: int = 0
    short_abandoned: int = 0
    handled: int = 0
    total_wait_answered: float = 0.0
    longest_wait: float | None = None
    total_talk: float = 0.0
    total_hold: float = 0.0
    total_wrapup: float = 0.0
    surveys: int = 0
    survey_total: float = 0.0

    @property
    def service_level(self) -> float | None:
        return _percent(self.answered_within_sl, self.answered + self.abandoned_after_sl)

    @property
    def abandonment(self) -> float | None:
        excluded = self.short_abandoned if self.rule.exclude_short_abandons else 0
        return _percent(self.abandoned, self.offered - excluded)

    @property
    def asa(self) -> float | None:
        return _ratio(self.total_wait_answered, self.answered)

    @property
    def total_handle_time(self) -> float:
        return self.total_talk + self.total_hold + self.total_wrapup

    @property
    def aht(self) -> float | None:
        return _ratio(self.total_handle_time, self.handled)

    @property
    def average_talk(self) -> float | None:
        return _ratio(self.total_talk, self.handled)

    @property
    def average_hold(self) -> float | None:
        return _ratio(self.total_hold, self.handled)

    @property
    def average_wrapup(self) -> float | None:
        return _ratio(self.total_wrapup, self.handled)

    @property
    def satisfaction(self) -> float | None:
        return _ratio(self.survey_total, self.surveys)

    def count(self, call: Any) -> None:
        """Add one interaction row to the figures."""
        self.arrived += 1
        if call.survey_score is not None:
            self.surveys += 1
            self.survey_total += call.survey_score
        if call.enqueued_at is None:
            return
        self.offered += 1
        answered = call.answered_at is not None
        end = call.answered_at if answered else call.ended_at
        wait = None if end is None else end - call.enqueued_at
        if wait is not None:
            self.longest_wait = wait if self.longest_wait is None else max(self.longest_wait, wait)
        if answered and wait is not None:
            self.answered += 1
            self.total_wait_answered += wait
            self.answered_within_sl += wait <= self.rule.threshold
            self._count_handling(call)
        elif call.outcome == Outcome.ABANDONED and wait is not None:
            short = wait < self.rule.short_abandon
            self.short_abandoned += short
            if not (short and self.rule.exclude_short_abandons):
                self.abandoned += 1
                self.abandoned_after_sl += wait > self.rule.threshold

    def _count_handling(self, call: Any) -> None:
        if call.ended_at is None:
            return  # still talking: no handle time yet
        hold = call.hold_time or 0.0
        talk = call.talk_time
        if talk is None:
            talk = call.ended_at - call.answered_at - hold
        wrapup = 0.0
        if call.wrapup_ended_at is not None:
            wrapup = call.wrapup_ended_at - call.ended_at
        self.handled += 1
        self.total_talk += talk
        self.total_hold += hold
        self.total_wrapup += wrapup


async def traffic(
    store: Store,
    start: float,
    end: float,
    *,
    by: GroupBy | None = "queue",
    slot: float | None = None,
    rule: ServiceLevelRule | None = None,
) -> list[TrafficFigures]:
    """Traffic figures per group (``by``; None: all calls together) and per slot.

    ``slot`` is the interval length in seconds (900, 1800, 3600, ...); None
    gives one row per group for the whole of [start, end). Rows are sorted by
    group then slot; groups and slots without calls are left out.
    """
    rule = rule or ServiceLevelRule()
    when = interactions.c.enqueued_at if by in (None, "queue") else interactions.c.arrived_at
    key_column = interactions.c[by] if by is not None else None
    columns = [
        when.label("when"),
        interactions.c.enqueued_at,
        interactions.c.answered_at,
        interactions.c.ended_at,
        interactions.c.wrapup_ended_at,
        interactions.c.hold_time,
        interactions.c.talk_time,
        interactions.c.outcome,
        interactions.c.survey_score,
    ]
    if key_column is not None:
        columns.append(key_column.label("key"))
    stmt = select(*columns).where(when >= start, when < end)
    async with store.reading() as conn:
        rows = (await conn.execute(stmt)).all()
    figures: dict[tuple[str, float], TrafficFigures] = {}
    for row in rows:
        key = row.key if key_column is not None else None
        slot_start = _slot_start(row.when, start, slot)
        sort_key = (
            "" if key is None else str(key),
            -math.inf if slot_start is None else slot_start,
        )
        group = figures.get(sort_key)
        if group is None:
            group = figures[sort_key] = TrafficFigures(key=key, slot_start=slot_start, rule=rule)
        group.count(row)
    return [figures[k] for k in sorted(figures)]


def _slot_start(when: float, start: float, slot: float | None) -> float | None:
    if slot is None:
        return None
    return start + math.floor((when - start) / slot) * slot


# -- agents -----------------------------------------------------------------------------


@dataclass(slots=True)
class AgentTime:
    """Seconds an agent spent in each state within the report period."""

    agent: str
    seconds: dict[AgentState, float] = field(default_factory=dict)

    def time_in(self, *states: AgentState) -> float:
        return sum(self.seconds.get(state, 0.0) for state in states)

    @property
    def logged_in(self) -> float:
        return self.time_in(*(s for s in AgentState if s != AgentState.LOGGED_OUT))

    @property
    def available(self) -> float:
        """Logged in and not paused: ready, ringing, on a call or in wrap-up."""
        return self.logged_in - self.time_in(AgentState.PAUSED)

    @property
    def handling(self) -> float:
        return self.time_in(AgentState.ON_CALL, AgentState.WRAP_UP)

    @property
    def occupancy(self) -> float | None:
        """(on call + wrap-up) / (logged in - paused), as a fraction of 1."""
        return _ratio(self.handling, self.available)


async def agent_occupancy(store: Store, start: float, end: float) -> list[AgentTime]:
    """Time per state and occupancy for every agent with a state in [start, end), by agent."""
    last_before = (
        select(agent_state_changes.c.agent, func.max(agent_state_changes.c.time).label("time"))
        .where(agent_state_changes.c.time < start)
        .group_by(agent_state_changes.c.agent)
        .subquery()
    )
    before = select(agent_state_changes.c.agent, agent_state_changes.c.state).join(
        last_before,
        and_(
            agent_state_changes.c.agent == last_before.c.agent,
            agent_state_changes.c.time == last_before.c.time,
        ),
    )
    during = (
        select(agent_state_changes.c.agent, agent_state_changes.c.time, agent_state_changes.c.state)
        .where(agent_state_changes.c.time >= start, agent_state_changes.c.time < end)
        .order_by(agent_state_changes.c.agent, agent_state_changes.c.time, agent_state_changes.c.id)
    )
    async with store.reading() as conn:
        # Ties at the same time: the last one written wins, as when replaying.
        initial = {
            row.agent: AgentState(row.state)
            for row in (await conn.execute(before.order_by(agent_state_changes.c.id))).all()
        }
        changes = (await conn.execute(during)).all()
    return _replay(initial, ((r.agent, r.time, AgentState(r.state)) for r in changes), start, end)


def _replay(
    initial: dict[str, AgentState],
    changes: Iterable[tuple[str, float, AgentState]],
    start: float,
    end: float,
) -> list[AgentTime]:
    states = dict(initial)
    since = dict.fromkeys(initial, start)
    totals = {agent: AgentTime(agent) for agent in initial}
    changed: set[str] = set()
    for agent, time, state in changes:
        totals.setdefault(agent, AgentTime(agent))
        changed.add(agent)
        current = states.get(agent, AgentState.LOGGED_OUT)
        seconds = totals[agent].seconds
        seconds[current] = seconds.get(current, 0.0) + time - since.get(agent, start)
        states[agent], since[agent] = state, time
    for agent, state in states.items():
        seconds = totals[agent].seconds
        seconds[state] = seconds.get(state, 0.0) + end - since[agent]
    return [
        totals[agent] for agent in sorted(totals) if totals[agent].logged_in > 0 or agent in changed
    ]


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def _percent(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else 100.0 * numerator / denominator


# -- one agent's day (the agent console's figures) --------------------------------------------

_MISSED = frozenset({AgentTrigger.NO_ANSWER, AgentTrigger.AUTO_PAUSE})


@dataclass(slots=True)
class AgentDay:
    """One agent's own figures over [start, end), from its stored state changes alone, so
    they survive a console or engine restart. A state entered before ``start`` counts from
    ``start``; the state the agent is in at ``end`` counts up to ``end``.

    ``calls``: times the agent went on a call (answered an offer); ``offers``: times its
    phone rang; ``missed``: rings that ended unanswered (no answer, or the auto-pause
    that follows too many: causes ``ring no_answer`` / ``ring auto_pause``, see
    ``callcenter/core/lifecycle.py``)."""

    agent: str
    start: float
    end: float
    calls: int = 0
    offers: int = 0
    missed: int = 0
    seconds: dict[AgentState, float] = field(default_factory=dict)

    def time_in(self, state: AgentState) -> float:
        return self.seconds.get(state, 0.0)

    @property
    def talk(self) -> float:
        return self.time_in(AgentState.ON_CALL)

    @property
    def wrap_up(self) -> float:
        return self.time_in(AgentState.WRAP_UP)

    @property
    def paused(self) -> float:
        return self.time_in(AgentState.PAUSED)

    @property
    def logged_in(self) -> float:
        return sum(s for state, s in self.seconds.items() if state is not AgentState.LOGGED_OUT)

    @property
    def average_handle(self) -> float | None:
        """(talk + wrap-up) per call answered."""
        return _ratio(self.talk + self.wrap_up, self.calls)

    @property
    def average_talk(self) -> float | None:
        return _ratio(self.talk, self.calls)


async def agent_day(store: Store, agent: str, start: float, end: float) -> AgentDay:
    """``agent``'s figures over [start, end) (see :class:`AgentDay`)."""
    columns = agent_state_changes.c
    before = (
        select(columns.state)
        .where(columns.agent == agent, columns.time < start)
        .order_by(columns.time.desc(), columns.id.desc())
        .limit(1)
    )
    during = (
        select(columns.time, columns.previous, columns.state, columns.cause)
        .where(columns.agent == agent, columns.time >= start, columns.time < end)
        .order_by(columns.time, columns.id)
    )
    async with store.reading() as conn:
        initial = (await conn.execute(before)).scalar()
        changes = (await conn.execute(during)).all()
    day = AgentDay(agent, start, end)
    state = AgentState(initial) if initial is not None else AgentState.LOGGED_OUT
    since = start
    for row in changes:
        day.seconds[state] = day.seconds.get(state, 0.0) + row.time - since
        previous, new = AgentState(row.previous), AgentState(row.state)
        if new is AgentState.RINGING and previous is not AgentState.RINGING:
            day.offers += 1
        if new is AgentState.ON_CALL and previous is not AgentState.ON_CALL:
            day.calls += 1
        trigger = str(row.cause).rsplit(" ", 1)[-1]
        if previous is AgentState.RINGING and new is not AgentState.ON_CALL and trigger in _MISSED:
            day.missed += 1
        state, since = new, row.time
    day.seconds[state] = day.seconds.get(state, 0.0) + max(0.0, end - since)
    return day
