"""SVG snapshots of the key screens: agent idle, screen pop, wrap-up, wallboard.

Each test drives the real app to the screen, exports it with Textual's
``export_screenshot()`` and compares it with ``snapshots/<name>.svg``. After an
intended change of a screen, look at the new picture and update the files with

    CALLCENTER_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/console/test_snapshots.py

(a missing file is written the same way, and the test then fails once, so a new
snapshot is always looked at before it is committed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Select

from callcenter.bus.schemas import AgentCounts, PastContact, QueueStatsMessage
from callcenter.config.models import Script
from callcenter.core.states import AgentState
from console.agent_app import AgentConsole
from console.resources import DeskResources
from console.supervisor_app import SupervisorConsole
from tests.console.conftest import HOSTILE_NAME
from tests.console.fake_engine import PIN, T0, FakeEngine, FakeLink
from tests.console.test_supervisor_console import link_received, state

SNAPSHOTS = Path(__file__).with_name("snapshots")
UPDATE = os.environ.get("CALLCENTER_UPDATE_SNAPSHOTS") == "1"
SIZE = (120, 36)


@pytest.fixture
def resources() -> DeskResources:
    """Fixed here, not read from queues/: a sample edit must not change the pictures."""
    return DeskResources(
        pause_reasons={"break": "小休 Short break", "lunch": "用餐 Lunch"},
        dispositions={"resolved": "已解决 Resolved", "info-given": "咨询已答复 Information given"},
        departments={"quality": "质量管理部 Quality"},
        scripts={
            "greeting": Script(label="标准开场白 Greeting", text="您好 Hello"),
            "returns": Script(
                label="退换货政策 Return policy", text="7天 7 days", queues=("sales",)
            ),
        },
        queue_labels={
            "sales": "产品购买咨询 Sales",
            "support": "产品使用指导 Product use",
            "vip": "VIP 会员专线 VIP line",
        },
        agent_names={
            "1001": "张伟 Zhang Wei",
            "1002": "王芳 Wang Fang",
            "1003": "李娜 Li Na",
            "1004": "刘洋 Liu Yang",
        },
        service_level_targets={"sales": 0.8, "support": 0.8, "vip": 0.9},
    )


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times on screen are local times: pin the zone so the pictures are the same anywhere."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def check(app: App[None], name: str) -> None:
    svg = app.export_screenshot(title=name)
    path = SNAPSHOTS / f"{name}.svg"
    if UPDATE or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"{path} was missing and has been written: look at it, then commit it")
        return
    assert svg == path.read_text(encoding="utf-8"), (
        f"{name} changed: see the module docstring to update {path.name}"
    )


def _agent(resources: DeskResources) -> tuple[AgentConsole, FakeLink, FakeEngine]:
    engine = FakeEngine("1001")
    link = FakeLink(engine)
    app = AgentConsole("1001", lambda pin: link, resources, clock=lambda: T0 + 75)
    app.animation_level = "none"  # no tab underline caught mid-slide
    return app, link, engine


async def test_agent_idle(resources: DeskResources) -> None:
    app, _, _ = _agent(resources)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert app.desk.state is AgentState.READY
        check(app, "agent_idle")


async def test_agent_screen_pop_and_wrap_up(resources: DeskResources) -> None:
    app, link, engine = _agent(resources)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        past = PastContact(call="c0", at=T0 - 86400, queue="support", agent="1003",
                           disposition="resolved", notes="换货 [b]done[/b]")  # fmt: skip
        offer = engine.offer(
            "c1", queue="sales", caller_number="13800138000", caller_name=HOSTILE_NAME,
            vip=True, tags=["回头客", "[red]x[/]"], ivr_path=["hotline-main", "1"], waited=42,
            history=[past],
        )  # fmt: skip
        link.push(*offer)
        await pilot.pause()
        check(app, "agent_screen_pop")
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert app.desk.state is AgentState.WRAP_UP
        app.query_one("#tabs").active = "tab-wrap"  # type: ignore[attr-defined]
        app.query_one("#disposition", Select).value = "resolved"
        await pilot.pause()
        await pilot.pause()
        check(app, "agent_wrap_up")


async def test_wallboard(resources: DeskResources) -> None:
    link = FakeLink(FakeEngine("1001"))
    app = SupervisorConsole("supervisor", link, resources, clock=lambda: T0 + 125)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for index, queue in enumerate(("sales", "support", "vip")):
            stats = QueueStatsMessage(
                queue=queue, at=T0, waiting=index * 2, longest_wait=30.0 * index,
                offered=40, answered=36 - index * 8, abandoned=index,
                service_level=0.95 - 0.2 * index,
                average_speed_of_answer=9.0, agents=AgentCounts(ready=3 - index, busy=4, paused=1),
            )  # fmt: skip
            link.on_message(link_received(stats))
        for number, agent_state in enumerate(
            (AgentState.READY, AgentState.ON_CALL, AgentState.PAUSED, AgentState.WRAP_UP)
        ):
            agent = f"100{number + 1}"
            reason = "lunch" if agent_state is AgentState.PAUSED else ""
            message = state(agent, agent_state, AgentState.READY, T0 + 10 * number, reason)
            link.on_message(link_received(message))
        app.flush()
        await pilot.pause()
        check(app, "wallboard")
