"""A private Asterisk for tests: its own directories, ports and passwords, started and stopped
by the test session, never touching an Asterisk that is already installed or running.

``asterisk -C <tmp>/asterisk.conf`` reads a generated ``asterisk.conf`` whose
``[directories]`` put configuration, control socket, spool, logs and astdb in a temporary
directory; only the modules and the sounds (read-only) come from the installation. The
configuration is the repository's ``asterisk-conf/`` copied there with a test overlay:
HTTP (ARI) and the PJSIP transport on loopback ports that were free, a generated ARI
password, modules that open network ports unloaded, and the dialplan's ``FASTAGI`` global
pointing at the test's FastAGI server. ``core waitfullybooted`` says when it is ready;
``core stop now`` ends it.

Where to find Asterisk: ``$CALLCENTER_ASTERISK`` (the binary), else ``asterisk`` on
``PATH``, else ``/opt/asterisk-22/sbin/asterisk``. Its module and sound directories are read
from the installation's own ``asterisk.conf`` (read only).
"""

from __future__ import annotations

import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONF = REPO / "asterisk-conf"
DEFAULT_BINARY = Path("/opt/asterisk-22/sbin/asterisk")
BOOT_TIMEOUT = 40.0


class RigUnavailable(Exception):  # noqa: N818 - a reason to skip, not a bug
    """No Asterisk here, or it would not start: the tests skip with this message."""


def find_binary() -> Path | None:
    configured = os.environ.get("CALLCENTER_ASTERISK")
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    found = shutil.which("asterisk")
    if found:
        return Path(found)
    return DEFAULT_BINARY if DEFAULT_BINARY.is_file() else None


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port nothing listens on right now (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _installed_directories(binary: Path) -> dict[str, str]:
    """astmoddir and astdatadir of the installation, from its asterisk.conf if there is one."""
    prefix = binary.resolve().parents[1]
    found = {
        "astmoddir": str(prefix / "lib" / "asterisk" / "modules"),
        "astdatadir": str(prefix / "var" / "lib" / "asterisk"),
    }
    if prefix == Path("/usr"):
        found = {"astmoddir": "/usr/lib/asterisk/modules", "astdatadir": "/usr/share/asterisk"}
    confs = (prefix / "etc" / "asterisk" / "asterisk.conf", Path("/etc/asterisk/asterisk.conf"))
    for conf in confs:
        if conf.is_file():
            for line in conf.read_text(errors="replace").splitlines():
                match = re.match(r"\s*(astmoddir|astdatadir)\s*=>?\s*(\S+)", line)
                if match:
                    found[match.group(1)] = match.group(2)
            break
    return found


@dataclass(slots=True)
class Overlay:
    """What the test instance changes in its copy of ``asterisk-conf/``."""

    fastagi: str = "agi://127.0.0.1:4573"
    extra_dialplan: str = ""
    placeholder_sounds: tuple[str, ...] = ()
    """Sounds the operator records (``cc/...``): a short silence each, in English, so the
    scripts' prompts play (a missing one answers ``result=-1``, like a hang-up)."""
    extra_modules_noload: tuple[str, ...] = (
        # Listeners a test must not open on a shared machine (the shipped modules.conf
        # already leaves these two out; kept here in case it changes), then modules that
        # only slow the start and fill the log.
        "chan_iax2.so",  # UDP 4569 on every address
        "pbx_dundi.so",  # UDP 4520
        "res_pktccops.so",
        "app_voicemail.so",
        "res_stasis_mailbox.so",
        "res_calendar.so",
        "res_calendar_caldav.so",
        "res_calendar_ews.so",
        "res_calendar_exchange.so",
        "res_calendar_icalendar.so",
        "res_stun_monitor.so",
        "res_prometheus.so",  # a second HTTP route we do not need
        "res_statsd.so",
    )


@dataclass(slots=True)
class Asterisk:
    """One private Asterisk instance (see the module docstring)."""

    binary: Path
    root: Path
    overlay: Overlay = field(default_factory=Overlay)
    http_port: int = 0
    sip_port: int = 0
    ari_user: str = "callcenter"
    ari_password: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def conf(self) -> Path:
        return self.root / "asterisk.conf"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_file(self) -> Path:
        return self.root / "log" / "full"

    # -- configuration ---------------------------------------------------------------

    def prepare(self) -> None:
        self.http_port = free_port()
        self.sip_port = free_port(socket.SOCK_DGRAM)
        self.ari_password = secrets.token_hex(24)
        for sub in ("etc", "run", "spool", "log", "lib", "db", "keys", "agi-bin", "cache"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        installed = _installed_directories(self.binary)
        directories = {
            "astetcdir": self.etc,
            "astmoddir": installed["astmoddir"],
            "astvarlibdir": self.root / "lib",
            "astdbdir": self.root / "db",
            "astkeydir": self.root,  # res_crypto reads <astkeydir>/keys
            "astdatadir": self._data_dir(Path(installed["astdatadir"])),
            "astagidir": self.root / "agi-bin",
            "astspooldir": self.root / "spool",
            "astrundir": self.root / "run",
            "astlogdir": self.root / "log",
            "astsbindir": self.binary.parent,
            "astcachedir": self.root / "cache",
        }
        self.conf.write_text(
            "[directories]\n"
            + "".join(f"{key} => {value}\n" for key, value in directories.items())
            + "[options]\nverbose = 3\nmaxfiles = 4096\ndocumentation_language = en_US\n"
            + "cache_media_frames = yes\nhideconnect = yes\n"
        )
        for path in SHIPPED_CONF.glob("*.conf"):
            shutil.copy(path, self.etc / path.name)
        self._edit("http.conf", r"(?m)^bindport\s*=.*$", f"bindport = {self.http_port}")
        self._edit("http.conf", r"(?m)^bindaddr\s*=.*$", "bindaddr = 127.0.0.1")
        self._edit("pjsip.conf", r"(?m)^bind\s*=.*$", f"bind = 127.0.0.1:{self.sip_port}")
        self._edit("extensions.conf", r"(?m)^FASTAGI\s*=.*$", f"FASTAGI = {self.overlay.fastagi}")
        with (self.etc / "extensions.conf").open("a") as out:
            out.write("\n; --- test overlay (tests/asterisk/rig.py) ---\n")
            out.write(self.overlay.extra_dialplan)
        with (self.etc / "modules.conf").open("a") as out:
            out.write("\n; --- test overlay ---\n")
            out.writelines(f"noload = {name}\n" for name in self.overlay.extra_modules_noload)
        secret = self.etc / "ari_password.conf"
        secret.touch(mode=0o600)  # readable by us alone from the start
        secret.write_text(f"password = {self.ari_password}\n")
        (self.etc / "logger.conf").write_text(
            "[general]\n[logfiles]\nfull => notice,warning,error,verbose,dtmf\n"
        )
        # Stops "cannot load" noise from modules whose config the project does not ship.
        for name in ("rtp.conf", "cdr.conf", "cel.conf", "indications.conf", "features.conf"):
            if not (self.etc / name).exists():
                (self.etc / name).write_text(self._stub(name))

    def _data_dir(self, installed: Path) -> Path:
        """The installation's data directory seen through symlinks (sounds, music and the
        rest stay read only), plus ``sounds/en/<placeholder>.wav`` files."""
        data = self.root / "data"
        data.mkdir(exist_ok=True)
        if installed.is_dir():
            for entry in installed.iterdir():
                if entry.name not in ("sounds", "astdb.sqlite3"):
                    (data / entry.name).symlink_to(entry)
        english = data / "sounds" / "en"
        english.mkdir(parents=True)
        installed_english = installed / "sounds" / "en"
        if installed_english.is_dir():
            for entry in installed_english.iterdir():
                (english / entry.name).symlink_to(entry)
        for other in (installed / "sounds").glob("*") if (installed / "sounds").is_dir() else ():
            if other.name != "en" and not (data / "sounds" / other.name).exists():
                (data / "sounds" / other.name).symlink_to(other)
        for name in self.overlay.placeholder_sounds:
            path = english / f"{name}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_silence(path)
        return data

    @staticmethod
    def _stub(name: str) -> str:
        if name == "rtp.conf":
            return "[general]\nrtpstart = 20000\nrtpend = 20999\n"
        if name == "cdr.conf":
            return "[general]\nenable = no\n"
        if name == "cel.conf":
            return "[general]\nenable = no\n"
        return "[general]\n"

    def _edit(self, name: str, pattern: str, replacement: str) -> None:
        path = self.etc / name
        text, count = re.subn(pattern, replacement, path.read_text())
        if count == 0:  # the shipped file changed shape: say so rather than run on port 5060
            raise RuntimeError(f"test overlay: {pattern!r} not found in {name}")
        path.write_text(text)

    # -- running ---------------------------------------------------------------------

    def start(self, timeout: float = BOOT_TIMEOUT) -> None:
        """Start in the foreground (our child process) and wait until fully booted."""
        console = (self.root / "log" / "console").open("wb")
        self.process = subprocess.Popen(
            [str(self.binary), "-C", str(self.conf), "-f", "-n"],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C in the test run goes to pytest, not to it
            preexec_fn=_die_with_parent,
        )
        console.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RigUnavailable(f"Asterisk exited at start ({self.process.returncode})")
            if (self.root / "run" / "asterisk.ctl").exists():
                left = max(1.0, deadline - time.monotonic())
                result = self.run_cli("core waitfullybooted", timeout=left, check=False)
                if result.returncode == 0 and "fully booted" in result.stdout.lower():
                    return
            if time.monotonic() > deadline:
                raise RigUnavailable(f"Asterisk did not boot within {timeout:g} s")
            time.sleep(0.1)

    def run_cli(self, command: str, *, timeout: float = 10.0, check: bool = True) -> Cli:
        """One CLI command through the instance's own control socket (``-rx``)."""
        done = subprocess.run(
            [str(self.binary), "-C", str(self.conf), "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Cli(command, done.returncode, done.stdout + done.stderr)
        if check and result.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r} failed: {result.stdout}")
        return result

    def stop(self, timeout: float = 15.0) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            self.run_cli("core stop now", timeout=timeout, check=False)
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)  # only our own child
            process.wait(5)

    def log_tail(self, lines: int = 80) -> str:
        """The end of the instance's log (and console), for failure messages."""
        parts = []
        for path in (self.log_file, self.root / "log" / "console"):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def problems_logged(self) -> list[str]:
        """The WARNING and ERROR lines of the log."""
        if not self.log_file.exists():
            return []
        return [
            line
            for line in self.log_file.read_text(errors="replace").splitlines()
            if "ERROR[" in line or "WARNING[" in line
        ]


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test run dies without stopping it
    (Linux's PR_SET_PDEATHSIG), so a killed test run leaves no Asterisk behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the fixture's stop() is all there is
        pass


def _write_silence(path: Path, seconds: float = 0.1) -> None:
    """A WAV Asterisk plays (8 kHz, 16-bit mono): silence."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))


@dataclass(frozen=True, slots=True)
class Cli:
    command: str
    returncode: int
    stdout: str


def start_private(root: Path, overlay: Overlay) -> Asterisk:
    """A started instance under ``root``, or :class:`RigUnavailable` with the reason (and the
    end of its log)."""
    binary = find_binary()
    if binary is None:
        raise RigUnavailable(
            "no Asterisk binary (set CALLCENTER_ASTERISK, put asterisk on PATH, "
            f"or install it as {DEFAULT_BINARY})"
        )
    last: Exception | None = None
    for attempt in range(2):  # a port taken between probing and binding: try other ports once
        instance = Asterisk(binary, root / f"try{attempt}", overlay)
        instance.prepare()
        try:
            instance.start()
            return instance
        except (RigUnavailable, subprocess.TimeoutExpired) as exc:
            last = exc
            tail = instance.log_tail()
            instance.stop()
            last = RigUnavailable(f"{exc}\n{tail}")
    assert last is not None
    raise last
