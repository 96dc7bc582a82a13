"""A throwaway PostgreSQL server for the store tests, started and stopped by the tests.

Finds the server binaries (``/usr/lib/postgresql/<version>/bin``, else
``initdb``/``pg_ctl`` on the PATH); when there are none and we are root,
installs Debian's ``postgresql`` package (running ``apt-get update`` first
only if the plain install fails). ``initdb`` refuses to run as root, so as root
the cluster belongs to the ``postgres`` system user (created if missing) and
lives in a fresh directory under the system temp dir that this user owns
(pytest's own temp dirs are private to root). The server listens on a free
loopback port with its unix socket in that directory, runs without fsync (a
test cluster is thrown away), and is stopped and deleted at the end.

Set ``CALLCENTER_TEST_POSTGRES_URL`` (``postgresql://user@host:port/db``) to
use an existing server instead; its ``public`` schema is wiped between tests.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "CALLCENTER_TEST_POSTGRES_URL"
DATABASE = "callcenter_test"
SERVER_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    pass


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    run_as: str | None

    @property
    def dsn(self) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        _run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            self.run_as,
            cwd=self.root,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _version(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/bin/", path)
    return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)


def find_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _install_postgres() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]
    if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode == 0:
        return
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=900)
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise PostgresUnavailableError(f"apt-get install postgresql failed: {done.stderr[-500:]}")


def _ensure_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
            capture_output=True,
        )


def _run(
    command: list[str], run_as: str | None, *, cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if run_as is not None:
        command = ["runuser", "-u", run_as, "--", *command]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise PostgresUnavailableError(
            f"{' '.join(command)} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}"
        )
    return done


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> PostgresServer:
    """Start a fresh server with an empty ``callcenter_test`` database, or raise
    :class:`PostgresUnavailableError` saying why it cannot be had."""
    as_root = os.geteuid() == 0
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if not as_root:
            raise PostgresUnavailableError("no PostgreSQL binaries, and not root to install them")
        _install_postgres()
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailableError("postgresql installed but no initdb found")
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="callcenter-pg-"))
    if as_root:
        _ensure_user(SERVER_USER)
        run_as = SERVER_USER
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                SERVER_USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as,
            cwd=root,
        )
        for _attempt in range(3):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            started = _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(root / "data"),
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ],
                run_as,
                cwd=root,
                check=False,
            )
            if started.returncode == 0:
                break
        else:
            log = (root / "server.log").read_text(errors="replace")[-800:]
            raise PostgresUnavailableError(f"pg_ctl start failed: {log}")
        server = PostgresServer(bin_dir=bin_dir, root=root, port=port, run_as=run_as)
        _run(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                SERVER_USER,
                DATABASE,
            ],
            run_as,
            cwd=root,
        )
    except BaseException:
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"],
            run_as,
            cwd=root,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
