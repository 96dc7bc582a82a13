"""The figures of a simulated day, per interval and per queue, from what the core decided.

`Recorder` reads the commands the routing core returns, as the store's journal does: the
queue_log lines say when each caller entered a queue and how the stay ended (the same
lines `callcenter report` reads), and the agents' state changes give the time they spent
staffed and busy. A stay is counted in the interval its caller *entered* the queue,
whenever it ended, as ACD interval reports do.

Definitions (per queue and interval):

* offered: callers who entered the queue (refused ones, queue full or empty, are not);
* answered, abandoned (hung up while waiting), left (overflow at max wait, exit key,
  leave-when-empty), booked callbacks count as answered once the call back is answered;
* service level = answered within the queue's threshold (``service_level:``, seconds
  from entering to answer) / offered;
* ASA (average speed of answer) = total wait of answered callers / answered;
* AHT (average handle time) = (talk + wrap-up) / calls that ended with the agent;
* occupancy = time the queue's member agents spent ringing, talking or wrapping up /
  time they were logged in and not paused (for every queue they serve: an agent shared
  by two queues counts in both).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.core import commands as cmd
from callcenter.core import events as ev
from callcenter.core.states import AgentState

_ENDINGS = {
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "left",
    "EXITEMPTY": "left",
    "EXITWITHKEY": "left",
}
_BUSY = (AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)
_STAFFED = (AgentState.READY, *_BUSY)


@dataclass(slots=True)
class Stay:
    """One caller's stay in one queue (a caller sent on to another queue has two)."""

    call: str
    queue: str
    entered: float
    outcome: str = "unfinished"  # answered, abandoned, left, callback, refused
    answered: float | None = None
    agent: str = ""
    talk: float | None = None  # None until the call ends
    wrapup: float = 0.0

    @property
    def wait(self) -> float | None:
        return None if self.answered is None else self.answered - self.entered


@dataclass(slots=True)
class Row:
    """The figures of one queue over one interval (or the whole day)."""

    start: float
    offered: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    left: int = 0
    total_wait: float = 0.0
    handled: int = 0
    total_handle: float = 0.0
    staffed: float = 0.0
    busy: float = 0.0

    @property
    def service_level(self) -> float | None:
        return self.answered_in_time / self.offered if self.offered else None

    @property
    def asa(self) -> float | None:
        return self.total_wait / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        return self.total_handle / self.handled if self.handled else None

    @property
    def occupancy(self) -> float | None:
        return self.busy / self.staffed if self.staffed else None

    def add(self, other: Row) -> None:
        for name in ("offered", "answered", "answered_in_time", "abandoned", "left", "total_wait",
                     "handled", "total_handle", "staffed", "busy"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_json(self) -> dict[str, Any]:
        return {
            "offered": self.offered, "answered": self.answered, "abandoned": self.abandoned,
            "left": self.left, "answered_within_threshold": self.answered_in_time,
            "service_level": self.service_level, "asa": self.asa, "aht": self.aht,
            "occupancy": self.occupancy,
        }  # fmt: skip


@dataclass
class Recorder:
    start: float
    interval: float
    end: float
    members: Mapping[str, set[str]]  # queue -> its member agents
    stays: list[Stay] = field(default_factory=list)
    refused: int = 0
    _open: dict[str, Stay] = field(default_factory=dict)  # call -> its current stay
    _handling: dict[str, Stay] = field(default_factory=dict)  # agent -> the stay it answered
    _since: dict[str, tuple[AgentState, float]] = field(default_factory=dict)
    _staffed: dict[str, defaultdict[int, float]] = field(default_factory=dict)
    _busy: dict[str, defaultdict[int, float]] = field(default_factory=dict)

    def record(self, event: ev.Event, commands: Sequence[cmd.Command]) -> None:
        for command in commands:
            if isinstance(command, cmd.QueueLog):
                self._line(command)
            elif isinstance(command, cmd.AgentStateChanged):
                self._agent(command, event.now)

    def _line(self, line: cmd.QueueLog) -> None:
        verb, call, now = line.verb, line.call, line.time
        if verb == "ENTERQUEUE":
            self._open[call] = Stay(call, line.queue, now)
            self.stays.append(self._open[call])
            return
        if verb in ("FULL", "JOINEMPTY"):
            self.refused += 1
            return
        stay = self._open.get(call)
        if stay is None:
            return
        if verb == "CONNECT":
            stay.answered, stay.agent, stay.outcome = now, line.agent, "answered"
            self._handling[line.agent] = stay
        elif verb in ("COMPLETECALLER", "COMPLETEAGENT"):
            stay.talk = now - (stay.answered or now)
            del self._open[call]
        elif verb in _ENDINGS:
            stay.outcome = _ENDINGS[verb]
            del self._open[call]
        elif verb == "INFO" and line.data[:1] == ("CALLBACK",):
            stay.outcome = "callback"

    def _agent(self, change: cmd.AgentStateChanged, now: float) -> None:
        agent = change.agent
        state, since = self._since.get(agent, (change.previous, now))
        self._account(agent, state, since, now)
        if state is AgentState.WRAP_UP and (stay := self._handling.get(agent)) is not None:
            stay.wrapup += now - since
        self._since[agent] = (change.state, now)

    def _account(self, agent: str, state: AgentState, since: float, until: float) -> None:
        """Spread ``[since, until)`` in ``state`` over the report intervals it overlaps."""
        if state not in _STAFFED:
            return
        staffed = self._staffed.setdefault(agent, defaultdict(float))
        busy = self._busy.setdefault(agent, defaultdict(float))
        low, high = max(since, self.start), min(until, self.end)
        while low < high:
            index = int((low - self.start) // self.interval)
            edge = min(high, self.start + (index + 1) * self.interval)
            staffed[index] += edge - low
            if state in _BUSY:
                busy[index] += edge - low
            low = edge

    def finish(self, now: float) -> None:
        """The run is over: close every agent's current state at ``now``."""
        for agent, (state, since) in self._since.items():
            self._account(agent, state, since, now)
        self._since = {agent: (state, now) for agent, (state, _) in self._since.items()}

    def staffed(self, agent: str) -> dict[int, tuple[float, float]]:
        """Per interval index, the agent's (staffed, busy) seconds."""
        busy: Mapping[int, float] = self._busy.get(agent, {})
        return {i: (s, busy.get(i, 0.0)) for i, s in self._staffed.get(agent, {}).items()}

    # -- the table -------------------------------------------------------------------------

    @property
    def intervals(self) -> int:
        return max(1, int(-(-(self.end - self.start) // self.interval)))

    def rows(self, queue: str, threshold: float) -> list[Row]:
        """One row per interval of the day for ``queue``."""
        rows = [Row(self.start + i * self.interval) for i in range(self.intervals)]
        for stay in self.stays:
            if stay.queue != queue:
                continue
            row = rows[min(int((stay.entered - self.start) // self.interval), len(rows) - 1)]
            row.offered += 1
            if stay.outcome == "answered" and stay.wait is not None:
                row.answered += 1
                row.total_wait += stay.wait
                row.answered_in_time += stay.wait <= threshold + 1e-9
                if stay.talk is not None:
                    row.handled += 1
                    row.total_handle += stay.talk + stay.wrapup
            elif stay.outcome == "abandoned":
                row.abandoned += 1
            elif stay.outcome == "left":
                row.left += 1
        for agent in self.members.get(queue, ()):
            for index, seconds in self._staffed.get(agent, {}).items():
                rows[index].staffed += seconds
            for index, seconds in self._busy.get(agent, {}).items():
                rows[index].busy += seconds
        return rows


def total(rows: Iterable[Row], start: float) -> Row:
    whole = Row(start)
    for row in rows:
        whole.add(row)
    return whole


def clock(moment: float, midnight: float) -> str:
    """``08:30``, or ``d2 08:30`` from the second day of a run on."""
    offset = moment - midnight
    day, seconds = divmod(round(offset), 86_400)
    text = f"{seconds // 3600:02}:{seconds % 3600 // 60:02}"
    return f"d{day + 1} {text}" if day else text


def _cell(value: float | None, scale: float = 1.0) -> str:
    return "-" if value is None else f"{value * scale:.0f}"


HEADER = (f"{'interval':<9}{'offered':>8}{'answered':>9}{'abandoned':>10}{'left':>5}"
          f"{'SL %':>6}{'ASA s':>7}{'AHT s':>7}{'occ %':>6}")  # fmt: skip


def render_row(label: str, row: Row) -> str:
    return (f"{label:<9}{row.offered:>8}{row.answered:>9}{row.abandoned:>10}{row.left:>5}"
            f"{_cell(row.service_level, 100):>6}{_cell(row.asa):>7}{_cell(row.aht):>7}"
            f"{_cell(row.occupancy, 100):>6}")  # fmt: skip


def as_date(midnight: float) -> str:
    return dt.datetime.fromtimestamp(midnight, dt.UTC).date().isoformat()
