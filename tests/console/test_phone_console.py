"""The agent console with ``--phone baresip``, driven headless against the fake engine and
the fake baresip: the state bar shows the phone's registration and call, F2 answers the
ringing phone, F3 refuses a call the engine does not know about, and closing the console
stops baresip."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from console.agent_app import AgentConsole
from console.dialogs import LoginDialog, QuitDialog
from console.main import agent_phone
from console.phone import CallPhase, PhoneError, PhoneSettings, Softphone
from console.resources import DeskResources
from console.widgets import Activity, StateBar
from tests.console.conftest import HOSTILE_NAME, rendered
from tests.console.fake_engine import PIN, T0, FakeEngine, FakeLink

HERE = Path(__file__).resolve().parent
SIZE = (130, 42)


@pytest.fixture
def fake_binary(tmp_path: Path) -> str:
    wrapper = tmp_path / "baresip"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_baresip.py"}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _console(resources: DeskResources, phone: Softphone, lang: str = "en") -> AgentConsole:
    link = FakeLink(FakeEngine("1001"))
    return AgentConsole(
        "1001", lambda pin: link, resources, lang=lang, clock=lambda: T0 + 75, phone=phone
    )


def _phone(binary: str, password: str = "pw-1001!") -> Softphone:  # noqa: S107 - a test's
    settings = PhoneSettings("1001", "127.0.0.1:5060", password, audio="null")
    return Softphone(settings, binary=binary, module_dir=Path("/nonexistent"))


async def _wait(pilot: Pilot[None], condition: object, within: float = 3.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():
            await pilot.pause(0.02)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _call(phone: Softphone) -> CallPhase:
    return phone.status.call  # a call, so that mypy does not narrow it between awaits


def _bar(app: AgentConsole) -> str:
    return rendered(app.main.query_one(StateBar), width=160)


async def test_the_state_bar_follows_the_phone_and_f2_answers_it(
    resources: DeskResources, fake_binary: str
) -> None:
    phone = _phone(fake_binary)
    app = _console(resources, phone)
    async with app.run_test(size=SIZE) as pilot:
        await _wait(pilot, lambda: "phone ready" in _bar(app))
        pid = phone.pid
        assert pid is not None
        assert isinstance(app.screen, LoginDialog)
        await pilot.press(*PIN, "enter")
        await pilot.pause()

        await phone.command("fake_ring", f"{HOSTILE_NAME}|sip:13800138000@127.0.0.1")
        await _wait(pilot, lambda: phone.status.call is CallPhase.RINGING)
        await pilot.pause()
        assert f"ringing: {HOSTILE_NAME}" in _bar(app)  # literally, brackets and all

        await pilot.press("f2")
        await _wait(pilot, lambda: "phone on call" in _bar(app))
        assert _call(phone) is CallPhase.UP

        await phone.command("fake_peer_hangup")
        await _wait(pilot, lambda: "phone ready" in _bar(app))
        await phone.command("fake_ring", "Anonymous|sip:anonymous@anonymous.invalid")
        await _wait(pilot, lambda: phone.status.call is CallPhase.RINGING)
        await pilot.press("f3")  # the engine offered nothing: the phone refuses the call
        await _wait(pilot, lambda: _call(phone) is CallPhase.IDLE)
        assert phone.status.reason == "Connection reset by user"
    assert not phone.running  # the console stopped its phone
    assert not _alive(pid)


async def test_a_refused_registration_shows_in_chinese(
    resources: DeskResources, fake_binary: str
) -> None:
    phone = _phone(fake_binary, password="wrong")
    app = _console(resources, phone, lang="zh")
    async with app.run_test(size=SIZE) as pilot:
        await _wait(pilot, lambda: "话机注册失败：401 Unauthorized" in _bar(app))


async def test_a_phone_that_cannot_start_is_reported_and_the_console_carries_on(
    resources: DeskResources, tmp_path: Path
) -> None:
    broken = tmp_path / "baresip"
    broken.write_text("#!/bin/sh\necho 'module ctrl_tcp.so: Address already in use'\nexit 1\n")
    broken.chmod(0o755)
    app = _console(resources, _phone(str(broken)))
    async with app.run_test(size=SIZE) as pilot:
        await _wait(
            pilot, lambda: any("Address already in use" in line for line in app.desk.activity)
        )
        assert "Phone: baresip exited at start" in rendered(app.main.query_one(Activity), width=300)
        assert "phone off" in _bar(app)
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert app.desk.logged_in


async def _call_up(pilot: Pilot[None], app: AgentConsole, phone: Softphone) -> int:
    """Log in and take a call on the console's phone; baresip's pid."""
    await _wait(pilot, lambda: "phone ready" in _bar(app))
    await pilot.press(*PIN, "enter")
    await pilot.pause()
    await phone.command("fake_ring", "Ann|sip:13800138000@127.0.0.1")
    await _wait(pilot, lambda: phone.status.call is CallPhase.RINGING)
    await pilot.press("f2")
    await _wait(pilot, lambda: _call(phone) is CallPhase.UP)
    assert phone.pid is not None
    return phone.pid


async def _asked_to_quit(pilot: Pilot[None], app: AgentConsole, phone: Softphone) -> int:
    """A call on the console's phone, then Ctrl+Q: the console asks; baresip's pid."""
    pid = await _call_up(pilot, app, phone)
    await pilot.press("ctrl+q")
    await _wait(pilot, lambda: isinstance(app.screen, QuitDialog))
    return pid


async def test_quitting_during_a_call_on_the_phone_waits_for_the_call_to_end(
    resources: DeskResources, fake_binary: str
) -> None:
    phone = _phone(fake_binary)
    app = _console(resources, phone)
    async with app.run_test(size=SIZE) as pilot:
        pid = await _asked_to_quit(pilot, app, phone)
        explained = " ".join(str(label.render()) for label in app.screen.query(Label))
        assert "quitting now hangs up the caller" in explained
        await pilot.press("escape")  # stay: nothing changes
        await _wait(pilot, lambda: not isinstance(app.screen, QuitDialog))
        assert app.return_code is None
        assert not app.quit_after_call
        await pilot.press("ctrl+q")
        await _wait(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.press("enter")  # the focused, safe choice: quit when the call ends
        await _wait(pilot, lambda: app.quit_after_call)
        await pilot.pause(0.3)
        assert app.return_code is None  # still running: the call goes on
        assert _call(phone) is CallPhase.UP
        assert _alive(pid)
        assert any("quits when the call ends" in line for line in app.desk.activity)
        await phone.command("fake_peer_hangup")  # the caller hangs up
        await _wait(pilot, lambda: app.return_code is not None)  # the console quits
    assert not phone.running  # the console quit and stopped its phone
    assert not _alive(pid)


@pytest.mark.parametrize("call", [True, False], ids=["hang-up-and-quit", "no-call"])
async def test_quitting_now_stops_the_phone_with_the_console(
    resources: DeskResources, fake_binary: str, call: bool
) -> None:
    phone = _phone(fake_binary)
    app = _console(resources, phone)
    async with app.run_test(size=SIZE) as pilot:
        if call:  # the agent chose to end the call with the console
            pid = await _asked_to_quit(pilot, app, phone)
            await pilot.click("#quit-now")
        else:  # no call: nothing to ask
            await _wait(pilot, lambda: "phone ready" in _bar(app))
            assert phone.pid is not None
            pid = phone.pid
            await pilot.press("ctrl+q")
        await _wait(pilot, lambda: app.return_code is not None)  # the console quits
    assert not phone.running
    assert not _alive(pid)


def test_the_command_line_builds_the_phone(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from console.main import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.setenv("CALLCENTER_SIP_PASSWORD", "from-env-1")
    assert agent_phone(parser.parse_args(["--agent", "1001"])) is None  # no --phone: none
    phone = agent_phone(
        parser.parse_args(["--agent", "1001", "--phone", "baresip", "--sip-server",
                           "10.0.0.5", "--audio-device", "null", "--auto-answer"])
    )  # fmt: skip
    assert phone is not None
    assert (phone.settings.user, phone.settings.server) == ("1001", "10.0.0.5")
    assert phone.settings.password == "from-env-1"
    assert phone.settings.auto_answer
    with pytest.raises(PhoneError):
        agent_phone(parser.parse_args(["--agent", "1001", "--phone", "baresip",
                                       "--audio-device", "alsa,x\nmodule httpd.so"]))  # fmt: skip
