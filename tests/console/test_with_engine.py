"""The agent console and the wallboard against the real engine on the simulated Asterisk,
over the embedded broker (``tests/engine/bus_rig.py``): what an agent and a supervisor
see and do on a real call, from login to disposition.

The rig's call control is its ``FakeControl`` (it records what the engine asked, by
agent); the call itself, the offer, the states and the wrap-up are the engine's own.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Select, TextArea

from callcenter.bus.client import BusSettings
from callcenter.core.states import AgentState
from callcenter.store.tickets import create_ticket, follow_up
from console.agent_app import AgentConsole
from console.link import BusLink
from console.resources import load_resources
from console.supervisor_app import SupervisorConsole
from console.widgets import Figures, ScreenPop
from sim import Answer, CallerId
from tests.console.conftest import HOSTILE_NAME, rendered
from tests.engine.bus_rig import PINS, SUPERVISOR, BusRig, bus_rig

SIZE = (130, 42)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[BusRig]:
    async with bus_rig(tmp_path) as built:
        yield built


async def until(pilot: Pilot[None], what: Callable[[], object], limit: float = 5.0) -> None:
    for _ in range(int(limit / 0.05)):
        if what():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"still false after {limit} s")


def agent_state(app: AgentConsole) -> AgentState | None:
    return app.desk.state


async def test_a_call_from_login_to_disposition(rig: BusRig, tmp_path: Path) -> None:
    await rig.store.upsert_customer("5551234", name="Ann Li", vip=True, notes="[b]VIP[/b]")
    await rig.store.upsert_interaction(
        "past-1", caller_number="5551234", arrived_at=1_700_000_000.0, queue="sales",
        agent="1002", disposition="resolved", notes="refund [red]promised[/red]",
    )  # fmt: skip
    rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.3))
    resources = load_resources(tmp_path / "conf")
    bus = rig.bus

    def connect(pin: str) -> BusLink:
        return BusLink.for_agent(BusSettings(bus.host, bus.port, "1001", pin), "1001")

    app = AgentConsole("1001", connect, resources)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(*PINS["1001"], "enter")
        await until(pilot, lambda: agent_state(app) is AgentState.READY)
        caller = rig.ast.inject_caller(
            "800", caller=CallerId(HOSTILE_NAME, "5551234"), args=("inbound", "800")
        )
        await until(pilot, lambda: app.desk.offer is not None and app.desk.offer.history)
        pop = rendered(app.query_one(ScreenPop), width=110)
        assert HOSTILE_NAME in pop
        assert "[b]VIP[/b]" in pop
        assert "refund [red]promised[/red]" in pop
        await until(pilot, lambda: agent_state(app) is AgentState.ON_CALL)  # the phone answered
        await pilot.press("f4")
        await until(pilot, lambda: app.desk.on_hold)
        assert rig.control.done[-1] == ("hold", "1001", caller.id)
        rig.ast.remote_hangup(caller.id)
        await until(pilot, lambda: agent_state(app) is AgentState.WRAP_UP)
        assert not app.desk.on_hold
        app.query_one("#disposition", Select).value = "resolved"
        app.query_one("#notes", TextArea).text = "call back <Monday>"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: agent_state(app) is AgentState.READY)
        # The figures come from the store through the engine, shortly after the change.
        await until(pilot, lambda: app.desk.figures is not None and app.desk.figures.calls == 1)
    await rig.engine.idle()
    await rig.writer.flush()
    interaction = await rig.store.get_interaction(caller.id)
    assert interaction is not None
    assert (interaction.disposition, interaction.notes) == ("resolved", "call back <Monday>")


async def test_the_wallboard_follows_the_floor(rig: BusRig, tmp_path: Path) -> None:
    resources = load_resources(tmp_path / "conf")
    bus = rig.bus
    user, password = SUPERVISOR
    link = BusLink.for_supervisor(BusSettings(bus.host, bus.port, user, password), user)
    app = SupervisorConsole(user, link, resources)
    async with rig.console("1001") as ann:
        assert (await ann.command("login", pin=PINS["1001"])).ok
        async with app.run_test(size=SIZE) as pilot:
            agents = app.query_one("#wallboard-agents", DataTable)
            queues = app.query_one("#wallboard-queues", DataTable)

            def state_shown() -> str:
                return str(agents.get_row("1001")[2]) if "1001" in agents.rows else ""

            await until(pilot, lambda: state_shown() == "Ready")  # retained: seen at once
            await until(pilot, lambda: "sales" in queues.rows)
            assert (await ann.command("pause", reason="lunch")).ok
            await until(pilot, lambda: state_shown() == "Paused (Lunch)")


async def test_a_pending_complaint_pops_and_the_figures_survive_restarts(tmp_path: Path) -> None:
    """The open ticket reaches the pop from the store; the day's figures come from the
    store too, so a new console, and then a restarted engine, show the same day."""

    def console(rig: BusRig) -> AgentConsole:
        bus = rig.bus

        def connect(pin: str) -> BusLink:
            return BusLink.for_agent(BusSettings(bus.host, bus.port, "1001", pin), "1001")

        return AgentConsole("1001", connect, load_resources(tmp_path / "conf"))

    def calls(app: AgentConsole) -> int | None:
        return app.desk.figures.calls if app.desk.figures is not None else None

    def counted_since_ready(app: AgentConsole) -> bool:
        """Figures counted after the agent's latest change (not an earlier answer's)."""
        figures = app.desk.figures
        return figures is not None and figures.end >= app.desk.since

    async with bus_rig(tmp_path) as rig:
        ticket = await create_ticket(
            rig.store, department="quality", summary="[b]broken[/b] on arrival", actor="1002",
            at=rig.engine.now() - 3600, customer="5551234",
        )  # fmt: skip
        await follow_up(rig.store, ticket, text="replacement <promised>", actor="1002",
                        at=rig.engine.now() - 60)  # fmt: skip
        rig.ast.endpoints.set("PJSIP/1001", Answer(after=0.5))
        app = console(rig)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press(*PINS["1001"], "enter")
            await until(pilot, lambda: agent_state(app) is AgentState.READY)
            await until(pilot, lambda: calls(app) == 0)  # asked on connecting: a fresh day
            caller = rig.ast.inject_caller("800", caller=CallerId("Ann", "5551234"),
                                           args=("inbound", "800"))  # fmt: skip
            await until(pilot, lambda: app.desk.offer is not None and app.desk.offer.open_tickets)
            assert agent_state(app) is AgentState.RINGING  # the agent sees it before answering
            pop = rendered(app.query_one(ScreenPop), width=140)
            assert "Open complaints (1)" in pop
            assert f"#{ticket}" in pop
            assert "note: replacement <promised>" in pop
            await until(pilot, lambda: agent_state(app) is AgentState.ON_CALL)
            await pilot.pause(1.0)
            rig.ast.remote_hangup(caller.id)
            await until(pilot, lambda: agent_state(app) is AgentState.WRAP_UP)
            app.query_one("#disposition", Select).value = "resolved"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: agent_state(app) is AgentState.READY)
            await until(pilot, lambda: counted_since_ready(app))
            assert app.desk.figures is not None
            assert app.desk.figures.calls == 1
            talk = app.desk.figures.talk_time
            assert talk >= 1.0  # the call lasted the second paused above
        again = console(rig)  # the console restarted: the engine kept the agent logged in
        async with again.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press(*PINS["1001"], "enter")
            await until(pilot, lambda: calls(again) == 1)
    async with bus_rig(tmp_path) as rig:  # the engine restarted, on the same store
        after = console(rig)
        async with after.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press(*PINS["1001"], "enter")
            await until(pilot, lambda: calls(after) == 1)
            assert after.desk.figures is not None
            assert after.desk.figures.talk_time == talk  # the same day, from the same store
            after.query_one("#tabs").active = "tab-figures"  # type: ignore[attr-defined]
            await pilot.pause()
            assert re.search(r"Calls\s+1\n", rendered(after.query_one(Figures)))
