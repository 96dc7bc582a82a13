"""The agent's softphone: baresip as a headless child of the console (``--phone baresip``).

So a terminal and a headset are all an agent needs, the console starts Debian's
``baresip-core`` (installed with apt-get on first use when run as root) with a private
configuration generated in a fresh temporary directory (mode 0700): one account for the
agent's PJSIP endpoint, the chosen audio device (``alsa,default``; ``null`` for none,
``aufile,FILE.wav`` as the source for tests), and the fewest modules that do the job:
G.711/G.722, the audio module, ``account``, ``menu`` (the commands) and ``ctrl_tcp`` (the
control channel: netstrings of JSON on a loopback port; no GUI, no stdio). The SIP password is
only ever written to the ``accounts`` file, created with mode 0600 and deleted as soon as
baresip has read it; it is never on a command line and is masked in anything logged.

Control, as baresip 1.0.0 speaks it (recorded against Asterisk 22 in
``tests/console/baresip_ctrl_tcp.txt``): a command ``{"command": "accept", "params": ...,
"token": T}`` gets ``{"response": true, "ok": ..., "data": ..., "token": T}``; events
come as ``{"event": true, "type": "CALL_INCOMING", "class": "call", "id": ..., "peeruri":
..., "peerdisplayname": ..., "param": ...}``. Quirks relied on:

* registration usually completes before the control port accepts a connection, so no
  ``REGISTER_OK`` is seen for it: the state is read once with ``reginfo`` (``OK`` /
  ``zzz`` / ``ERR`` in a line with ANSI colours) and followed by events after that;
* hold, resume and DTMF answer with no event; ``mute`` is a toggle whose reply says
  ``call muted`` or ``call un-muted``;
* with ``answermode=auto`` no ``CALL_INCOMING`` comes, only ``CALL_ESTABLISHED``;
* refusing a ringing call is ``hangup`` (486 to Asterisk); ``CALL_CLOSED`` says who ended a
  call: ``Connection reset by user`` (the phone) or ``... by peer`` (Asterisk);
* the phone's RTP, and the RFC 4733 DTMF in it, flows only as the audio source delivers
  frames: with ``null`` (aubridge) the phone sends no audio and no DTMF of its own;
* baresip keeps running when ``ctrl_tcp`` cannot listen, so the first reply must name our
  account (else another program's port answered);
* it registers the contact as ``sip:<user>-0x<address>@host:port`` (``pjsip show contacts``);
* ``ctrl_tcp`` has no authentication: it listens on a loopback port chosen at start, so on
  a workstation shared by several users another local user could drive the phone while
  it runs (baresip 1.0.0 offers no authenticated control channel).

The phone stops with the console: ``quit`` (which unregisters and hangs up), then SIGTERM,
then SIGKILL; and the child gets SIGTERM from the kernel should the console die without
stopping it (``PR_SET_PDEATHSIG``), so no baresip is left behind. Since stopping the phone
ends its call, the agent console asks before quitting during one and can stay up until the
call ends (``console/agent_app.py`` ``action_quit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import ipaddress
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcenter.bus.topics import valid_id

log = logging.getLogger(__name__)

PASSWORD_VARIABLE = "CALLCENTER_SIP_PASSWORD"  # noqa: S105 - the variable's name
PACKAGE = "baresip-core"
MODULE_DIRS = (
    Path("/usr/lib/baresip/modules"),
    Path("/usr/lib/x86_64-linux-gnu/baresip/modules"),
    Path("/usr/lib/aarch64-linux-gnu/baresip/modules"),
    Path("/usr/local/lib/baresip/modules"),
)
AUDIO_MODULES = ("alsa", "portaudio", "jack", "oss", "sndio", "aubridge", "aufile")
MAX_MESSAGE = 65536  # bytes in one control message: reginfo and listcalls are far smaller
START_TIMEOUT = 5.0
COMMAND_TIMEOUT = 3.0

# baresip reads an account parameter up to whitespace or ';' (libre's msg_param_decode),
# and Asterisk's pjsip.conf reads ';' as a comment: a password outside this set could not
# reach both ends intact, so it is refused with the reason instead of being mangled.
_PASSWORD = re.compile(r"[A-Za-z0-9!#$%&'()*+,\-./:=?@\[\]^_`{|}~]{1,128}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_DEVICE = re.compile(r"[A-Za-z0-9_:.,=/@-]{1,200}")
_DTMF = re.compile(r"[0-9*#A-Da-d]{1,32}")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_REG_REFUSED = re.compile(r"reg: \S+: ([1-6]\d\d [^(]*?)\s*(?:\(.*)?$")


class PhoneError(Exception):
    """The softphone cannot do what was asked; str(exc) says why, for the console."""


class ProtocolError(PhoneError):
    """The control channel carried something that is not a netstring of JSON."""


# -- settings and the generated configuration ----------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneSettings:
    """What the console knows about the agent's phone. ``server`` is ``host`` or
    ``host:port`` (``[v6]:port``) of the PBX; ``audio`` is ``MODULE,DEVICE`` as baresip
    names it (``alsa,default``) or ``null``."""

    user: str
    server: str
    password: str = field(repr=False)
    auto_answer: bool = False
    audio: str = "alsa,default"
    regint: int = 60

    def check(self) -> None:
        """PhoneError naming the first setting baresip could not be given safely."""
        if not valid_id(self.user):
            raise PhoneError(f"SIP user {self.user!r} is not a valid id")
        _split_server(self.server)
        if not _PASSWORD.fullmatch(self.password):
            raise PhoneError(
                "the SIP password must be 1-128 printable ASCII characters without spaces, "
                "quotes, ';', '<', '>' or '\\' (baresip and pjsip.conf cannot carry them)"
            )
        _audio_devices(self.audio)
        if not 30 <= self.regint <= 3600:
            raise PhoneError("the registration interval must be 30 to 3600 seconds")

    @property
    def on_loopback(self) -> bool:
        host, _ = _split_server(self.server)
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host == "localhost"


def _split_server(server: str) -> tuple[str, int | None]:
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\[\]]+)(?::(\d{1,5}))?", server)
    if match is None:
        raise PhoneError(f"SIP server {server!r}: expected HOST, HOST:PORT or [IPv6]:PORT")
    host = match.group(1) or match.group(3) or ""
    port_text = match.group(2) or match.group(4)
    if match.group(1):
        try:
            ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise PhoneError(f"SIP server {server!r}: {exc}") from None
    elif not _HOST.fullmatch(host):
        raise PhoneError(f"SIP server {server!r}: not a host name or address")
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        raise PhoneError(f"SIP server {server!r}: port out of range")
    return host, port


def _audio_devices(audio: str) -> tuple[str, str, str]:
    """(player, source, alert) lines' values for baresip's config.

    ``null``: aubridge devices, which exist only inside the process: nothing is played and
    nothing is sent. baresip sends RTP, and so RFC 4733 DTMF, only as its audio source
    delivers frames, so with ``null`` the phone's own DTMF does not reach Asterisk (the
    console's DTMF goes through the engine anyway). ``aufile,FILE.wav``: the source reads the
    WAV (tests: a caller's voice); baresip ends the call when the file ends."""
    if audio == "null":
        return "aubridge,callcenter-out", "aubridge,callcenter-in", "aubridge,callcenter-ring"
    module, _, device = audio.partition(",")
    if module not in AUDIO_MODULES or not device or not _DEVICE.fullmatch(device):
        raise PhoneError(
            f"audio device {audio!r}: expected null or MODULE,DEVICE with MODULE one of "
            f"{', '.join(AUDIO_MODULES)} (e.g. alsa,default)"
        )
    if module == "aufile":  # a source only: nothing to play on
        return "aubridge,callcenter-out", audio, "aubridge,callcenter-ring"
    return audio, audio, audio


def account_line(settings: PhoneSettings) -> str:
    """The ``accounts`` line: ``<sip:USER@SERVER>;auth_pass=...;regint=...;answermode=...``.
    Secret: never log it."""
    settings.check()
    mode = "auto" if settings.auto_answer else "manual"
    return (
        f"<sip:{settings.user}@{settings.server}>;auth_pass={settings.password}"
        f";regint={settings.regint};answermode={mode};mwi=no;call_transfer=yes\n"
    )


def config_text(settings: PhoneSettings, control_port: int, module_dir: Path) -> str:
    """baresip's ``config``: no secret in it."""
    settings.check()
    player, source, alert = _audio_devices(settings.audio)
    modules = ["g711.so"]
    if (module_dir / "g722.so").exists():  # the agent endpoints allow ulaw, alaw and g722
        modules.append("g722.so")
    for device in (player, source, alert):
        module = device.partition(",")[0] + ".so"
        if module not in modules:
            modules.append(module)
    lines = [
        "# Generated by the callcenter console (console/phone.py); deleted when it stops.",
        "poll_method epoll",
        # A PBX on loopback (a test, a one-machine demo) is reached from loopback; else
        # baresip picks the address facing the network itself.
        *(["sip_listen 127.0.0.1:0"] if settings.on_loopback else []),
        "call_max_calls 1",  # one call at a time: the engine rings an agent once
        f"audio_player {player}",
        f"audio_source {source}",
        f"audio_alert {alert}",
        f"module_path {module_dir}",
        *(f"module {name}" for name in modules),
        "module_app account.so",
        "module_app menu.so",
        "module_app ctrl_tcp.so",
        f"ctrl_tcp_listen 127.0.0.1:{control_port}",
    ]
    return "\n".join(lines) + "\n"


def write_config(
    settings: PhoneSettings, directory: Path, control_port: int, module_dir: Path
) -> None:
    """``config`` and ``accounts`` in ``directory``; ``accounts`` (with the password) is
    created with mode 0600 before anything is written to it."""
    settings.check()
    (directory / "config").write_text(config_text(settings, control_port, module_dir))
    accounts = directory / "accounts"
    fd = os.open(accounts, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(account_line(settings))
    # Contacts: baresip creates a sample file when there is none; an empty one stops that.
    (directory / "contacts").write_text("")


def find_module_dir() -> Path:
    for candidate in MODULE_DIRS:
        if (candidate / "ctrl_tcp.so").exists():
            return candidate
    raise PhoneError(
        f"baresip's modules (ctrl_tcp.so) not found in {', '.join(map(str, MODULE_DIRS))}"
    )


def find_baresip() -> str | None:
    return shutil.which("baresip") or (
        "/usr/bin/baresip" if Path("/usr/bin/baresip").exists() else None
    )


def ensure_baresip(*, install: bool = True) -> str:
    """The baresip binary; installs Debian's ``baresip-core`` with apt-get when missing and
    we are root (running ``apt-get update`` only if the plain install fails)."""
    found = find_baresip()
    if found:
        return found
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PhoneError(f"baresip is not installed: run `apt-get install {PACKAGE}` as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", PACKAGE]
    log.warning("baresip is missing: installing %s with apt-get", PACKAGE)
    done = _apt(command, env)
    if done.returncode != 0:
        _apt(["apt-get", "update", "-q"], env)
        done = _apt(command, env)
    found = find_baresip()
    if not found:
        raise PhoneError(f"apt-get install {PACKAGE} failed: {done.stderr.strip()[-300:]}")
    return found


def _apt(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments, apt-get from PATH as root
        command, env=env, capture_output=True, text=True, timeout=900, check=False
    )


# -- the control protocol ---------------------------------------------------------------------


def encode(message: dict[str, Any]) -> bytes:
    """One netstring: ``<length>:<json>,``."""
    body = json.dumps(message, ensure_ascii=True).encode()
    return str(len(body)).encode() + b":" + body + b","


class NetstringReader:
    """Splits the control stream into messages. A framing error cannot be resynchronised
    (ProtocolError: the caller drops the connection); a frame that is not a JSON object
    is logged and dropped, and the messages around it still count."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while True:
            colon = self._buffer.find(b":")
            if colon < 0:
                if len(self._buffer) > 10 or (self._buffer and not self._buffer.isdigit()):
                    raise ProtocolError(f"bad netstring length {bytes(self._buffer[:20])!r}")
                return messages
            head = bytes(self._buffer[:colon])
            if not head.isdigit() or len(head) > 10:
                raise ProtocolError(f"bad netstring length {head[:20]!r}")
            size = int(head)
            if size > MAX_MESSAGE:
                raise ProtocolError(f"control message of {size} bytes refused")
            end = colon + 1 + size
            if len(self._buffer) < end + 1:
                return messages
            if self._buffer[end : end + 1] != b",":
                raise ProtocolError("netstring without its closing ','")
            body = bytes(self._buffer[colon + 1 : end])
            del self._buffer[: end + 1]
            try:
                message = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                message = None
            if isinstance(message, dict):
                messages.append(message)
            else:
                log.warning("phone: dropped a control message that is not a JSON object")


class Registration(enum.StrEnum):
    OFF = "off"  # not started (or stopped)
    STARTING = "starting"
    REGISTERED = "registered"
    FAILED = "failed"
    UNREGISTERED = "unregistered"


class CallPhase(enum.StrEnum):
    IDLE = "idle"
    RINGING = "ringing"  # incoming, not answered (manual answer mode)
    UP = "up"


def registration_from_reginfo(data: str) -> Registration:
    """The ``reginfo`` reply's verdict for the (only) user agent: ``OK`` registered,
    ``ERR`` failed, ``zzz`` not (yet) registered."""
    text = _ANSI.sub("", data)
    for line in text.splitlines():
        if line.startswith(">") or "sip:" in line:
            words = line.split()
            if "OK" in words:
                return Registration.REGISTERED
            if "ERR" in words:
                return Registration.FAILED
            return Registration.STARTING
    return Registration.STARTING


@dataclass(slots=True)
class PhoneStatus:
    """What the state bar shows about the phone, kept from baresip's events."""

    registration: Registration = Registration.OFF
    reason: str = ""  # why registration failed, or why the last call ended
    call: CallPhase = CallPhase.IDLE
    call_id: str = ""
    peer: str = ""  # the caller's name or number: caller-supplied, shown literally
    on_hold: bool = False
    muted: bool = False

    def apply(self, event: dict[str, Any]) -> bool:
        """Take one ``ctrl_tcp`` event; True if what is shown changed."""
        kind = event.get("type")
        param = str(event.get("param") or "")
        before = (self.registration, self.reason, self.call, self.call_id, self.peer)
        if kind == "REGISTER_OK":
            self.registration, self.reason = Registration.REGISTERED, ""
        elif kind == "REGISTER_FAIL":
            self.registration, self.reason = Registration.FAILED, param
        elif kind == "UNREGISTERING":
            self.registration = Registration.UNREGISTERED
        elif kind in ("SHUTDOWN", "EXIT"):
            self.registration = Registration.OFF
            self._idle("")
        elif kind in ("CALL_INCOMING", "CALL_ESTABLISHED"):
            call_id = str(event.get("id") or "")
            if self.call is not CallPhase.IDLE and call_id != self.call_id:
                return False  # another call while one is in hand: baresip refuses it
            self.call_id = call_id
            self.call = CallPhase.RINGING if kind == "CALL_INCOMING" else CallPhase.UP
            name = str(event.get("peerdisplayname") or "")
            uri = str(event.get("peeruri") or "")
            self.peer = (
                name if name and name != "Anonymous" else uri.removeprefix("sip:").split("@")[0]
            )
            self.reason = ""
        elif kind == "CALL_CLOSED":
            if str(event.get("id") or "") != self.call_id:
                return False
            self._idle(param)
        else:
            return False
        return before != (self.registration, self.reason, self.call, self.call_id, self.peer)

    def _idle(self, reason: str) -> None:
        self.call, self.call_id, self.peer = CallPhase.IDLE, "", ""
        self.on_hold = self.muted = False
        self.reason = reason


# -- the running phone -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the console dies without stopping it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass


class Softphone:
    """baresip for one agent: start, drive, watch, stop. ``on_change`` is called (in the
    event loop) whenever :attr:`status` changes."""

    def __init__(
        self,
        settings: PhoneSettings,
        *,
        on_change: Callable[[PhoneStatus], None] | None = None,
        binary: str | None = None,
        install: bool = True,
        module_dir: Path | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        settings.check()
        self.settings = settings
        self.status = PhoneStatus()
        self.on_change = on_change
        self._binary = binary
        self._install = install
        self._module_dir = module_dir
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._directory: Path | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tokens = 0
        self.output: deque[str] = deque(maxlen=40)  # baresip's last lines, password masked

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def __aenter__(self) -> Softphone:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # -- start and stop --------------------------------------------------------------------

    async def start(self) -> None:
        """Start baresip and connect to its control port; PhoneError with baresip's last
        output when it will not come up."""
        if self._process is not None:
            raise PhoneError("the phone is already started")
        binary = self._binary
        if binary is None:
            binary = await asyncio.to_thread(ensure_baresip, install=self._install)
        module_dir = self._module_dir or find_module_dir()
        self._set(Registration.STARTING)
        self._directory = Path(tempfile.mkdtemp(prefix="callcenter-phone-"))  # mode 0700
        port = _free_port()
        write_config(self.settings, self._directory, port, module_dir)
        try:
            # util-linux's setpriv sets the parent-death signal and execs baresip (same
            # pid); without it, a preexec_fn does, which is less safe in a threaded app.
            setpriv = shutil.which("setpriv")
            launcher = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
            self._process = await asyncio.create_subprocess_exec(
                *launcher,
                binary,
                "-f",
                str(self._directory),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is the console's
                preexec_fn=None if setpriv else _die_with_parent,
            )
            if self._process.stdout is not None:
                self._tasks.append(asyncio.create_task(self._read_output(self._process.stdout)))
            reader = await self._connect(port)
            (self._directory / "accounts").unlink(missing_ok=True)  # read by now: off the disk
            self._tasks.append(asyncio.create_task(self._read_control(reader)))
            reply = await self.command("reginfo")
            if f"sip:{self.settings.user}@" not in reply:
                # baresip carries on when ctrl_tcp cannot listen (the port was taken between
                # our probe and its bind): then whatever answered is not our phone.
                raise PhoneError(f"the control port answered for another phone: {reply!r}")
        except BaseException:
            await self.stop()
            raise
        if self.status.registration is Registration.STARTING:
            self._set(registration_from_reginfo(reply))
        log.info("phone: baresip %s for %s@%s, %s", self.pid, self.settings.user,
                 self.settings.server, self.status.registration)  # fmt: skip

    async def _connect(self, port: int) -> asyncio.StreamReader:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        while True:
            if not self.running:
                with contextlib.suppress(TimeoutError):  # its last words explain why
                    await asyncio.wait_for(asyncio.gather(*self._tasks), 1.0)
                raise PhoneError(f"baresip exited at start: {self._last_output()}")
            try:
                reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
                return reader
            except OSError:
                if loop.time() > deadline:
                    raise PhoneError(
                        f"baresip's control port did not open: {self._last_output()}"
                    ) from None
                await asyncio.sleep(0.02)

    async def stop(self, grace: float = 2.0) -> None:
        """Quit baresip (it unregisters and hangs up), then SIGTERM, then SIGKILL; delete the
        configuration. Safe to call twice, or after a failed start."""
        process = self._process
        if process is not None and process.returncode is None:
            if self._writer is not None:
                with contextlib.suppress(PhoneError, OSError, TimeoutError):
                    await self.command("quit", wait=grace / 2)
            for send in (process.terminate, process.kill):
                try:
                    await asyncio.wait_for(process.wait(), grace)
                    break
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        send()
            else:
                await process.wait()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._fail_pending(PhoneError("the phone stopped"))
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._process = None
        self.status = PhoneStatus()
        self._changed()

    def kill(self) -> None:
        """Outside any event loop (the console's has ended without :meth:`stop`): SIGTERM to
        baresip and the configuration deleted. Does nothing after a :meth:`stop`."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._process = None

    # -- reading ---------------------------------------------------------------------------

    def _mask(self, text: str) -> str:
        return text.replace(self.settings.password, "********")

    def _last_output(self) -> str:
        return " | ".join(list(self.output)[-5:]) or "no output"

    async def _read_output(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = self._mask(_ANSI.sub("", line.decode(errors="replace")).rstrip())
            # The call timer redraws itself with '\r' on one line: keep what follows it.
            text = text.rsplit("\r", 1)[-1].strip()
            if not text:
                continue
            self.output.append(text)
            log.debug("baresip: %s", text)
            refused = _REG_REFUSED.match(text)
            if refused and self.status.registration is not Registration.REGISTERED:
                # A refusal before the control channel was up shows only here (and as ERR
                # in reginfo): "reg: sip:1001@host: 401 Unauthorized (Asterisk PBX 22.10.1)".
                self.status.registration = Registration.FAILED
                self.status.reason = refused.group(1)
                self._changed()

    async def _read_control(self, reader: asyncio.StreamReader) -> None:
        framing = NetstringReader()
        try:
            while data := await reader.read(4096):
                for message in framing.feed(data):
                    self._dispatch(message)
        except ProtocolError as exc:
            log.error("phone: control channel broken (%s): stopping its use", exc)
        finally:
            self._fail_pending(PhoneError("baresip's control channel closed"))
            if self.status.registration is not Registration.OFF:
                self.status = PhoneStatus(reason=self._last_output() if self.running else "")
                self._changed()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("response") is True:
            future = self._pending.pop(str(message.get("token")), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif message.get("event") is True and self.status.apply(message):
            log.info("phone: %s %s", message.get("type"), self.status.registration)
            self._changed()

    def _set(self, registration: Registration) -> None:
        self.status.registration = registration
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change(self.status)
            except Exception:
                log.exception("phone: status listener failed")

    def _fail_pending(self, error: PhoneError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    # -- commands --------------------------------------------------------------------------

    async def command(
        self, name: str, params: str | None = None, *, wait: float = COMMAND_TIMEOUT
    ) -> str:
        """Run one baresip command; its reply text, or PhoneError with baresip's reason."""
        if self._writer is None:
            raise PhoneError("the phone is not running")
        self._tokens += 1
        token = str(self._tokens)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[token] = future
        message: dict[str, Any] = {"command": name, "token": token}
        if params is not None:
            message["params"] = params
        try:
            self._writer.write(encode(message))
            await self._writer.drain()
            async with asyncio.timeout(wait):
                reply = await future
        except (OSError, TimeoutError) as exc:
            raise PhoneError(f"baresip did not answer {name!r}: {exc or 'timeout'}") from None
        finally:
            self._pending.pop(token, None)
        data = str(reply.get("data") or "").strip()
        if reply.get("ok") is not True:
            raise PhoneError(f"{name}: {data or 'refused'}")
        return data

    def _need_call(self, *phases: CallPhase) -> None:
        if self.status.call not in phases:
            raise PhoneError(f"no call to act on (the phone is {self.status.call})")

    async def answer(self) -> None:
        self._need_call(CallPhase.RINGING)
        await self.command("accept")

    async def hangup(self) -> None:
        """Hang up the call in hand, or refuse a ringing one (486)."""
        self._need_call(CallPhase.RINGING, CallPhase.UP)
        await self.command("hangup")

    async def hold(self) -> None:
        self._need_call(CallPhase.UP)
        await self.command("hold")
        self.status.on_hold = True
        self._changed()

    async def resume(self) -> None:
        self._need_call(CallPhase.UP)
        await self.command("resume")
        self.status.on_hold = False
        self._changed()

    async def set_muted(self, muted: bool) -> None:
        self._need_call(CallPhase.UP)
        if self.status.muted == muted:
            return
        reply = await self.command("mute")  # a toggle: the reply says which way it went
        self.status.muted = "un-muted" not in reply and "muted" in reply
        self._changed()

    async def dtmf(self, digits: str) -> None:
        if not _DTMF.fullmatch(digits):
            raise PhoneError(f"not DTMF digits: {digits!r}")
        self._need_call(CallPhase.UP)
        await self.command("sndcode", digits.upper())
