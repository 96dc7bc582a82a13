"""The softphone (:mod:`console.phone`): baresip's configuration, its control protocol, and
the child process's life, against a fake baresip (``fake_baresip.py``) that answers like the
real one did in ``baresip_ctrl_tcp.txt``. The real baresip on a real Asterisk is tested in
``tests/asterisk/test_phone_baresip.py``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.phone import (
    CallPhase,
    NetstringReader,
    PhoneError,
    PhoneSettings,
    PhoneStatus,
    ProtocolError,
    Registration,
    Softphone,
    account_line,
    config_text,
    encode,
    registration_from_reginfo,
    write_config,
)

HERE = Path(__file__).resolve().parent
FAKE = HERE / "fake_baresip.py"
RECORDING = HERE / "baresip_ctrl_tcp.txt"
PASSWORD = "Zq7!k#p/x=9:@"  # every kind of character baresip and pjsip.conf both accept
MODULES = Path("/nonexistent/baresip/modules")


def settings(**changes: object) -> PhoneSettings:
    values: dict[str, object] = {
        "user": "1001",
        "server": "127.0.0.1:5060",
        "password": PASSWORD,
        "audio": "null",
    }
    values.update(changes)
    return PhoneSettings(**values)  # type: ignore[arg-type]


# -- configuration -----------------------------------------------------------------------------


def test_account_line_carries_user_server_password_and_answer_mode() -> None:
    assert account_line(settings()) == (
        f"<sip:1001@127.0.0.1:5060>;auth_pass={PASSWORD};regint=60;answermode=manual"
        ";mwi=no;call_transfer=yes\n"
    )
    auto = account_line(settings(auto_answer=True, server="[::1]:5070", regint=120))
    assert auto.startswith("<sip:1001@[::1]:5070>;")
    assert ";regint=120;answermode=auto;" in auto


def test_config_is_minimal_headless_and_secret_free() -> None:
    text = config_text(settings(), 4567, MODULES)
    lines = text.splitlines()
    assert "ctrl_tcp_listen 127.0.0.1:4567" in lines
    assert "sip_listen 127.0.0.1:0" in lines  # the PBX is on loopback
    modules = [line.split()[1] for line in lines if line.startswith(("module ", "module_app "))]
    assert modules == ["g711.so", "aubridge.so", "account.so", "menu.so", "ctrl_tcp.so"]
    assert "audio_player aubridge,callcenter-out" in lines
    assert PASSWORD not in text
    remote = config_text(settings(server="pbx.example.com", audio="alsa,plughw:1,0"), 1, MODULES)
    assert "sip_listen" not in remote
    assert "audio_source alsa,plughw:1,0" in remote.splitlines()
    assert "module alsa.so" in remote.splitlines()


@pytest.mark.parametrize(
    "password",
    ["", "two words", "semi;colon", 'quo"te', "a<b", "a>b", "back\\slash", "new\nline", "密码",
     "tab\tbed", "x" * 129],
)  # fmt: skip
def test_a_password_baresip_cannot_carry_is_refused_without_echoing_it(password: str) -> None:
    with pytest.raises(PhoneError) as caught:
        account_line(settings(password=password))
    assert "password" in str(caught.value)
    if password:
        assert password not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", "10 01"),
        ("user", "1001>;auth_pass=x"),
        ("server", "pbx.example.com;transport=tcp"),
        ("server", "pbx\nmodule httpd.so"),
        ("server", "host:99999"),
        ("server", "[not:v6]:5060"),
        ("audio", "alsa"),
        ("audio", "alsa,default\nmodule httpd.so"),
        ("audio", "httpd,0.0.0.0:8000"),
        ("regint", 5),
    ],
)
def test_settings_that_would_inject_configuration_are_refused(field: str, value: object) -> None:
    with pytest.raises(PhoneError):
        config_text(settings(**{field: value}), 1, MODULES)


def test_the_accounts_file_is_private_from_its_creation(tmp_path: Path) -> None:
    umask = os.umask(0o022)  # what a login shell usually has: files readable by all
    try:
        write_config(settings(), tmp_path, 4567, MODULES)
    finally:
        os.umask(umask)
    accounts = tmp_path / "accounts"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert PASSWORD in accounts.read_text()
    assert PASSWORD not in (tmp_path / "config").read_text()
    with pytest.raises(FileExistsError):  # never written through a planted file or link
        write_config(settings(), tmp_path, 4567, MODULES)


def test_settings_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(settings())


# -- the control protocol ----------------------------------------------------------------------


def test_netstrings_split_across_reads_and_several_per_read() -> None:
    stream = encode({"a": 1}) + encode({"b": "ü"}) + encode({"c": [1, 2]})
    reader = NetstringReader()
    got = []
    for i in range(0, len(stream), 5):
        got += reader.feed(stream[i : i + 5])
    assert got == [{"a": 1}, {"b": "ü"}, {"c": [1, 2]}]
    assert NetstringReader().feed(stream) == got


def test_a_frame_that_is_not_a_json_object_is_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = NetstringReader()
    with caplog.at_level(logging.WARNING):
        got = reader.feed(b"3:[1],5:nope!," + encode({"ok": True}) + b"2:\xff\xfe,")
    assert got == [{"ok": True}]
    assert len([r for r in caplog.records if "not a JSON object" in r.message]) == 3


@pytest.mark.parametrize(
    "stream", [b"12x:{}", b"abc", b"3:abc;", b"99999999999:", b"70000:" + b"{" * 10]
)
def test_broken_framing_is_a_protocol_error(stream: bytes) -> None:
    with pytest.raises(ProtocolError):
        NetstringReader().feed(stream)


def _recorded() -> list[dict[str, object]]:
    messages = []
    for line in RECORDING.read_text().splitlines():
        if not line.startswith("#") and " < " in line:
            messages.append(json.loads(line.split(" < ", 1)[1]))
    return messages


def test_the_recorded_session_drives_the_phone_status() -> None:
    status = PhoneStatus(registration=Registration.REGISTERED)
    seen = []
    for message in _recorded():
        if message.get("event") and status.apply(message):
            seen.append((status.registration.value, status.call.value, status.peer, status.reason))
    assert seen == [
        ("registered", "ringing", "Li Na", ""),
        ("registered", "up", "Li Na", ""),
        ("registered", "idle", "", "Connection reset by user"),
        ("registered", "ringing", "anonymous", ""),
        ("registered", "up", "anonymous", ""),
        ("registered", "idle", "", "Connection reset by peer"),  # Asterisk hung up
        ("registered", "ringing", "anonymous", ""),
        ("registered", "idle", "", "Connection reset by user"),  # refused while ringing
        ("off", "idle", "", ""),  # SHUTDOWN
        ("unregistered", "idle", "", ""),
        ("off", "idle", "", ""),  # EXIT
        ("failed", "idle", "", "401 Unauthorized"),
    ]


def test_reginfo_replies_say_whether_the_phone_is_registered() -> None:
    replies = [
        str(m["data"]) for m in _recorded() if m.get("response") and "User Agents" in str(m["data"])
    ]
    assert [registration_from_reginfo(r) for r in replies] == [
        Registration.REGISTERED,
        Registration.STARTING,  # zzz: the registration is not through (yet)
    ]
    assert registration_from_reginfo("\n> sip:1@h \x1b[31mERR\x1b[;m\n") is Registration.FAILED


def test_events_of_another_call_do_not_touch_the_call_in_hand() -> None:
    status = PhoneStatus()
    status.apply({"event": True, "type": "CALL_INCOMING", "id": "a", "peeruri": "sip:1@x"})
    assert not status.apply(
        {"event": True, "type": "CALL_INCOMING", "id": "b", "peeruri": "sip:2@x"}
    )
    assert not status.apply({"event": True, "type": "CALL_CLOSED", "id": "b"})
    assert (status.call, status.call_id) == (CallPhase.RINGING, "a")


# -- the child process, with the fake baresip --------------------------------------------------


@pytest.fixture
def fake_binary(tmp_path: Path) -> str:
    wrapper = tmp_path / "baresip"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def phone(binary: str, **changes: object) -> tuple[Softphone, list[tuple[str, str]]]:
    changes_seen: list[tuple[str, str]] = []

    def record(status: PhoneStatus) -> None:
        changes_seen.append((status.registration.value, status.call.value))

    return Softphone(
        settings(**changes), on_change=record, binary=binary, module_dir=MODULES
    ), changes_seen


async def test_the_phone_starts_registers_answers_and_stops(fake_binary: str) -> None:
    softphone, seen = phone(fake_binary)
    await softphone.start()
    pid = softphone.pid
    assert pid is not None
    assert softphone.status.registration is Registration.REGISTERED
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")  # noqa: ASYNC240
    assert all(PASSWORD.encode() not in arg for arg in argv)
    directory = Path(argv[argv.index(b"-f") + 1].decode())
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700  # noqa: ASYNC240
    assert not (directory / "accounts").exists()  # read by baresip, then off the disk

    await softphone.command("fake_ring", "Li Na|sip:13800138000@127.0.0.1")
    await _until(lambda: softphone.status.call is CallPhase.RINGING)
    assert softphone.status.peer == "Li Na"
    await softphone.answer()
    await _until(lambda: softphone.status.call is CallPhase.UP)
    await softphone.hold()
    assert softphone.status.on_hold
    await softphone.resume()
    assert not softphone.status.on_hold
    await softphone.set_muted(True)
    await softphone.set_muted(True)  # already: no second toggle
    assert softphone.status.muted
    await softphone.set_muted(False)
    assert not softphone.status.muted
    await softphone.dtmf("12#")
    with pytest.raises(PhoneError):
        await softphone.dtmf("1; quit")
    await softphone.hangup()
    await _until(lambda: softphone.status.call is CallPhase.IDLE)
    assert softphone.status.reason == "Connection reset by user"
    with pytest.raises(PhoneError, match="no call"):
        await softphone.hold()

    await softphone.stop()
    assert not _alive(pid)
    assert not directory.exists()  # noqa: ASYNC240
    assert ("registered", "ringing") in seen
    assert ("registered", "up") in seen
    assert seen[-1] == ("off", "idle")
    await softphone.stop()  # twice is fine


async def test_the_caller_hanging_up_leaves_the_phone_idle(fake_binary: str) -> None:
    softphone, _ = phone(fake_binary, auto_answer=True)
    async with softphone:
        await softphone.command("fake_ring", "Anonymous|sip:anonymous@anonymous.invalid")
        await _until(lambda: softphone.status.call is CallPhase.UP)  # auto answer: no ringing
        assert softphone.status.peer == "anonymous"
        await softphone.command("fake_peer_hangup")
        await _until(lambda: softphone.status.call is CallPhase.IDLE)
        assert softphone.status.reason == "Connection reset by peer"


async def test_a_refused_password_shows_as_failed_registration(fake_binary: str) -> None:
    softphone, _ = phone(fake_binary, password="wrong")
    async with softphone:
        await _until(lambda: softphone.status.registration is Registration.FAILED)
        assert softphone.status.reason == "401 Unauthorized"


async def test_the_password_never_reaches_the_logs(
    fake_binary: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BARESIP_LEAK", "1")  # baresip prints the account line
    softphone, _ = phone(fake_binary)
    with caplog.at_level(logging.DEBUG):
        async with softphone:
            await _until(lambda: any("account:" in line for line in softphone.output))
            await softphone.command("reginfo")
    assert any("auth_pass=********" in line for line in softphone.output)
    assert any("baresip:" in r.getMessage() for r in caplog.records)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert all(PASSWORD not in line for line in softphone.output)


async def test_a_broken_control_channel_ends_the_phone_cleanly(fake_binary: str) -> None:
    softphone, _ = phone(fake_binary)
    await softphone.start()
    pid = softphone.pid
    assert pid is not None
    with pytest.raises(PhoneError):
        await softphone.command("fake_garbage", wait=1.0)
    await _until(lambda: softphone.status.registration is Registration.OFF)
    await softphone.stop()
    assert not _alive(pid)


async def test_unknown_commands_are_refused_with_baresips_reason(fake_binary: str) -> None:
    softphone, _ = phone(fake_binary)
    async with softphone:
        with pytest.raises(PhoneError, match="command not found"):
            await softphone.command("transfer_everything")


async def test_a_baresip_that_will_not_start_is_reported(tmp_path: Path) -> None:
    broken = tmp_path / "baresip"
    broken.write_text("#!/bin/sh\necho 'module ctrl_tcp.so: Address already in use'\nexit 1\n")
    broken.chmod(0o755)
    softphone = Softphone(settings(), binary=str(broken), module_dir=MODULES)
    with pytest.raises(PhoneError, match="exited at start") as caught:
        await softphone.start()
    assert "Address already in use" in str(caught.value)
    assert not softphone.running


async def test_no_baresip_is_left_behind_when_the_console_dies(fake_binary: str) -> None:
    script = textwrap.dedent(f"""
        import asyncio, os, sys
        sys.path[:0] = [{str(HERE.parents[1])!r}]
        from pathlib import Path
        from console.phone import PhoneSettings, Softphone
        async def main():
            phone = Softphone(PhoneSettings("1001", "127.0.0.1", {PASSWORD!r}, audio="null"),
                              binary={fake_binary!r}, module_dir=Path("/nonexistent"))
            await phone.start()
            print(phone.pid, flush=True)
            os._exit(0)  # killed, not closed: no stop()
        asyncio.run(main())
    """)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script], capture_output=True, text=True,
        timeout=20, check=True,
    )  # fmt: skip
    pid = int(done.stdout.split()[0])
    await _until(lambda: not _alive(pid), within=5.0)


async def _until(condition: object, within: float = 3.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - a condition, not an event
            await asyncio.sleep(0.01)


async def test_a_control_port_answering_for_another_phone_is_not_used(fake_binary: str) -> None:
    # The fake always speaks for sip:1001@...: to a console of agent 1002 it is someone
    # else's baresip (what a port taken between our probe and baresip's bind would give).
    softphone, _ = phone(fake_binary, user="1002")
    with pytest.raises(PhoneError, match="another phone"):
        await softphone.start()
    assert not softphone.running


def test_baresip_is_installed_with_apt_get_only_when_missing_and_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import console.phone as phone_module

    installed: list[str] = []
    ran: list[list[str]] = []

    def apt(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        assert env["DEBIAN_FRONTEND"] == "noninteractive"
        ok = command[1] == "update" or len(ran) > 1  # the first install fails: stale lists
        if ok and command[1] == "install":
            installed.append("/usr/bin/baresip")
        return subprocess.CompletedProcess(command, 0 if ok else 100, "", "E: not found")

    monkeypatch.setattr(phone_module, "find_baresip", lambda: installed[0] if installed else None)
    monkeypatch.setattr(phone_module, "_apt", apt)
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(PhoneError, match="apt-get install baresip-core"):
        phone_module.ensure_baresip()  # not root: says how, installs nothing
    assert ran == []
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert phone_module.ensure_baresip() == "/usr/bin/baresip"
    assert [command[:2] for command in ran] == [
        ["apt-get", "install"],
        ["apt-get", "update"],
        ["apt-get", "install"],
    ]
    assert ran[0][-1] == "baresip-core"
    ran.clear()
    assert phone_module.ensure_baresip() == "/usr/bin/baresip"  # there now: no apt-get
    assert ran == []
