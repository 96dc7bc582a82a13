"""The agent's softphone (:mod:`console.phone`) on a real Asterisk: baresip, started and driven
by the console's code, registers to the repository's PJSIP agent templates, answers the
engine's call to ``PJSIP/1001`` (automatically or on request), sends DTMF and holds, and
either side hangs up; and the agent console itself (engine faked) answers it with F2.

A private Asterisk of its own (the session's instance must keep "no endpoints shipped"):
the repository's configuration plus a ``pjsip_agents.conf`` made from
``asterisk-conf/pjsip_agents.conf.example`` (``[1001]`` with a generated password full of
the characters both ends accept), the PJSIP transport on a free loopback port. Skipped
with the reason when Asterisk or baresip (apt-get ``baresip-core``, installed here when
root) is missing.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ari_app.client import AriClient, AriEvent
from console.agent_app import AgentConsole
from console.phone import (
    CallPhase,
    PhoneError,
    PhoneSettings,
    Registration,
    Softphone,
    ensure_baresip,
)
from console.resources import load_resources
from console.widgets import StateBar
from tests.asterisk.ari import AriCredentials, EventLog, stasis_app
from tests.asterisk.rig import (
    REPO,
    SHIPPED_CONF,
    Asterisk,
    Overlay,
    RigUnavailable,
    find_binary,
)
from tests.console.conftest import rendered
from tests.console.fake_engine import PIN, FakeEngine, FakeLink

pytestmark = pytest.mark.asterisk

APP = "cc-test-phone"
# Every character class the phone's settings allow, so quoting is proven end to end.
PASSWORD = f"Ag{secrets.token_hex(8)}!#$%&'()*+,-./:=?@[]^_`{{|}}~"


def _agents_conf() -> str:
    """The shipped example's [1001] block with a real password."""
    example = (SHIPPED_CONF / "pjsip_agents.conf.example").read_text()
    block = example[example.index("[1001](agent-endpoint)") : example.index("[1002]")]
    assert "REPLACE-WITH-A-SECRET" in block
    return block.replace("REPLACE-WITH-A-SECRET", PASSWORD)


def _skip(reason: str) -> None:
    print(f"skipping the softphone tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def baresip() -> str:
    if find_binary() is None:  # nothing to register to: do not install baresip for nothing
        _skip("no Asterisk binary: set CALLCENTER_ASTERISK or install Asterisk")
    try:
        return ensure_baresip()
    except PhoneError as exc:
        _skip(str(exc))
        raise


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory, baresip: str) -> Iterator[Asterisk]:
    binary = find_binary()
    if binary is None:
        _skip("no Asterisk binary: set CALLCENTER_ASTERISK or install Asterisk")
        raise AssertionError  # (not reached)
    instance = Asterisk(binary, tmp_path_factory.mktemp("asterisk-phone"), Overlay())
    instance.prepare()
    agents = instance.etc / "pjsip_agents.conf"
    agents.touch(mode=0o600)
    agents.write_text(_agents_conf())
    try:
        instance.start()
    except RigUnavailable as exc:
        tail = instance.log_tail()
        instance.stop()
        _skip(f"private Asterisk did not start: {exc}\n{tail}")
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The agent's "microphone": 20 s of silence read by baresip's aufile. baresip sends
    RTP, and the RFC 4733 DTMF inside it, only as its audio source delivers frames, and
    ends the call when the file ends."""
    path = tmp_path_factory.mktemp("voice") / "agent.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 8000 * 20)
    return f"aufile,{path}"


@pytest.fixture
async def ari(pbx: Asterisk) -> AsyncIterator[tuple[AriClient, EventLog]]:
    credentials = AriCredentials(pbx.ari_url, pbx.ari_user, pbx.ari_password)
    async with stasis_app(credentials, APP) as registered:
        yield registered


def _settings(pbx: Asterisk, **changes: object) -> PhoneSettings:
    values: dict[str, object] = {
        "user": "1001",
        "server": f"127.0.0.1:{pbx.sip_port}",
        "password": PASSWORD,
        "audio": "null",
    }
    values.update(changes)
    return PhoneSettings(**values)  # type: ignore[arg-type]


async def _until(condition: object, within: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a condition, not an event
            await asyncio.sleep(0.02)


async def _endpoint_state(client: AriClient) -> str:
    return (await client.endpoints.get("PJSIP", "1001")).state or ""


async def _wait_endpoint(client: AriClient, state: str) -> None:
    async with asyncio.timeout(5):
        while await _endpoint_state(client) != state:  # noqa: ASYNC110 - polling ARI
            await asyncio.sleep(0.05)


async def test_the_phone_registers_and_unregisters_when_stopped(
    pbx: Asterisk, baresip: str, ari: tuple[AriClient, EventLog]
) -> None:
    client, _ = ari
    phone = Softphone(_settings(pbx), binary=baresip)
    await phone.start()
    try:
        await _until(lambda: phone.status.registration is Registration.REGISTERED)
        contacts = pbx.run_cli("pjsip show contacts").stdout
        # baresip 1.0.0 registers the contact user as "<user>-0x<address>"
        found = r"Contact:\s+1001/sip:1001-0x[0-9a-f]+@127\.0\.0\.1:\d+\s+\w+\s+Avail"
        assert re.search(found, contacts), contacts
        await _wait_endpoint(client, "online")
    finally:
        await phone.stop()
    # quit unregisters: Asterisk forgets the contact at once (no waiting for expiry).
    await _wait_endpoint(client, "offline")
    assert "1001/sip:" not in pbx.run_cli("pjsip show contacts").stdout


async def test_a_wrong_password_is_reported_as_refused(pbx: Asterisk, baresip: str) -> None:
    async with Softphone(_settings(pbx, password="not-the-password"), binary=baresip) as phone:
        await _until(lambda: phone.status.registration is Registration.FAILED)
        assert phone.status.reason.startswith("401")


async def test_auto_answer_dtmf_hold_and_the_engine_hanging_up(
    pbx: Asterisk, baresip: str, voice: str, ari: tuple[AriClient, EventLog]
) -> None:
    client, events = ari
    settings = _settings(pbx, auto_answer=True, audio=voice)
    async with Softphone(settings, binary=baresip) as phone:
        await _until(lambda: phone.status.registration is Registration.REGISTERED)
        channel = f"agent-{secrets.token_hex(4)}"
        await client.channels.originate("PJSIP/1001", app=APP, channel_id=channel,
                                        caller_id='"Li Na" <13800138000>')  # fmt: skip
        await events.wait_for(events.of("StasisStart", channel))  # answered: in the app
        assert (await client.channels.get(channel)).state == "Up"
        await _until(lambda: phone.status.call is CallPhase.UP)
        assert phone.status.peer == "Li Na"

        await phone.dtmf("1#")
        for digit in "1#":  # RFC 4733 events in the RTP stream, in order

            def pressed(event: AriEvent, digit: str = digit) -> bool:
                return event.type == "ChannelDtmfReceived" and getattr(event, "digit", "") == digit

            await events.wait_for(pressed)
        await phone.hold()  # a re-INVITE: Asterisk reports the hold (sip_phone_hold.md)
        await events.wait_for(events.of("ChannelHold", channel))
        await phone.resume()
        await events.wait_for(events.of("ChannelUnhold", channel))

        await client.channels.hangup(channel)
        await _until(lambda: phone.status.call is CallPhase.IDLE)
        assert "peer" in phone.status.reason  # "Connection reset by peer"


async def test_manual_answer_then_the_agent_hangs_up(
    pbx: Asterisk, baresip: str, ari: tuple[AriClient, EventLog]
) -> None:
    client, events = ari
    async with Softphone(_settings(pbx), binary=baresip) as phone:
        await _until(lambda: phone.status.registration is Registration.REGISTERED)
        channel = f"agent-{secrets.token_hex(4)}"
        await client.channels.originate("PJSIP/1001", app=APP, channel_id=channel,
                                        caller_id='"[bold]x" <13800138000>')  # fmt: skip
        await _until(lambda: phone.status.call is CallPhase.RINGING)
        assert phone.status.peer == "[bold]x"
        assert (await client.channels.get(channel)).state == "Ringing"
        await phone.answer()
        await events.wait_for(events.of("StasisStart", channel))
        await _until(lambda: phone.status.call is CallPhase.UP)

        await phone.hangup()
        await events.wait_for(events.of("StasisEnd", channel))
        assert phone.status.call is CallPhase.IDLE


async def test_a_ringing_call_refused_on_the_phone_ends_the_originate(
    pbx: Asterisk, baresip: str, ari: tuple[AriClient, EventLog]
) -> None:
    client, events = ari
    async with Softphone(_settings(pbx), binary=baresip) as phone:
        await _until(lambda: phone.status.registration is Registration.REGISTERED)
        channel = f"agent-{secrets.token_hex(4)}"
        await client.channels.originate("PJSIP/1001", app=APP, channel_id=channel)
        await _until(lambda: phone.status.call is CallPhase.RINGING)
        await phone.hangup()  # 486 to Asterisk
        destroyed = await events.wait_for(events.of("ChannelDestroyed", channel))
        assert getattr(destroyed, "cause", None) in (17, 21)  # user busy / call rejected
        assert phone.status.call is CallPhase.IDLE


async def test_the_agent_console_answers_the_real_phone_with_f2(
    pbx: Asterisk, baresip: str, ari: tuple[AriClient, EventLog]
) -> None:
    """The console as an agent uses it (the engine faked, the phone and Asterisk real):
    the state bar follows the registration and the ringing call, F2 answers it, F3 hangs
    up a call the engine does not know about, and closing the console stops baresip."""
    client, events = ari
    phone = Softphone(_settings(pbx), binary=baresip)
    link = FakeLink(FakeEngine("1001"))
    app = AgentConsole("1001", lambda pin: link, load_resources(REPO / "queues"), phone=phone)
    channel = f"agent-{secrets.token_hex(4)}"
    async with app.run_test(size=(130, 42)) as pilot:

        def bar() -> str:
            return rendered(app.main.query_one(StateBar), width=160)

        async def shows(words: str) -> None:
            async with asyncio.timeout(5):
                while words not in bar():
                    await pilot.pause(0.05)

        await shows("phone ready")
        await _wait_endpoint(client, "online")
        await pilot.press(*PIN, "enter")  # logged in (F2 is the desk's, not the PIN dialog's)
        await pilot.pause()
        await client.channels.originate("PJSIP/1001", app=APP, channel_id=channel,
                                        caller_id='"Li Na" <13800138000>')  # fmt: skip
        await shows("ringing: Li Na")
        await pilot.press("f2")
        await events.wait_for(events.of("StasisStart", channel))
        assert (await client.channels.get(channel)).state == "Up"
        await shows("phone on call")
        await pilot.press("f3")
        await events.wait_for(events.of("StasisEnd", channel))
        await shows("phone ready")
    assert not phone.running
    await _wait_endpoint(client, "offline")  # quit unregistered it


def test_no_baresip_outlives_the_tests(baresip: str) -> None:
    """Every phone above was stopped: none of our children is left."""
    mine = [
        path.parent.name for path in Path("/proc").glob("[0-9]*/cmdline") if _is_our_baresip(path)
    ]
    assert mine == []


def _is_our_baresip(cmdline: Path) -> bool:
    try:
        argv = cmdline.read_bytes().split(b"\0")
        status = (cmdline.parent / "status").read_text()
    except OSError:
        return False
    parent = re.search(r"PPid:\s+(\d+)", status)
    return (
        bool(argv and argv[0].endswith(b"baresip"))
        and any(b"callcenter-phone-" in arg for arg in argv)
        and parent is not None
        and int(parent.group(1)) == os.getpid()
    )
