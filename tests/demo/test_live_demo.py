"""`callcenter demo` runs the real processes: the simulated Asterisk with the traffic
driver, the engine with its embedded broker, and (interactive) the agent console.

Figures come from the store, as `callcenter report` computes them; the processes of a
run are found by the run's directory in their environment (`processes_of`)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from callcenter.core.states import AgentState
from callcenter.live_demo import (
    DemoError,
    Invitation,
    Options,
    build_console,
    build_wallboard,
    floor,
    run,
)
from callcenter.store import Store
from callcenter.store.reports import traffic
from tests.demo.conftest import REPO, processes_of


async def test_a_headless_run_prints_plausible_figures_and_leaves_nothing_behind(
    fast_scenario: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    out = io.StringIO()
    options = Options(scenario=fast_scenario, headless=True, duration=10.0, keep=workdir,
                      json=True, out=out, attach=tmp_path / "invitation.json")  # fmt: skip
    running = asyncio.create_task(run(options))
    seen: set[int] = set()
    for _ in range(200):  # the engine, the floor and the engine's broker come up
        await asyncio.sleep(0.1)
        seen.update(processes_of(workdir))
        if len(seen) >= 3 or running.done():
            break
    assert await running == 0
    assert len(seen) >= 3, f"expected engine, floor and broker processes, saw {seen}"
    assert processes_of(workdir) == []
    summary = json.loads(out.getvalue().splitlines()[-1])
    assert summary["offered"] > 0
    assert summary["answered"] > 0
    assert summary["answered"] + summary["abandoned"] <= summary["offered"]
    assert 0.0 <= summary["service_level"] <= 1.0
    assert summary["asa"] >= 0.0
    assert [queue["name"] for queue in summary["queues"]] == ["sales"]
    assert summary["queues"][0]["offered"] == summary["offered"]
    # The figures are the store's; the floor wrote each arrival as dnis_route does, so
    # the report per campaign counts the same callers.
    async with await Store.open(workdir / "demo.db", migrate=False) as store:
        campaigns = await traffic(store, 0.0, 4e9, by="campaign")
    assert [(row.key, row.offered) for row in campaigns] == [("packaging", summary["offered"])]


async def test_the_console_logs_agent_1001_in_and_pops_an_offer(
    fast_scenario: Path, tmp_path: Path
) -> None:
    options = Options(scenario=fast_scenario, keep=tmp_path / "run",
                      attach=tmp_path / "invitation.json")  # fmt: skip
    async with floor(options) as running:
        app = build_console(running, options)

        async def until(what: Callable[[], object], limit: float) -> None:
            deadline = time.monotonic() + limit
            while not what() and time.monotonic() < deadline:
                await pilot.pause(0.05)

        def state() -> AgentState | None:
            return app.desk.state

        async with app.run_test(size=(130, 42)) as pilot:
            await pilot.pause()
            await pilot.press(*"1001", "enter")
            await until(lambda: app.desk.offer is not None, 20)
            assert state() in (AgentState.RINGING, AgentState.ON_CALL)
            assert app.desk.offer is not None
            assert app.desk.offer.queue == "sales"
            assert app.desk.offer.ivr_path  # came through the main menu, key 1
            await until(lambda: state() is AgentState.ON_CALL, 10)  # the phone picks up
            assert state() is AgentState.ON_CALL
            await pilot.press("f3")  # hang up: the engine's call control on the simulator
            await until(lambda: state() is AgentState.WRAP_UP, 5)
            assert state() is AgentState.WRAP_UP
    assert processes_of(tmp_path / "run") == []


def test_a_killed_demo_takes_its_processes_with_it(fast_scenario: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    command = [sys.executable, "-m", "callcenter.cli", "demo", "--headless", "--duration", "60",
               "--scenario", str(fast_scenario), "--keep", str(workdir)]  # fmt: skip
    # Its invitation for a wallboard goes to the test's directory, not the user's.
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)}
    demo = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert demo.stdout is not None
        assert "callcenter demo:" in demo.stdout.readline()  # up and running
        assert len(processes_of(workdir)) >= 3
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait()
        deadline = time.monotonic() + 15
        while processes_of(workdir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(workdir) == []
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


async def test_a_supervisor_joins_the_running_demo_on_the_wallboard(
    fast_scenario: Path, tmp_path: Path
) -> None:
    invitation = tmp_path / "invitation.json"
    options = Options(scenario=fast_scenario, headless=True, keep=tmp_path / "run",
                      attach=invitation)  # fmt: skip
    async with floor(options):
        assert invitation.stat().st_mode & 0o777 == 0o600  # it holds a password
        app = build_wallboard(options)
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + 20
            board = app.board
            while time.monotonic() < deadline and not (
                "sales" in board.queues
                and any(row.state is AgentState.ON_CALL for row in board.agents.values())
            ):
                await pilot.pause(0.05)
            assert "sales" in board.queues, "no queue figures reached the wallboard"
            assert {"1001", "1002", "1003"} <= set(board.agents)
            assert any(row.state is AgentState.ON_CALL for row in board.agents.values())
    assert not invitation.exists()  # the demo took its invitation back
    with pytest.raises(DemoError, match="no demo is running"):
        build_wallboard(options)


def test_an_invitation_someone_else_left_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "invitation.json"
    invitation = Invitation("127.0.0.1", 1883, "secret", 0.0, str(tmp_path))
    with invitation.posted(path):
        assert Invitation.read(path) == invitation
        if os.getuid() != 0:
            pytest.skip("only root can hand the file to another user")
        os.chown(path, 4242, -1)
        assert Invitation.read(path) is None  # planted in a shared directory: not trusted
    dead = Invitation("127.0.0.1", 1883, "secret", 0.0, str(tmp_path), pid=2**22 + 1)
    with dead.posted(path):
        assert Invitation.read(path) is None  # its demo is gone
