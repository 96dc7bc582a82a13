"""The wallboard: its model from bus messages, and the supervisor console headless."""

from __future__ import annotations

from textual.widgets import DataTable, OptionList, Static

from callcenter.bus import topics
from callcenter.bus.client import Received
from callcenter.bus.schemas import (
    AgentCounts,
    AgentStateMessage,
    AlertMessage,
    BusMessage,
    CallConnectEvent,
    CallStateEvent,
    QueueStatsMessage,
    SupervisorAction,
    SupervisorCommand,
)
from callcenter.core.states import AgentState, CallState, CallTrigger
from console.resources import DeskResources
from console.supervisor_app import SupervisorConsole
from console.wallboard import Wallboard
from tests.console.conftest import rendered
from tests.console.fake_engine import T0, FakeEngine, FakeLink

SIZE = (150, 44)


def stats(queue: str, *, level: float | None, waiting: int = 0, at: float = T0,
          answered: int = 10) -> QueueStatsMessage:  # fmt: skip
    return QueueStatsMessage(
        queue=queue, at=at, waiting=waiting, longest_wait=65.0 if waiting else 0.0,
        offered=answered + 2, answered=answered, abandoned=2, service_level=level,
        average_speed_of_answer=12.0, agents=AgentCounts(ready=2, busy=3, paused=1, wrap_up=1),
    )  # fmt: skip


def state(
    agent: str, new: AgentState, old: AgentState, since: float, reason: str = ""
) -> AgentStateMessage:
    return AgentStateMessage(agent=agent, state=new, previous=old, since=since, reason=reason)


def waiting(call: str, queue: str, at: float, new: CallState = CallState.WAITING) -> CallStateEvent:
    return CallStateEvent(call=call, queue=queue, previous=CallState.WAITING, state=new,
                          trigger=CallTrigger.OFFER, at=at)  # fmt: skip


def test_wallboard_marks_changes_and_counts_calls() -> None:
    board = Wallboard(targets={"sales": 0.8})
    board.apply(stats("sales", level=0.9))
    board.apply(state("1001", AgentState.READY, AgentState.LOGGED_OUT, T0))
    assert board.take_dirty() == ({"sales"}, {"1001"})
    assert board.take_dirty() == (set(), set())
    board.apply(state("1001", AgentState.READY, AgentState.LOGGED_OUT, T0))  # retained again
    assert board.take_dirty() == (set(), set())
    board.apply(state("1001", AgentState.ON_CALL, AgentState.RINGING, T0 + 5))
    board.apply(state("1001", AgentState.WRAP_UP, AgentState.ON_CALL, T0 + 65))
    board.apply(state("1001", AgentState.ON_CALL, AgentState.RINGING, T0 + 90))
    assert board.agents["1001"].calls == 2
    assert board.agents["1001"].since == T0 + 90


def test_service_level_alert_once_until_recovered() -> None:
    board = Wallboard(targets={"sales": 0.8})
    board.apply(stats("sales", level=0.85))
    assert not board.alerts
    board.apply(stats("sales", level=0.7))
    board.apply(stats("sales", level=0.6))
    assert [(a.queue, a.value, a.target) for a in board.alerts] == [("sales", 0.7, 0.8)]
    board.apply(stats("sales", level=0.82))
    board.apply(stats("sales", level=0.75))
    assert len(board.alerts) == 2
    board.apply(stats("other", level=0.75))  # no target configured: the default 80 %
    assert len(board.alerts) == 3


def test_waiting_callers_from_call_events() -> None:
    board = Wallboard()
    board.apply(waiting("c1", "sales", T0))
    board.apply(waiting("c2", "sales", T0 + 3))
    board.apply(waiting("c1", "sales", T0 + 30))  # offered and back in line: keeps its wait
    assert board.waiting["c1"].since == T0
    board.apply(CallConnectEvent(call="c2", queue="sales", agent="1001", record=False, at=T0 + 9))
    assert list(board.waiting) == ["c1"]
    board.apply(waiting("c1", "sales", T0 + 40, CallState.DONE))
    assert not board.waiting
    assert board.waiting_changed


async def test_console_shows_the_floor_and_sends_supervisor_commands(
    resources: DeskResources,
) -> None:
    engine = FakeEngine("1001")
    link = FakeLink(engine)
    app = SupervisorConsole("supervisor", link, resources, endpoint="PJSIP/2001",
                            clock=lambda: T0 + 125)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for message in (
            stats("sales", level=0.9, waiting=3),
            state("1001", AgentState.ON_CALL, AgentState.RINGING, T0),
            state("1002", AgentState.PAUSED, AgentState.READY, T0 + 60, reason="lunch"),
            waiting("c7", "sales", T0 + 100),
        ):
            link.on_message(link_received(message))
        app.flush()
        await pilot.pause()
        queues = app.query_one("#wallboard-queues", DataTable)
        row = [str(cell) for cell in queues.get_row("sales")]
        assert row == ["产品购买咨询 Sales", "3", "1:05", "90%", "10", "2", "2", "3", "1", "1"]
        agents = app.query_one("#wallboard-agents", DataTable)
        assert [str(c) for c in agents.get_row("1001")] == [
            "1001", "张伟 Zhang Wei", "On call", "2:05", "1",
        ]  # fmt: skip
        assert str(agents.get_row("1002")[2]) == "Paused (用餐 Lunch)"
        # The queue falls below its target: an alert, and its SL cell in red.
        link.on_message(link_received(stats("sales", level=0.5, waiting=9)))
        app.flush()
        await pilot.pause()
        assert "sales: service level 50% below target 80%" in rendered(
            app.query_one("#alerts", Static)
        )
        assert str(queues.get_row("sales")[1]) == "9"
        # Listen to 1001, then force 1002 into a pause.
        agents.focus()
        agents.move_cursor(row=agents.get_row_index("1001"))
        await pilot.press("l")
        await pilot.pause()
        agents.move_cursor(row=agents.get_row_index("1002"))
        await pilot.press("p")
        await pilot.pause()
        choices = app.screen.query_one("#choices", OptionList)
        choices.highlighted = 0
        await pilot.press("enter")
        await pilot.pause()
        # Move the waiting caller to the VIP queue.
        app.query_one("#waiting", DataTable).focus()
        await pilot.press("m")
        await pilot.pause()
        choices = app.screen.query_one("#choices", OptionList)
        ids = [choices.get_option_at_index(i).id for i in range(choices.option_count)]
        choices.highlighted = ids.index("vip")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("r", "5", "enter")
        await pilot.pause()
        sent = [(c.action, c.params) for c in engine.commands if isinstance(c, SupervisorCommand)]
        first_reason = next(iter(resources.pause_reasons))
        assert sent == [
            (
                SupervisorAction.MONITOR,
                {"agent": "1001", "mode": "listen", "endpoint": "PJSIP/2001"},
            ),
            (SupervisorAction.FORCE_PAUSE, {"agent": "1002", "reason": first_reason}),
            (SupervisorAction.MOVE_CALL, {"call": "c7", "queue": "vip"}),
            (SupervisorAction.SET_PRIORITY, {"call": "c7", "priority": 5}),
        ]
        assert "monitor: done" in rendered(app.query_one("#alerts", Static))


async def test_engine_alerts_are_shown_literally(resources: DeskResources) -> None:
    link = FakeLink(FakeEngine("1001"))
    app = SupervisorConsole("supervisor", link, resources, lang="zh", clock=lambda: T0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        alert = AlertMessage(kind="surge", queue="sales", text="[blink]surge[/] ×3", at=T0)
        link.on_message(link_received(alert))
        app.flush()
        await pilot.pause()
        assert "sales: [blink]surge[/] ×3" in rendered(app.query_one("#alerts", Static))
        assert app.query_one("#wallboard-queues", DataTable).border_title == "队列"


def link_received(message: BusMessage) -> Received:
    if isinstance(message, AgentStateMessage):
        topic = topics.agent_state(message.agent)
    elif isinstance(message, QueueStatsMessage):
        topic = topics.queue_stats(message.queue)
    elif isinstance(message, CallStateEvent | CallConnectEvent):
        topic = topics.call_events(message.call)
    else:
        topic = topics.ALERTS
    parsed = topics.parse(topic)
    assert parsed is not None
    return Received(parsed, message, False)  # type: ignore[arg-type]


async def test_waiting_times_tick_and_a_lost_link_forgets_the_callers(
    resources: DeskResources,
) -> None:
    link = FakeLink(FakeEngine("1001"))
    now = [T0 + 10]
    app = SupervisorConsole("supervisor", link, resources, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        link.on_message(link_received(waiting("c7", "sales", T0)))
        app.flush()
        table = app.query_one("#waiting", DataTable)
        assert [str(c) for c in table.get_row("c7")] == ["c7", "sales", "0:10"]
        now[0] = T0 + 75
        app.flush()
        assert str(table.get_cell("c7", "time")) == "1:15"
        link.on_status(False)  # the bus went down: call events may have been missed
        app.flush()
        await pilot.pause()
        assert table.row_count == 0
        assert "reconnecting" in rendered(app.query_one("#state", Static))
