"""``callcenter config check`` and ``callcenter config hash-pin``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.config import verify_pin
from tests.config.conftest import WriteConfig

REPO = Path(__file__).resolve().parents[2]
BROKEN = {
    "queues.yaml": """\
        queues:
          sales:
            ring_timeout: -3
            strategy: fastest
        """,
    "agents.yaml": "agents:\n  1001: {name: A, endpoint: PJSIP/1001, pin: 1234}\n",
}


def test_check_passes_on_the_samples(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["config", "check", "queues/"]) == 0
    out, err = capsys.readouterr()
    assert out == "queues/: 9 queues, 24 agents, 6 IVR menus, 8 numbers, 3 knowledge articles: OK\n"
    assert err == ""


def test_check_prints_every_error_and_fails(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(BROKEN)
    assert main(["config", "check", "conf"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "conf/agents.yaml:2:46: agents.1001.pin: a clear-text PIN is not allowed: store only its "
        "hash; run `callcenter config hash-pin` and paste the scrypt$... line it prints",
        "conf/queues.yaml:3:19: queues.sales.ring_timeout: -3 is not allowed: must be a number "
        "of seconds greater than 0",
        'conf/queues.yaml:4:15: queues.sales.strategy: "fastest" is not allowed: must be one of: '
        "ringall, leastrecent, fewestcalls, least_talk_time, random, wrandom, rrmemory, "
        "rrordered, linear, top_down",
        "conf: 3 error(s)",
    ]


def test_check_uses_the_environment_variable_by_default(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config({})
    monkeypatch.setenv("CALLCENTER_CONFIG", "conf")
    assert main(["config", "check"]) == 0
    assert capsys.readouterr().out == "conf: 0 queues, 0 agents, 0 IVR menus, 0 numbers: OK\n"


def test_hash_pin_reads_the_pin_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("2468\n"))
    assert main(["config", "hash-pin"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("scrypt$")
    assert verify_pin(printed, "2468")


def test_hash_pin_refuses_a_pin_a_phone_cannot_key_in(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("secret\n"))
    assert main(["config", "hash-pin"]) == 1
    assert "4 to 12 digits" in capsys.readouterr().err


def test_installed_command_checks_the_samples_and_a_broken_directory(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    command = Path(sys.executable).parent / "callcenter"
    ok = subprocess.run([command, "config", "check", "queues/"], cwd=REPO,
                        capture_output=True, text=True, check=False)  # fmt: skip
    assert ok.returncode == 0
    assert ok.stdout == (
        "queues/: 9 queues, 24 agents, 6 IVR menus, 8 numbers, 3 knowledge articles: OK\n"
    )
    write_config(BROKEN)
    bad = subprocess.run([command, "config", "check", "conf"], cwd=tmp_path,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 4
