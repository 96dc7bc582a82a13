"""The alerts pane lays out only the newest alerts that fit, and more when it grows."""

from __future__ import annotations

from textual.widgets import Static

from callcenter.bus.schemas import AlertMessage
from console.resources import DeskResources
from console.supervisor_app import SupervisorConsole
from tests.console.conftest import rendered
from tests.console.fake_engine import T0, FakeEngine, FakeLink
from tests.console.test_supervisor_console import link_received


async def test_a_storm_of_alerts_shows_the_newest_that_fit(resources: DeskResources) -> None:
    link = FakeLink(FakeEngine("1001"))
    app = SupervisorConsole("supervisor", link, resources, clock=lambda: T0)
    async with app.run_test(size=(150, 30)) as pilot:
        await pilot.pause()
        for n in range(150):
            alert = AlertMessage(kind="surge", queue="sales", text=f"[b]surge[/] #{n:03d}", at=T0)
            link.on_message(link_received(alert))
        app.flush()
        await pilot.pause()
        pane = app.query_one("#alerts", Static)
        lines = [line for line in rendered(pane, width=200).splitlines() if line.strip()]
        assert lines[0].endswith("sales: [b]surge[/] #149")  # newest first, literally
        assert len(lines) == pane.content_region.height  # as many as fit, no more
        shown_before = len(lines)
        await pilot.resize_terminal(150, 44)  # a taller pane: older alerts come into view
        await pilot.pause()
        app.flush()
        await pilot.pause()
        lines = [line for line in rendered(pane, width=200).splitlines() if line.strip()]
        assert len(lines) == pane.content_region.height > shown_before
        assert lines[-1].endswith(f"#{150 - len(lines):03d}")
