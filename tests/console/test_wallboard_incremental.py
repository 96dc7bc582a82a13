"""The wallboard drawn change by change shows what one drawn once from the same messages shows.

The console redraws only what changed, and only on screen: rows off screen stay stale
until scrolled to, unchanged cells are left alone, waiting callers are removed and
added in place. Random sequences of bus messages (agents changing state with hostile
pause reasons, queue stats, callers waiting, leaving, moving queue, arriving out of
order) are applied to one console with frames and scrolling at random points, and all
at once to another that draws a single frame; once every page of the first has been
seen, every table holds the same cells (text and style) as the second's.
"""

from __future__ import annotations

import random

import pytest
from textual.pilot import Pilot

from callcenter.bus.schemas import (
    AgentCounts,
    AgentStateMessage,
    BusMessage,
    CallConnectEvent,
    CallStateEvent,
    QueueStatsMessage,
)
from callcenter.core.states import AgentState, CallState, CallTrigger
from console.live_table import LiveTable
from console.resources import DeskResources
from console.supervisor_app import SupervisorConsole
from tests.console.fake_engine import T0, FakeEngine, FakeLink
from tests.console.test_supervisor_console import link_received

SIZE = (150, 30)  # about ten agent rows on screen: most of the floor is off screen
AGENTS = [f"{1000 + n}" for n in range(45)]
QUEUES = ["sales", "support", "vip", *(f"q{n:02d}" for n in range(12))]
REASONS = ("lunch", "training", "[bold]x[/]", "\x1b[31mred")
TABLES = ("#wallboard-queues", "#wallboard-agents", "#waiting")


class _Floor:
    """A random floor's messages, with the time each one is sent."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = T0
        self.waiting: dict[str, str] = {}  # call -> queue
        self.serial = 0

    def next(self) -> BusMessage:
        rng = self.rng
        self.now += rng.uniform(0, 2)
        roll = rng.random()
        if roll < 0.5:
            state = rng.choice(list(AgentState))
            reason = rng.choice(REASONS) if state is AgentState.PAUSED else ""
            return AgentStateMessage(agent=rng.choice(AGENTS), state=state,
                                     previous=AgentState.READY, since=self.now - rng.uniform(0, 90),
                                     reason=reason)  # fmt: skip
        if roll < 0.75:
            waiting = rng.randint(0, 9)
            return QueueStatsMessage(
                queue=rng.choice(QUEUES), at=self.now, waiting=waiting,
                longest_wait=rng.uniform(0, 300) if waiting else 0.0, offered=rng.randint(10, 99),
                answered=rng.randint(0, 10), abandoned=rng.randint(0, 5),
                service_level=rng.choice((None, rng.random())), average_speed_of_answer=9.0,
                agents=AgentCounts(ready=rng.randint(0, 5), busy=rng.randint(0, 9),
                                   paused=rng.randint(0, 3), wrap_up=rng.randint(0, 3)),
            )  # fmt: skip
        if roll < 0.88 or not self.waiting:  # a caller joins (at times reported late)
            self.serial += 1
            call = f"c{self.serial}"
            self.waiting[call] = rng.choice(QUEUES)
            return self._call(call, CallState.WAITING, self.now - rng.choice((0, 0, 0, 40)))
        call = rng.choice(sorted(self.waiting))
        if roll < 0.92:  # moved to another queue: still waiting, since its first event
            self.waiting[call] = rng.choice(QUEUES)
            return self._call(call, CallState.WAITING, self.now)
        queue = self.waiting.pop(call)
        if roll < 0.96:
            return CallConnectEvent(call=call, queue=queue, agent=rng.choice(AGENTS),
                                    record=False, at=self.now)  # fmt: skip
        return self._call(call, CallState.DONE, self.now, queue=queue)

    def _call(self, call: str, state: CallState, at: float, queue: str = "") -> CallStateEvent:
        return CallStateEvent(call=call, queue=queue or self.waiting[call],
                              previous=CallState.WAITING, state=state,
                              trigger=CallTrigger.OFFER, at=at)  # fmt: skip


async def _see_every_page(app: SupervisorConsole, pilot: Pilot[None]) -> None:
    for table_id in TABLES:
        table = app.query_one(table_id, LiveTable)
        step = max(table.size.height - 2, 1)
        for y in range(0, table.row_count + step, step):
            table.scroll_to(y=y, animate=False)
            await pilot.pause()
            app.flush()
        await pilot.pause()


def _contents(app: SupervisorConsole) -> dict[str, object]:
    shown: dict[str, object] = {}
    for table_id in TABLES:
        table = app.query_one(table_id, LiveTable)
        shown[table_id] = {
            key.value: [(cell.plain, str(cell.style)) for cell in table.get_row(key)]
            for key in table.rows
        }
    waiting = app.query_one("#waiting", LiveTable)
    shown["waiting order"] = [row.key.value for row in waiting.ordered_rows]
    return shown


@pytest.mark.parametrize("seed", [11, 12, 13])
async def test_frames_of_changes_show_what_one_frame_shows(
    resources: DeskResources, seed: int
) -> None:
    floor = _Floor(random.Random(seed))
    messages = [(floor.next(), floor.now) for _ in range(300)]
    now = [T0]
    rng = random.Random(seed)

    live_link = FakeLink(FakeEngine("1001"))
    live = SupervisorConsole("supervisor", live_link, resources, clock=lambda: now[0])
    async with live.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for message, at in messages:
            now[0] = at
            live_link.on_message(link_received(message))
            if rng.random() < 0.12:  # a frame, the supervisor scrolls now and then
                if rng.random() < 0.3:
                    table = live.query_one(rng.choice(TABLES), LiveTable)
                    table.scroll_to(y=rng.randrange(table.row_count + 1), animate=False)
                    await pilot.pause()
                live.flush()
                await pilot.pause()
        live.flush()
        await _see_every_page(live, pilot)
        drawn_in_frames = _contents(live)

    once_link = FakeLink(FakeEngine("1001"))
    once = SupervisorConsole("supervisor", once_link, resources, clock=lambda: now[0])
    async with once.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for message, _ in messages:
            once_link.on_message(link_received(message))
        once.flush()
        await _see_every_page(once, pilot)
        drawn_once = _contents(once)

    assert drawn_in_frames == drawn_once
    agents = drawn_once["#wallboard-agents"]
    assert isinstance(agents, dict)
    assert set(agents) == {m.agent for m, _ in messages if isinstance(m, AgentStateMessage)}
    texts = [plain for row in agents.values() for plain, _ in row]
    assert any("[bold]x[/]" in text for text in texts)  # markup shown as written
    assert not any("\x1b" in text for text in texts)  # no terminal escape reaches the screen
